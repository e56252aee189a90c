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
  const found = /\P{ASCII}/u.exec(name);
  if (found === null) return "";
  const codePoint = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  return ` (ASCII only; "${found[0]}" is U+${codePoint})`;
}

/**
 * Variables the shell (bash) or the Actions runner give a meaning of their own. A secret with
 * such a name cannot reach a step under its name without breaking the step (`PATH`, `IFS`), and
 * bash answers for some of them itself (`SECONDS`, `RANDOM`, `PWD`). The require-grant action
 * refuses the same names (`.github/actions/require-grant/require-grant.sh`; a test keeps the
 * two lists the same). Compared upper-case, as GitHub compares secret names.
 */
export const SHADOWED_VARIABLES: readonly string[] = [
  "BASH",
  "BASHOPTS",
  "BASHPID",
  "CDPATH",
  "CHILD_MAX",
  "COLUMNS",
  "COMPREPLY",
  "COPROC",
  "DIRSTACK",
  "EMACS",
  "ENV",
  "EPOCHREALTIME",
  "EPOCHSECONDS",
  "EUID",
  "EXECIGNORE",
  "FCEDIT",
  "FIGNORE",
  "FUNCNAME",
  "FUNCNEST",
  "GLOBIGNORE",
  "GLOBSORT",
  "GROUPS",
  "HISTCMD",
  "HISTCONTROL",
  "HISTFILE",
  "HISTFILESIZE",
  "HISTIGNORE",
  "HISTSIZE",
  "HISTTIMEFORMAT",
  "HOME",
  "HOSTFILE",
  "HOSTNAME",
  "HOSTTYPE",
  "IFS",
  "IGNOREEOF",
  "INPUTRC",
  "INSIDE_EMACS",
  "LANG",
  "LANGUAGE",
  "LINENO",
  "LINES",
  "LOGNAME",
  "MACHTYPE",
  "MAIL",
  "MAILCHECK",
  "MAILPATH",
  "MAPFILE",
  "OLDPWD",
  "OPTARG",
  "OPTERR",
  "OPTIND",
  "OSTYPE",
  "PATH",
  "PIPESTATUS",
  "POSIXLY_CORRECT",
  "PPID",
  "PROMPT_COMMAND",
  "PROMPT_DIRTRIM",
  "PS0",
  "PS1",
  "PS2",
  "PS3",
  "PS4",
  "PWD",
  "RANDOM",
  "REPLY",
  "SECONDS",
  "SHELL",
  "SHELLOPTS",
  "SHLVL",
  "SRANDOM",
  "TERM",
  "TIMEFORMAT",
  "TMOUT",
  "TMPDIR",
  "TZ",
  "UID",
  "USER",
  // the Actions runner's own
  "CI",
];

/** Prefixes of the same: bash's, the locale's, the runner's, action inputs and state, the require-grant action's. */
export const SHADOWED_PREFIXES: readonly string[] = [
  "BASH_",
  "COMP_",
  "LC_",
  "READLINE_",
  "RUNNER_",
  "ACTIONS_",
  "INPUT_",
  "STATE_",
  "JIT_SECRET_",
];

/** Why a workflow step could not receive a secret named `name` under that name, or null. */
export function shadowedVariableProblem(name: string): string | null {
  const upper = name.toUpperCase();
  const prefix = SHADOWED_PREFIXES.find((candidate) => upper.startsWith(candidate));
  if (!SHADOWED_VARIABLES.includes(upper) && prefix === undefined) return null;
  const what =
    prefix === undefined
      ? `${upper}, a variable of the shell or of the Actions runner`
      : `a ${prefix}… variable of the shell, the Actions runner or the require-grant action`;
  return `secret names must not be the name of ${what}: a workflow step could not receive the secret under that name; choose another name`;
}
