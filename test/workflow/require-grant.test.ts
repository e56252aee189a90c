import { describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { SHADOWED_PREFIXES, SHADOWED_VARIABLES } from "../../src/policy/secret-name.js";

const actionDir = fileURLToPath(new URL("../../.github/actions/require-grant/", import.meta.url));
const actionYml = readFileSync(join(actionDir, "action.yml"), "utf8");
const script = readFileSync(join(actionDir, "require-grant.sh"), "utf8");

const manifestSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputs: z.record(z.string(), z.object({ description: z.string(), required: z.boolean().optional(), default: z.string().optional() })),
  runs: z.object({
    using: z.literal("composite"),
    steps: z.array(
      z.object({
        name: z.string().optional(),
        shell: z.string().optional(),
        env: z.record(z.string(), z.string()).optional(),
        run: z.string().optional(),
        uses: z.string().optional(),
      }),
    ),
  }),
});
const manifest = manifestSchema.parse(parse(actionYml));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the action the way the runner does: `with:` values (or the declared defaults) fill the
 * step's `${{ inputs.x }}` env expressions, the caller's `env:` is inherited, and the step's
 * `run:` text is executed by `bash --noprofile --norc -eo pipefail <file>` (what `shell: bash`
 * means) with GITHUB_ACTION_PATH set to the action's folder.
 */
function runAction(options: {
  with: Record<string, string>;
  /** Secret values by name, set on the step as JIT_SECRET_<NAME>, as the caller's `env:` does; "" for a secret that is not granted. */
  values?: Record<string, string>;
  env?: Record<string, string>;
  cwd?: string;
}): Run {
  for (const key of Object.keys(options.with)) {
    if (!(key in manifest.inputs)) throw new Error(`action.yml declares no input ${key}`);
  }
  const inputs = (name: string): string => {
    const declared = manifest.inputs[name];
    if (declared === undefined) throw new Error(`action.yml declares no input ${name}`);
    return options.with[name] ?? declared.default ?? "";
  };
  const [step] = manifest.runs.steps;
  if (step?.run === undefined) throw new Error("action.yml has no run step");
  const stepEnv: Record<string, string> = {};
  for (const [key, expression] of Object.entries(step.env ?? {})) {
    const match = /^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(expression);
    if (match?.[1] === undefined) throw new Error(`unexpected env expression ${expression}`);
    stepEnv[key] = inputs(match[1]);
  }
  const dir = mkdtempSync(join(tmpdir(), "require-grant-"));
  const file = join(dir, "step.sh");
  writeFileSync(file, step.run);
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
    cwd: options.cwd ?? dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GITHUB_ACTION_PATH: actionDir,
      ...options.env,
      ...secretEnv(options.values ?? {}),
      ...stepEnv,
    },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The step's `env:` entries for secret values: JIT_SECRET_<NAME>: value. */
function secretEnv(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [`JIT_SECRET_${name}`, value]));
}

const defaultHelp = manifest.inputs["help-url"]?.default ?? "";
const notGranted = (name: string, environment = "production", help = defaultHelp): string =>
  `::error title=Secret not granted::${name} is not granted to environment ${environment} right now; ` +
  `request it by adding an entry to jit-requests.yml (see ${help}). ` +
  "Where jit-access is the environment's deployment protection rule, it lets a job start only in a run that the grant's requester started (and re-ran); " +
  "it rejects any other run before its jobs start, with the reason on the run's page";

describe("action.yml", () => {
  const [step] = manifest.runs.steps;

  it("is a composite action with one bash step that runs the script from the action's folder", () => {
    expect(manifest.runs.steps).toHaveLength(1);
    expect(step?.shell).toBe("bash");
    expect(step?.uses).toBeUndefined();
    expect(step?.run?.trim()).toBe('bash "$GITHUB_ACTION_PATH/require-grant.sh"');
  });

  it("never interpolates an expression into the script text", () => {
    expect(step?.run).not.toContain("${{");
  });

  it("passes every input to the script through env", () => {
    expect(step?.env).toEqual({
      INPUT_SECRETS: "${{ inputs.secrets }}",
      INPUT_ENVIRONMENT: "${{ inputs.environment }}",
      INPUT_HELP_URL: "${{ inputs.help-url }}",
    });
  });

  it("requires secret names and the environment; help-url has a default", () => {
    expect(manifest.inputs.secrets?.required).toBe(true);
    expect(manifest.inputs.environment?.required).toBe(true);
    expect(manifest.inputs["help-url"]?.required).toBe(false);
    expect(defaultHelp).not.toBe("");
  });

  it("takes no secret values as inputs", () => {
    expect(Object.keys(manifest.inputs).sort()).toEqual(["environment", "help-url", "secrets"]);
  });
});

describe("require-grant.sh source", () => {
  it.each([
    ["tracing", /set\s+-[a-wyz]*x|set\s+-o\s+xtrace/],
    ["masking", /add-mask/],
    ["eval", /\beval\b/],
  ])("contains no %s", (_what, pattern) => {
    expect(script).not.toMatch(pattern);
  });
});

describe("require-grant", () => {
  it("passes with one neutral line when every secret is present, printing no value", () => {
    const run = runAction({
      with: { secrets: "PROD_DB_URL,API_TOKEN", environment: "production" },
      values: { PROD_DB_URL: "postgres://u:pw-7f3a@db/prod", API_TOKEN: "tok-91c2" },
    });
    expect(run).toEqual({
      status: 0,
      stdout: "Available to this job in environment production: PROD_DB_URL, API_TOKEN\n",
      stderr: "",
    });
  });

  it("fails with the annotation when one secret is missing", () => {
    const run = runAction({ with: { secrets: "PROD_DB_URL", environment: "production" }, values: { PROD_DB_URL: "" } });
    expect(run).toEqual({ status: 1, stdout: `${notGranted("PROD_DB_URL")}\n`, stderr: "" });
  });

  it("reports every missing secret, not only the first, and not the present ones", () => {
    const run = runAction({
      with: { secrets: "PROD_DB_URL\nAPI_TOKEN\nREPLICA_URL", environment: "production" },
      values: { PROD_DB_URL: "", API_TOKEN: "tok-91c2", REPLICA_URL: "" },
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe(`${notGranted("PROD_DB_URL")}\n${notGranted("REPLICA_URL")}\n`);
    expect(run.stdout + run.stderr).not.toContain("tok-91c2");
  });

  it("counts an empty value as not granted (GitHub substitutes '' for a missing secret)", () => {
    const run = runAction({ with: { secrets: "PROD_DB_URL", environment: "production" }, values: { PROD_DB_URL: "" } });
    expect(run).toEqual({ status: 1, stdout: `${notGranted("PROD_DB_URL")}\n`, stderr: "" });
  });

  it("counts a value of new lines only as granted: it is not empty", () => {
    const run = runAction({ with: { secrets: "PROD_DB_URL", environment: "production" }, values: { PROD_DB_URL: "\n\n" } });
    expect(run.status).toBe(0);
  });

  it("refuses a name whose JIT_SECRET_ entry is not on the step at all, as a usage error", () => {
    const run = runAction({
      with: { secrets: "PROD_DB_URL,API_TOKEN", environment: "production" },
      values: { API_TOKEN: "tok-91c2" },
      // The old way of passing values, by the secret's own name, is not read.
      env: { PROD_DB_URL: "postgres://u:pw-7f3a@db/prod" },
    });
    expect(run).toEqual({
      status: 2,
      stdout:
        "::error title=require-grant usage::JIT_SECRET_PROD_DB_URL is not set on this step; add it to the step's env: as " +
        "JIT_SECRET_PROD_DB_URL: ${{ secrets.PROD_DB_URL }} (the action reads values only from JIT_SECRET_ entries)\n",
      stderr: "",
    });
  });

  it("uses the environment and help-url inputs in the message", () => {
    const run = runAction({
      with: { secrets: "PROD_DB_URL", environment: "eu production", "help-url": "https://example.com/jit" },
      values: { PROD_DB_URL: "" },
    });
    expect(run.stdout).toBe(`${notGranted("PROD_DB_URL", "eu production", "https://example.com/jit")}\n`);
  });

  it("escapes input text so it can neither break the annotation nor start a workflow command", () => {
    const run = runAction({
      with: { secrets: "PROD_DB_URL", environment: "prod\n::warning::x", "help-url": "https://x/a%20b\r" },
      values: { PROD_DB_URL: "" },
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe(`${notGranted("PROD_DB_URL", "prod%0A::warning::x", "https://x/a%2520b%0D")}\n`);
  });

  it.each([
    ["comma separated", "A,B"],
    ["newline separated", "A\nB"],
    ["both, with blanks and empty entries", " A , \n\n\tB ,\n"],
    ["CRLF separated", "A\r\nB\r\n"],
    ["duplicates", "A,B\nA,B"],
  ])("reads a %s list", (_label, secrets) => {
    const both = runAction({ with: { secrets, environment: "production" }, values: { A: "a-val", B: "b-val" } });
    expect(both).toEqual({ status: 0, stdout: "Available to this job in environment production: A, B\n", stderr: "" });

    const onlyA = runAction({ with: { secrets, environment: "production" }, values: { A: "a-val", B: "" } });
    expect(onlyA).toEqual({ status: 1, stdout: `${notGranted("B")}\n`, stderr: "" });
  });

  it.each([
    ["a hyphen", "PROD-DB", "entry 2 of the secrets input is not a secret name"],
    ["a space inside", "PROD DB", "entry 2 of the secrets input is not a secret name"],
    ["a leading digit", "1PASSWORD", "entry 2 of the secrets input is not a secret name"],
    ["a non-ASCII letter", "ÄPFEL", "entry 2 of the secrets input is not a secret name"],
    ["an expression", "$(id)", "entry 2 of the secrets input is not a secret name"],
    ["a braced expansion", "${PATH}", "entry 2 of the secrets input is not a secret name"],
    ["the GITHUB_ prefix", "github_token", "(github_token) starts with GITHUB_, which GitHub reserves"],
    ["the action's own prefix", "JIT_SECRET_X", "(JIT_SECRET_X) is the name of a variable of the Actions runner or of this action"],
  ])("refuses a name with %s as a usage error", (_label, bad, message) => {
    const run = runAction({ with: { secrets: `OK_NAME,${bad}`, environment: "production" }, values: { OK_NAME: "v" } });
    expect(run.status).toBe(2);
    const lines = run.stdout.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^::error title=require-grant usage::/);
    expect(lines[0]).toContain(message);
  });

  it("does not echo an entry that is not a name: it may be a value passed by mistake", () => {
    const run = runAction({ with: { secrets: "postgres://u:pw-7f3a@db/prod", environment: "production" } });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain("entry 1 of the secrets input is not a secret name");
    expect(run.stdout + run.stderr).not.toContain("pw-7f3a");
  });

  it.each([
    ["no names", "", "the secrets input lists no names"],
    ["only separators", " ,\n, ", "the secrets input lists no names"],
  ])("refuses %s as a usage error", (_label, secrets, message) => {
    const run = runAction({ with: { secrets, environment: "production" } });
    expect(run).toEqual({ status: 2, stdout: expect.stringContaining(message), stderr: "" });
  });

  it("refuses an empty environment as a usage error", () => {
    const run = runAction({ with: { secrets: "PROD_DB_URL", environment: "" }, values: { PROD_DB_URL: "v" } });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain("the environment input is empty");
  });

  describe("values with shell metacharacters are never evaluated and never printed", () => {
    const dir = mkdtempSync(join(tmpdir(), "require-grant-canary-"));
    const canary = join(dir, "evaluated");
    const values = [
      ["command substitution", `$(touch ${canary})`],
      ["backticks", `\`touch ${canary}\``],
      ["single quotes", `'; touch ${canary}; echo '`],
      ["double quotes", `"; touch ${canary}; echo "`],
      ["new lines", `first line\n$(touch ${canary})\nthird line`],
      ["a workflow command", `\n::add-mask::x\n::error::$(touch ${canary})`],
      ["parameter expansion", `\${PATH} $PATH $(touch ${canary})`],
    ];
    const visibleParts = (value: string): string[] =>
      value
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0);

    it.each(values)("%s, when granted", (_label, value) => {
      const run = runAction({ with: { secrets: "PROD_DB_URL", environment: "production" }, values: { PROD_DB_URL: value } });
      expect(run.status).toBe(0);
      for (const part of visibleParts(value)) expect(run.stdout + run.stderr).not.toContain(part);
      expect(existsSync(canary)).toBe(false);
    });

    it.each(values)("%s, when another secret is missing", (_label, value) => {
      const run = runAction({
        with: { secrets: "PROD_DB_URL,API_TOKEN", environment: "production" },
        values: { PROD_DB_URL: value, API_TOKEN: "" },
      });
      expect(run).toEqual({ status: 1, stdout: `${notGranted("API_TOKEN")}\n`, stderr: "" });
      expect(existsSync(canary)).toBe(false);
    });

    it.each(values)("%s, even when the caller turns tracing on through SHELLOPTS", (_label, value) => {
      const run = runAction({
        with: { secrets: "PROD_DB_URL", environment: "production" },
        values: { PROD_DB_URL: value },
        env: { SHELLOPTS: "xtrace" },
      });
      expect(run.status).toBe(0);
      for (const part of visibleParts(value)) expect(run.stdout + run.stderr).not.toContain(part);
      expect(existsSync(canary)).toBe(false);
    });

    it("never evaluates the environment or help-url inputs either", () => {
      const run = runAction({
        with: { secrets: "PROD_DB_URL", environment: `$(touch ${canary})`, "help-url": `\`touch ${canary}\`` },
        values: { PROD_DB_URL: "" },
      });
      expect(run.status).toBe(1);
      expect(existsSync(canary)).toBe(false);
    });
  });

  it("falls back to the same help text as action.yml's default when run without the input", () => {
    const result = spawnSync("bash", [join(actionDir, "require-grant.sh")], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        INPUT_SECRETS: "PROD_DB_URL",
        INPUT_ENVIRONMENT: "production",
        JIT_SECRET_PROD_DB_URL: "",
      },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(`${notGranted("PROD_DB_URL")}\n`);
  });
});

/**
 * Bash gives these names values of its own, so `${!name}` reported them granted when their
 * secret was empty. Each is refused as a usage error, granted or not, and so is every name
 * the catalog refuses for the same reason.
 */
describe("names that shadow shell or runner variables", () => {
  const usage = (name: string, what: string) =>
    `::error title=require-grant usage::entry 1 of the secrets input (${name}) is the name of ${what}, so a step cannot receive the secret under that name; ask for the secret to be renamed\n`;
  const shell = "a shell variable";
  const runner = "a variable of the Actions runner or of this action";

  describe.each([
    ["LC_ALL", shell],
    ["SECONDS", shell],
    ["RANDOM", shell],
    ["IFS", shell],
    ["BASHPID", shell],
    ["PWD", shell],
    ["lc_all", shell],
    ["RUNNER_TEMP", runner],
    ["ACTIONS_RUNTIME_TOKEN", runner],
    ["INPUT_SECRETS", runner],
    ["CI", runner],
  ])("%s", (name, what) => {
    it("is refused when not granted (empty)", () => {
      const run = runAction({ with: { secrets: name, environment: "production" }, values: { [name]: "" } });
      expect(run).toEqual({ status: 2, stdout: usage(name, what), stderr: "" });
    });

    it("is refused when granted", () => {
      const run = runAction({ with: { secrets: name, environment: "production" }, values: { [name]: "granted-value-1f2e" } });
      expect(run).toEqual({ status: 2, stdout: usage(name, what), stderr: "" });
    });

    it("is refused when its JIT_SECRET_ entry is missing", () => {
      const run = runAction({ with: { secrets: name, environment: "production" } });
      expect(run).toEqual({ status: 2, stdout: usage(name, what), stderr: "" });
    });
  });

  it("refuses every name the catalog refuses for the same reason, each by its own annotation", () => {
    const names = [...SHADOWED_VARIABLES, ...SHADOWED_PREFIXES.map((prefix) => `${prefix}X`)];
    const run = runAction({
      with: { secrets: names.join(","), environment: "production" },
      values: Object.fromEntries(names.map((name) => [name, "v"])),
    });
    expect(run.status).toBe(2);
    const refused = run.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => /\(([A-Z0-9_]+)\) is the name of a/u.exec(line)?.[1]);
    expect(refused).toEqual(names);
  });

  it("reads names that only look alike as ordinary secrets", () => {
    const run = runAction({
      with: { secrets: "PWD_HASH,SECONDS_LEFT,MY_PATH", environment: "production" },
      values: { PWD_HASH: "a", SECONDS_LEFT: "b", MY_PATH: "" },
    });
    expect(run).toEqual({ status: 1, stdout: `${notGranted("MY_PATH")}\n`, stderr: "" });
  });
});
