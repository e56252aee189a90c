/**
 * The "use it in a workflow" part of a grant comment: a Markdown block with a ready-to-paste
 * job per environment that checks the grant with the require-grant action and then reads the
 * secret. Pure; names only, never values.
 */
import { markdownCodeBlock } from "./markdown.js";
import { canonicalSecretName, secretNameProblem } from "../policy/secret-name.js";

export interface GrantUsage {
  secret: string;
  environment: string;
}

export interface GrantSnippetOptions {
  /**
   * How a workflow in the requesting repository refers to the require-grant action, e.g.
   * `acme/jit-access/.github/actions/require-grant@v1`. Default: a copy of the action in the
   * requesting repository itself, at `./.github/actions/require-grant`.
   */
  actionRef?: string;
}

export const LOCAL_ACTION_REF = "./.github/actions/require-grant";
const CHECKOUT = "actions/checkout@v4";

const LOCAL_REF = /^\.\/[A-Za-z0-9._/-]+$/;
const REMOTE_REF = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._/-]+)?@[A-Za-z0-9._/-]+$/;

/** Whether `ref` names the action as `./path` or `owner/repo/path@ref` (no `..`). */
export function isActionRef(ref: string): boolean {
  return (LOCAL_REF.test(ref) || REMOTE_REF.test(ref)) && !ref.includes("..");
}

/** Markdown to append to a grant comment; empty when nothing was granted. */
export function grantUsageSnippet(grants: readonly GrantUsage[], options: GrantSnippetOptions = {}): string {
  if (grants.length === 0) return "";
  const actionRef = options.actionRef ?? LOCAL_ACTION_REF;
  if (!isActionRef(actionRef)) {
    throw new Error(
      `grantUsageSnippet: actionRef ${JSON.stringify(actionRef)} is neither ./path nor owner/repo/path@ref; ` +
        `set it to e.g. ${LOCAL_ACTION_REF} or acme/jit-access/.github/actions/require-grant@v1`,
    );
  }
  const groups = groupByEnvironment(grants);
  const jobIds = uniqueJobIds(groups.map((group) => group.environment));
  const jobs = groups.flatMap((group, index) => jobLines(jobIds[index] ?? `use-grant-${index + 1}`, group, actionRef));
  const several = groups.reduce((count, group) => count + group.secrets.length, 0) > 1;
  const intro = several
    ? "**Use them in a workflow** — a job that targets an environment can read the secrets granted to it while the grants last:"
    : "**Use it in a workflow** — a job that targets the environment can read the secret while the grant lasts:";
  // An environment name may hold backticks: the fence is longer than any run of them.
  return [intro, "", markdownCodeBlock(["jobs:", ...jobs].join("\n"), "yaml"), ""].join("\n");
}

interface EnvironmentGroup {
  environment: string;
  secrets: string[];
}

/** One group per environment (GitHub compares environment names case-insensitively), in first-seen order. */
function groupByEnvironment(grants: readonly GrantUsage[]): EnvironmentGroup[] {
  const groups = new Map<string, EnvironmentGroup>();
  for (const { secret, environment } of grants) {
    const problem = secretNameProblem(secret);
    if (problem !== null) {
      throw new Error(
        `grantUsageSnippet: ${JSON.stringify(secret)} is not a secret name (${problem}); ` +
          "requests with such a name must be refused when the request file is validated",
      );
    }
    const environmentProblem = environmentNameProblem(environment);
    if (environmentProblem !== null) {
      throw new Error(
        `grantUsageSnippet: environment ${JSON.stringify(environment)} ${environmentProblem}; ` +
          "requests for such an environment must be refused when the request file is validated",
      );
    }
    const key = environment.toLowerCase();
    const group = groups.get(key) ?? { environment, secrets: [] };
    groups.set(key, group);
    const name = canonicalSecretName(secret);
    if (!group.secrets.includes(name)) group.secrets.push(name);
  }
  return [...groups.values()];
}

/**
 * Why `environment` cannot be written into a workflow snippet, or null. Any other text is
 * quoted, so spaces, colons, `#` and quotes are fine.
 */
function environmentNameProblem(environment: string): string | null {
  if (environment.trim() === "") return "is empty";
  // eslint-disable-next-line no-control-regex -- an environment name with a control character is refused
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(environment)) return "contains a control character or line break";
  if (environment.includes("${{")) return "contains ${{, which GitHub would evaluate as an expression";
  return null;
}

function jobLines(jobId: string, group: EnvironmentGroup, actionRef: string): string[] {
  const environment = yamlScalar(group.environment);
  // The action reads each value from JIT_SECRET_<NAME>, never from a variable of the secret's own name.
  const actionEnv = group.secrets.map((name) => `          JIT_SECRET_${name}: \${{ secrets.${name} }}`);
  const secretEnv = group.secrets.map((name) => `          ${name}: \${{ secrets.${name} }}`);
  const variables = group.secrets.map((name) => `$${name}`).join(", ");
  return [
    `  ${jobId}:`,
    "    runs-on: ubuntu-latest",
    `    environment: ${environment}`,
    "    steps:",
    `      - uses: ${CHECKOUT}`,
    `      - uses: ${actionRef}   # fails early if the grant is not live`,
    "        with:",
    `          secrets: ${group.secrets.join(", ")}`,
    `          environment: ${environment}`,
    "        env:",
    ...actionEnv,
    `      - run: ./your-script.sh   # reads ${variables}`,
    "        env:",
    ...secretEnv,
  ];
}

const YAML_SPECIAL_WORDS = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

/** A YAML scalar that reads back as exactly `text`: plain when that is unambiguous, else double-quoted. */
function yamlScalar(text: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text) && !YAML_SPECIAL_WORDS.test(text)) return text;
  // A JSON string is a valid YAML double-quoted scalar with the same value.
  return JSON.stringify(text);
}

/** Job ids GitHub accepts (a letter or `_`, then letters, digits, `-`, `_`), distinct, one per environment. */
function uniqueJobIds(environments: readonly string[]): string[] {
  if (environments.length === 1) return ["use-grant"];
  const used = new Set<string>();
  return environments.map((environment) => {
    const slug = environment
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "-")
      .replace(/^-+|-+$/g, "");
    const base = slug === "" ? "use-grant" : `use-grant-${slug}`;
    let id = base;
    for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}
