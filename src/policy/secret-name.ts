/**
 * GitHub's rules for Actions secret names: letters, digits and `_` only; not starting with a
 * digit; not starting with `GITHUB_`. GitHub stores names upper-case and compares them
 * case-insensitively, so two names that differ only by case are the same secret.
 */

/** Conservative upper bound; GitHub does not document one, and real names are far shorter. */
export const MAX_SECRET_NAME_LENGTH = 255;

/** Why `name` cannot be a GitHub secret name, or null when it can. */
export function secretNameProblem(name: string): string | null {
  if (name === "") return "secret names must not be empty";
  if (name.length > MAX_SECRET_NAME_LENGTH) {
    return `secret names must be at most ${MAX_SECRET_NAME_LENGTH} characters`;
  }
  if (!/^[A-Za-z0-9_]+$/.test(name)) return `secret names may contain only letters, digits and _${lookAlike(name)}`;
  if (/^[0-9]/.test(name)) return "secret names must not start with a digit";
  if (/^GITHUB_/i.test(name)) return "secret names must not start with GITHUB_ (reserved by GitHub)";
  return null;
}

/** The name as GitHub stores it: upper case. Use it as the key when comparing names. */
export function canonicalSecretName(name: string): string {
  return name.toUpperCase();
}

/** Names the first non-ASCII character: a Cyrillic "Р" in "РROD_DB_URL" looks like a letter that is allowed. */
function lookAlike(name: string): string {
  const found = /[^\u0000-\u007F]/u.exec(name);
  if (found === null) return "";
  const codePoint = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  return ` (ASCII only; "${found[0]}" is U+${codePoint})`;
}
