/**
 * Globs over a repository's full name `owner/name`, as the catalog's `repositories` list holds
 * them: `*` matches any run of characters other than `/`, `?` matches one character other than
 * `/`; every other character is literal. GitHub owner and repository names are
 * case-insensitive, so matching is too.
 */

const REGEX_SPECIAL = /[.+^${}()|[\]\\]/g;

export function matchesRepoGlob(glob: string, fullName: string): boolean {
  return globToRegExp(glob).test(fullName);
}

/** True when at least one glob matches `fullName`; an empty list allows nothing. */
export function repositoryAllowed(globs: readonly string[], fullName: string): boolean {
  return globs.some((glob) => matchesRepoGlob(glob, fullName));
}

/** True when `glob` has a `*` or `?`: it may match repositories that do not exist yet. */
export function hasWildcard(glob: string): boolean {
  return /[*?]/u.test(glob);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(REGEX_SPECIAL, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`, "iu");
}
