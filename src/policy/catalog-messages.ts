/**
 * Every message the operator catalog can earn, in one place, so that the schema and the tests
 * agree on the words. Each says what is wrong and how to fix it. The catalog holds where values
 * come from, never the values, so no message can show one.
 * (Durations, approval counts and unknown keys are worded in `config-fields.ts`, shared with the
 * repository config.)
 */

/** Operator text as messages show it: long text is cut, so a message stays one line. */
function shown(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

export const catalogMessages = {
  sourceRequired: "source is required; write env:VARIABLE or file:/absolute/path",
  sourceKind: "source must be env:VARIABLE or file:/absolute/path",
  envVariable: "env: must name an environment variable (letters, digits and _, not starting with a digit), e.g. env:PROD_DB_URL",
  fileNul: "file: path must not contain NUL characters",
  fileRelative: "file: must be an absolute path, e.g. file:/run/secrets/prod-db-url",

  repositoryNotText: "each repository must be a glob over owner/name, e.g. acme/* or acme/api",
  repositoriesNotList: 'repositories must be a list of owner/name globs, e.g. ["acme/*"]',
  repositoriesEmpty: 'repositories must list at least one owner/name glob, e.g. ["acme/*"]',
  /**
   * `*` alone would match no repository at all (a `*` never crosses the `/`), so it is refused
   * rather than left as a silent no-op.
   */
  repositoryStarOnly: (glob: string) =>
    `"${glob}" is not a glob over owner/name and would match no repository, because * does not match the / between owner and name; write */* to allow every repository the app is installed on, or acme/* for one owner`,
  repositoryNotGlob: (glob: string) => `"${glob}" is not a glob over owner/name; write it like acme/* or acme/api`,
  /**
   * A wildcard matches repositories that do not exist yet, and each brings its own CODEOWNERS:
   * without `approvers`, whoever can create a matching repository decides who approves for it.
   */
  wildcardWithoutApprovers: (secret: string, glob: string) =>
    `${secret} allows "${glob}", a wildcard, but sets no approvers: a repository created later that matches it brings its own CODEOWNERS, so its code owners alone would let anyone who can create a repository approve for it. Set approvers on ${secret}, e.g. approvers: ["@acme/dba"], or list each repository by its exact owner/name`,

  environmentNotText: "each environment must be the name of an Actions environment, e.g. production",
  environmentEmpty: "environment names must not be empty",
  environmentTooLong: (max: number) => `environment names must be at most ${max} characters`,
  environmentsNotList: "environments must be a list of environment names, e.g. [production]",
  environmentsEmpty: "environments must list at least one environment, e.g. [production]",

  minOverMax: "min_duration must not be longer than max_duration",

  approversNotList: 'approvers must be a list of @org/team and @user entries in quotes, e.g. ["@acme/dba", "@alice"]',
  approversEmpty:
    'approvers must list at least one @org/team or @user, e.g. ["@acme/dba"]; remove the key to let any code owner of the requests file approve',
  approverNotText: 'each approver must be @org/team or @user in quotes, e.g. "@acme/dba"',
  approverEmail: (email: string) =>
    `"${shown(email)}" is an email address; approvers are GitHub accounts and teams, and an email cannot be matched to the account that reviews: write @user or @org/team`,
  approverWithoutAt: (text: string) => `"${shown(text)}" is not an approver: write it with an @, "@${shown(text)}"`,
  approverInvalid: (text: string) =>
    `"${shown(text)}" is not an approver: write @user or @org/team (a login or organisation has letters, digits, - and _; a team may also have .)`,
  approverRepeated: (text: string, first: string) =>
    `"${shown(text)}" and "${shown(first)}" are the same approver (GitHub logins and team names ignore case); keep one`,

  requireProtectedEnvironment: "require_protected_environment must be true or false",
  bindToRequester: "bind_to_requester must be true or false",
  durationOutOfRange: (key: string, min: string, max: string) => `${key} must be from ${min} to ${max}`,
  breakGlassOverMax: "break_glass.max_duration must not be longer than the secret's max_duration",

  reasonPatternNotText: "reason_pattern must be a regular expression in quotes, e.g. '^INC-\\d+'",
  reasonPatternEmpty: "reason_pattern must not be empty; remove the key to allow any reason",
  reasonPatternInvalid: (detail: string) => `reason_pattern is not a valid regular expression with the u flag: ${detail}`,
  reasonPatternNested: (group: string) =>
    `reason_pattern repeats a group that itself repeats or branches, ${group}, which can take minutes to test against a crafted reason; rewrite it without the nesting, e.g. (a+)+ as a+, (x|y)+ as [xy]+, (\\w+\\s?)+ as [\\w\\s]+`,

  secretsRequired: "secrets is required: a map from each secret's name to its policy",
  secretsEmpty: "secrets has no entries; a catalog must list at least one secret",
  secretsNotMap: "secrets must be a map from each secret's name to its policy",
  sameSecret: (name: string, first: string) => `"${name}" and "${first}" are the same secret (GitHub secret names ignore case); keep one`,

  /** YAML reserves a leading @, so `[@acme/dba]` is a syntax error rather than a string. */
  quoteAt: (token: string) => `YAML needs quotes around a value that starts with @: write "${shown(token)}", not ${shown(token)}`,
};
