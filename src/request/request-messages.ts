/**
 * Every message a request file can earn, in one place, so that the code and the tests agree on
 * the words. Each says what is wrong and how to fix it. None ever includes a secret value: the
 * request file holds names, never values.
 */
import type { RequestKey } from "./request-schema.js";

export const MAX_FILE_BYTES = 65_536;
export const MIN_REASON_LENGTH = 10;
import { MAX_REASON_LENGTH } from "../policy/match-reason-pattern.js";

export { MAX_REASON_LENGTH };
/** One check-run update's worth of annotations; a file with more problems gets a count instead. */
export const MAX_REPORTED_PROBLEMS = 50;
/** Each source of problems stops after this many, one more than is shown, so the last line can say there are more. */
export const PROBLEMS_COLLECTED = MAX_REPORTED_PROBLEMS + 1;

const EXAMPLE: Record<RequestKey, string> = {
  secret: "PROD_DB_URL",
  environment: "production",
  duration: "2h",
  reason: '"INC-4211: inspect stuck migrations"',
  break_glass: "true",
};

const LISTED = 20;
const list = (names: readonly string[]): string =>
  names.length > LISTED ? `${names.slice(0, LISTED).map(shown).join(", ")} and ${names.length - LISTED} more` : names.map(shown).join(", ");

/**
 * For text that failed a check and may hold a look-alike: ` ("ѕ" is U+0455, not ASCII)` naming its
 * first non-ASCII character, or nothing. A Cyrillic "ѕecret" otherwise reads as "secret".
 */
export function nonAsciiNote(text: string): string {
  const found = /\P{ASCII}/u.exec(text);
  if (found === null) return "";
  const codePoint = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  return ` ("${found[0]}" is U+${codePoint}, not ASCII)`;
}

/** Text from the request file as messages show it: long text is cut, so a message stays a line. */
export function shown(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export const parseMessages = {
  fileTooLarge: (bytes: number) => `the file is ${bytes} bytes; the limit is ${MAX_FILE_BYTES}: remove entries that are no longer needed`,
  yamlSyntax: (detail: string) => `YAML syntax error: ${detail}`,
  yamlWarning: (detail: string) => `YAML problem: ${detail}`,
  multipleDocuments: () =>
    "a requests file is a single YAML document, and a second one starts here: remove it, or move its entries under the first requests:",
  tooDeep: (max: number) => `lists and maps are nested more than ${max} levels deep; a requests file needs only requests → entry → field`,
  anchor: (name: string) => `YAML anchors (&${shown(name)}) are not allowed in a requests file; write each entry out in full`,
  alias: (name: string) => `YAML aliases (*${shown(name)}) are not allowed in a requests file; write each entry out in full`,
  tag: (tag: string) => `YAML tags (${shown(tag)}) are not allowed in a requests file; write the value as plain text, quoted if needed`,
  complexKey: () => "keys must be plain words such as secret or reason, not lists or maps",
  invisible: (what: string, codePoint: string) =>
    `${shown(what)} contains invisible control or bidi characters (${codePoint}); retype it as plain text`,
  rootNotMap: (found: string) => `the file must be a map with a requests: list, not ${found}`,
  requestsNotList: (found: string) => `requests must be a list of entries, each starting with "- secret:", not ${found}`,
  entryNotMap: (found: string) => `each request must be a map with secret, environment, duration and reason, not ${found}`,
  fieldNotText: (key: RequestKey, found: string) =>
    key === "break_glass" ? `break_glass must be true or false, not ${found}` : `${key} must be text such as ${EXAMPLE[key]}, not ${found}`,
  missingField: (key: RequestKey) => `this request has no ${key}: add ${key}: ${EXAMPLE[key]}`,
  unknownKey: (key: string, allowed: readonly string[], suggestion: string | null) =>
    suggestion === null
      ? `unknown key "${shown(key)}"${nonAsciiNote(key)}: the keys here are ${list(allowed)}`
      : `unknown key "${shown(key)}"${nonAsciiNote(key)}: did you mean ${suggestion}?`,
  schema: (detail: string) => `not a valid requests file: ${detail}`,
};

export const validationMessages = {
  moreProblems: () => "there are more problems from here on, not listed; fix the ones above and push again to see the rest",
  duplicate: (secret: string, environment: string, firstLine: number) =>
    `${shown(secret)} for ${shown(environment)} is already requested on line ${firstLine}; remove one of the two entries`,
  invalidSecretName: (name: string, why: string, suggestion: string | null) =>
    `"${shown(name)}" is not a secret name: ${why}` + (suggestion === null ? "" : `; did you mean ${suggestion}?`),
  unknownSecret: (name: string, suggestion: string | null) =>
    suggestion === null
      ? `${shown(name)} is not in the catalog of secrets this app can grant; check the name, or ask the operator to add it`
      : `${shown(name)} is not in the catalog of secrets this app can grant; did you mean ${suggestion}?`,
  secretNotForRepository: (name: string, repository: string) =>
    `${name} cannot be granted to ${repository}; ask the operator to add this repository to the secret's repositories in the catalog`,
  environmentEmpty: () => "environment is empty: write the name of an environment of this repository, e.g. production",
  environmentNotAllowed: (name: string, environment: string, allowed: readonly string[]) =>
    allowed.length === 0
      ? `${name} cannot be granted to any environment; ask the operator to list environments for it in the catalog`
      : `${name} cannot be granted to environment "${shown(environment)}"${nonAsciiNote(environment)}; the catalog allows: ${list(allowed)}`,
  environmentMissing: (environment: string, repository: string, existing: readonly string[]) =>
    existing.length === 0
      ? `environment "${shown(environment)}"${nonAsciiNote(environment)} does not exist in ${repository}, which has no environments; create it under Settings → Environments`
      : `environment "${shown(environment)}"${nonAsciiNote(environment)} does not exist in ${repository}; existing environments: ${list(existing)}`,
  overMax: (duration: string, max: string, secret: string) =>
    `duration ${shown(duration)} is over the limit of ${max} for ${secret}; ask for ${max} or less`,
  underMin: (duration: string, min: string, secret: string) =>
    `duration ${shown(duration)} is under the minimum of ${min} for ${secret}; ask for ${min} or more`,
  breakGlassNotAllowed: (secret: string) =>
    `${secret} does not allow break-glass (the catalog sets no break_glass for it); remove break_glass: true and have the request approved`,
  breakGlassForbidden: () =>
    "this repository forbids break-glass (.github/jit-access.yml sets break_glass: false); remove break_glass: true and have the request approved",
  breakGlassOverMax: (duration: string, max: string, secret: string) =>
    `duration ${shown(duration)} is over the break-glass limit of ${max} for ${secret}; ask for ${max} or less`,
  breakGlassMixed: () =>
    "a break-glass request must be on its own: this pull request also adds entries that need approval; move them to another pull request",
  reasonMissing: () =>
    `reason is empty: say why you need the secret in at least ${MIN_REASON_LENGTH} characters, e.g. an incident or ticket number`,
  reasonTooShort: (length: number) =>
    `reason is ${length} characters; write at least ${MIN_REASON_LENGTH} that say why you need the secret`,
  reasonTooLong: (length: number) =>
    `reason is ${length} characters; keep it to ${MAX_REASON_LENGTH}: say why in a sentence and link the ticket for details`,
  reasonMismatch: (pattern: string, secret: string) => `reason must match ${pattern}, the catalog's reason_pattern for ${secret}`,
  reasonPatternBroken: (secret: string) =>
    `the catalog's reason_pattern for ${secret} is not a valid regular expression; ask the operator to fix the catalog`,
  fromFork: (repository: string) =>
    `requests from forks are refused: push the branch to ${repository} and open the pull request from there`,
  wrongBase: (file: string, baseRef: string, defaultBranch: string) =>
    `${shown(file)} is only read from pull requests into the default branch ${defaultBranch}, and this one targets ${baseRef}: change the base branch to ${defaultBranch}`,
  baseMoved: (file: string, baseRef: string, mergeBase: string) =>
    `${shown(file)} changed on ${baseRef} since this branch was cut (merge base ${mergeBase.slice(0, 7)}), so what reviewers see under "Files changed" is not what would be granted; update the branch (merge or rebase ${baseRef}) and have it approved again`,
  mergeBaseUnreadable: (file: string, mergeBase: string, why: string) =>
    `${shown(file)} at the merge base ${mergeBase.slice(0, 7)} cannot be read (${why}), so what this pull request adds cannot be told and nothing is granted; fix the file on the default branch first`,
  environmentUnprotected: (name: string, environment: string) =>
    `${name} may only be granted into a protected environment, and "${shown(environment)}" has no protection rule; add required reviewers, a wait timer or a deployment branch policy to it under Settings → Environments`,
  noWritePermission: (login: string, repository: string) =>
    `${shown(login)} cannot write to ${repository}; only people with write permission may request secrets`,
};
