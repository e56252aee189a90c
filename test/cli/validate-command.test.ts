import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { VALIDATE_USAGE, validateCommand } from "../../src/cli/validate-command.js";
import { validationMessages as say } from "../../src/request/request-messages.js";

const FIXTURES = new URL("../fixtures/requests/", import.meta.url);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "jit-validate-"));
  for (const name of ["catalog.yml", "valid.yml", "base.yml", "several-problems.yml", "repo-config.yml"]) {
    await copyFile(new URL(name, FIXTURES), join(dir, name));
  }
  await copyFile(new URL("valid.yml", FIXTURES), join(dir, "jit-requests.yml"));
  await writeFile(join(dir, "bad-catalog.yml"), "secrets: 3\n");
  await writeFile(join(dir, "bad-config.yml"), "approvals: many\n");
  const policy = "    source: env:PROD_DB_URL\n    environments: [production]\n    max_duration: 4h\n";
  await writeFile(join(dir, "wildcard-catalog.yml"), `secrets:\n  PROD_DB_URL:\n    repositories: [acme/api, "acme/*"]\n${policy}`);
  await writeFile(
    join(dir, "email-approver-catalog.yml"),
    `secrets:\n  PROD_DB_URL:\n    repositories: ["acme/*"]\n    approvers: [dba@acme.example]\n${policy}`,
  );
  await mkdir(join(dir, "a-directory"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await validateCommand(args, { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line), cwd: dir });
  return { code, stdout, stderr };
}

const REQUIRED = ["--catalog", "catalog.yml", "--repo", "acme/web"];

describe("jit-access validate", () => {
  it("prints one line per valid request and exits 0", async () => {
    expect(await run("valid.yml", ...REQUIRED)).toEqual({
      code: 0,
      stdout: ["ok: PROD_DB_URL → production for 2h (needs 2 approvals)", "ok: STAGING_TOKEN → staging for 1h30m (needs 1 approval)"],
      stderr: [],
    });
  });

  it("reads jit-requests.yml when no FILE is given", async () => {
    const result = await run(...REQUIRED);
    expect(result.code).toBe(0);
    expect(result.stdout).toHaveLength(2);
  });

  it("prints FILE:LINE:COL: message for every problem, sorted by line, and exits 1", async () => {
    expect(await run("several-problems.yml", ...REQUIRED)).toEqual({
      code: 1,
      stdout: [
        `several-problems.yml:2:13: ${say.unknownSecret("PROD_DB_URI", "PROD_DB_URL")}`,
        `several-problems.yml:8:15: ${say.overMax("6h", "4h", "PROD_DB_URL")}`,
        `several-problems.yml:9:13: ${say.reasonTooShort(9)}`,
        "several-problems.yml:10:5: this request has no environment: add environment: production",
        'several-problems.yml:11:5: unknown key "enviroment": did you mean environment?',
      ],
      stderr: [],
    });
  });

  it("judges only what FILE adds to --base", async () => {
    const result = await run("valid.yml", ...REQUIRED, "--base", "base.yml");
    expect(result).toEqual({ code: 0, stdout: ["ok: STAGING_TOKEN → staging for 1h30m (needs 1 approval)"], stderr: [] });
  });

  it("says so when FILE only removes entries from --base", async () => {
    const result = await run("base.yml", ...REQUIRED, "--base", "valid.yml");
    expect(result).toEqual({ code: 0, stdout: ["ok: base.yml only removes entries"], stderr: [] });
  });

  it("says so when FILE adds nothing to --base", async () => {
    const result = await run("valid.yml", ...REQUIRED, "--base", "valid.yml");
    expect(result).toEqual({ code: 0, stdout: ["ok: valid.yml requests nothing new"], stderr: [] });
  });

  it("applies the repository config given with --config", async () => {
    const result = await run("valid.yml", ...REQUIRED, "--config", "repo-config.yml");
    expect(result).toEqual({
      code: 1,
      stdout: [
        `valid.yml:5:15: ${say.overMax("2h", "1h", "PROD_DB_URL")}`,
        `valid.yml:9:15: ${say.overMax("1h30m", "1h", "STAGING_TOKEN")}`,
      ],
      stderr: [],
    });
  });

  it("checks the repository against the catalog's globs", async () => {
    const result = await run("valid.yml", "--catalog", "catalog.yml", "--repo", "acme/api");
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([`valid.yml:7:13: ${say.secretNotForRepository("STAGING_TOKEN", "acme/api")}`]);
  });

  it.each<[string, string, string]>([
    [
      "a wildcard repository without approvers",
      "wildcard-catalog.yml",
      '3:30: secrets.PROD_DB_URL.repositories[1]: PROD_DB_URL allows "acme/*", a wildcard, but sets no approvers: a repository created later that matches it brings its own CODEOWNERS, so its code owners alone would let anyone who can create a repository approve for it. Set approvers on PROD_DB_URL, e.g. approvers: ["@acme/dba"], or list each repository by its exact owner/name',
    ],
    [
      "an approver written as an email address",
      "email-approver-catalog.yml",
      '4:17: secrets.PROD_DB_URL.approvers[0]: "dba@acme.example" is an email address; approvers are GitHub accounts and teams, and an email cannot be matched to the account that reviews: write @user or @org/team',
    ],
  ])("applies the app's catalog rules: refuses %s at its line, exit 2", async (_name, catalog, problem) => {
    // acme/api is an exact name: the request itself would be fine; the catalog is not.
    const result = await run("valid.yml", "--catalog", catalog, "--repo", "acme/api");
    expect(result).toEqual({
      code: 2,
      stdout: [],
      stderr: [`jit-access validate: ${join(dir, catalog)}:${problem}`, VALIDATE_USAGE],
    });
  });

  it("prints the usage line for --help and exits 0", async () => {
    expect(await run("--help")).toEqual({ code: 0, stdout: [VALIDATE_USAGE], stderr: [] });
  });

  it.each<[string, string[], string | RegExp]>([
    ["an unknown flag", [...REQUIRED, "--verbose"], /Unknown option '--verbose'/],
    ["a flag without its value", ["--catalog"], /--catalog/],
    ["no --catalog", ["--repo", "acme/web"], "--catalog PATH is required: the operator catalog to check against"],
    ["no --repo", ["--catalog", "catalog.yml"], "--repo OWNER/NAME is required: the repository the requests are for"],
    [
      "a --repo that is not OWNER/NAME",
      ["--catalog", "catalog.yml", "--repo", "acme"],
      '--repo must be OWNER/NAME, e.g. acme/api, not "acme"',
    ],
    ["two files", ["a.yml", "b.yml", ...REQUIRED], "expected at most one FILE, got 2: a.yml b.yml"],
    ["a missing file", ["missing.yml", ...REQUIRED], "cannot read missing.yml: no such file"],
    ["a directory for FILE", ["a-directory", ...REQUIRED], "cannot read a-directory: it is a directory; give the path of a file"],
    ["a missing --base", ["valid.yml", ...REQUIRED, "--base", "gone.yml"], "cannot read gone.yml: no such file"],
    ["a missing catalog", ["valid.yml", "--catalog", "nope.yml", "--repo", "acme/web"], /nope\.yml:1:1: the catalog file does not exist/],
    [
      "a catalog that is not valid",
      ["valid.yml", "--catalog", "bad-catalog.yml", "--repo", "acme/web"],
      /bad-catalog\.yml:1:\d+: .*secrets/,
    ],
    [
      "a repository config that is not valid",
      ["valid.yml", ...REQUIRED, "--config", "bad-config.yml"],
      /bad-config\.yml:1:\d+: .*approvals/,
    ],
  ])("refuses %s with a message and the usage line, exit 2", async (_name, args, message) => {
    const result = await run(...args);
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toHaveLength(2);
    const [first, usage] = result.stderr as [string, string];
    expect(first.startsWith("jit-access validate: ")).toBe(true);
    if (typeof message === "string") expect(first).toBe(`jit-access validate: ${message}`);
    else expect(first).toMatch(message);
    expect(usage).toBe(VALIDATE_USAGE);
  });
});
