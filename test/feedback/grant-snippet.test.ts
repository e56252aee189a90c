import { describe, expect, it } from "@jest/globals";
import { parse } from "yaml";
import { z } from "zod";
import { grantUsageSnippet, LOCAL_ACTION_REF } from "../../src/feedback/grant-snippet.js";

const stepSchema = z.object({
  uses: z.string().optional(),
  run: z.string().optional(),
  with: z.object({ secrets: z.string(), environment: z.string() }).strict().optional(),
  env: z.record(z.string(), z.string()).optional(),
});
const workflowSchema = z.object({
  jobs: z.record(
    z.string(),
    z.object({ "runs-on": z.literal("ubuntu-latest"), environment: z.string(), steps: z.array(stepSchema) }).strict(),
  ),
});
type Job = z.output<typeof workflowSchema>["jobs"][string];

/** The YAML inside the snippet's one ```yaml fence, parsed and checked for shape. */
function parseSnippet(markdown: string): Record<string, Job> {
  const fences = [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)];
  expect(fences).toHaveLength(1);
  return workflowSchema.parse(parse(fences[0]?.[1] ?? "")).jobs;
}

const secretEnv = (...names: string[]): Record<string, string> =>
  Object.fromEntries(names.map((name) => [name, `\${{ secrets.${name} }}`]));
/** What require-grant reads: JIT_SECRET_<NAME>, never the secret's own name. */
const actionEnv = (...names: string[]): Record<string, string> =>
  Object.fromEntries(names.map((name) => [`JIT_SECRET_${name}`, `\${{ secrets.${name} }}`]));

/** Checks a job has: checkout, require-grant for `secrets`, then a step reading them from env. */
function expectJob(job: Job | undefined, environment: string, secrets: string[], actionRef = LOCAL_ACTION_REF): void {
  expect(job?.environment).toBe(environment);
  const steps = job?.steps ?? [];
  expect(steps.map((step) => step.uses ?? "run")).toEqual(["actions/checkout@v4", actionRef, "run"]);
  const [, requireGrant, use] = steps;
  expect(requireGrant?.with).toEqual({ secrets: secrets.join(", "), environment });
  expect(requireGrant?.env).toEqual(actionEnv(...secrets));
  expect(use?.env).toEqual(secretEnv(...secrets));
}

describe("grantUsageSnippet", () => {
  it("shows one job for one grant, in the singular", () => {
    const markdown = grantUsageSnippet([{ secret: "PROD_DB_URL", environment: "production" }]);
    expect(markdown).toMatch(
      /^\*\*Use it in a workflow\*\* — a job that targets the environment can read the secret while the grant lasts:\n\n```yaml\n/,
    );
    const jobs = parseSnippet(markdown);
    expect(Object.keys(jobs)).toEqual(["use-grant"]);
    expectJob(jobs["use-grant"], "production", ["PROD_DB_URL"]);
  });

  it("shows one job per environment, each with its own secrets, in the plural", () => {
    const markdown = grantUsageSnippet([
      { secret: "PROD_DB_URL", environment: "production" },
      { secret: "STAGING_TOKEN", environment: "staging" },
      { secret: "API_TOKEN", environment: "production" },
    ]);
    expect(markdown).toMatch(/^\*\*Use them in a workflow\*\*/);
    expect(markdown).toContain("- run: ./your-script.sh   # reads $PROD_DB_URL, $API_TOKEN\n");
    const jobs = parseSnippet(markdown);
    expect(Object.keys(jobs)).toEqual(["use-grant-production", "use-grant-staging"]);
    expectJob(jobs["use-grant-production"], "production", ["PROD_DB_URL", "API_TOKEN"]);
    expectJob(jobs["use-grant-staging"], "staging", ["STAGING_TOKEN"]);
  });

  it("groups environment names case-insensitively and secret names by their upper-case form, as GitHub does", () => {
    const jobs = parseSnippet(
      grantUsageSnippet([
        { secret: "prod_db_url", environment: "Production" },
        { secret: "PROD_DB_URL", environment: "production" },
      ]),
    );
    expect(Object.keys(jobs)).toEqual(["use-grant"]);
    expectJob(jobs["use-grant"], "Production", ["PROD_DB_URL"]);
  });

  it.each([
    "eu production",
    "prod: west",
    "prod #1",
    'say "hi"',
    "back\\slash",
    "yes",
    "null",
    "123",
    "-leading",
    "deploy/eu",
    "{flow}",
    "[list]",
    "&anchor",
    "*alias",
    "`tick`",
    "Ünïcode",
  ])("writes the environment name %j so that it reads back unchanged", (environment) => {
    const jobs = parseSnippet(grantUsageSnippet([{ secret: "PROD_DB_URL", environment }]));
    expectJob(jobs["use-grant"], environment, ["PROD_DB_URL"]);
  });

  it("gives distinct valid job ids to environments whose names differ only in punctuation", () => {
    const environments = ["eu prod", "eu-prod", "!!!"];
    const jobs = parseSnippet(grantUsageSnippet(environments.map((environment) => ({ secret: "PROD_DB_URL", environment }))));
    expect(Object.keys(jobs)).toEqual(["use-grant-eu-prod", "use-grant-eu-prod-2", "use-grant"]);
    for (const id of Object.keys(jobs)) expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/);
    environments.forEach((environment, index) => {
      expectJob(Object.values(jobs)[index], environment, ["PROD_DB_URL"]);
    });
  });

  it("refers to the action the way the integrator configures it", () => {
    const actionRef = "acme/jit-access/.github/actions/require-grant@v1";
    const jobs = parseSnippet(grantUsageSnippet([{ secret: "PROD_DB_URL", environment: "production" }], { actionRef }));
    expectJob(jobs["use-grant"], "production", ["PROD_DB_URL"], actionRef);
  });

  it("is empty when nothing was granted", () => {
    expect(grantUsageSnippet([])).toBe("");
  });

  it.each([
    [
      { secret: "PROD-DB", environment: "production" },
      'grantUsageSnippet: "PROD-DB" is not a secret name (secret names may contain only letters, digits and _)',
    ],
    [{ secret: "X }}\n  evil: ${{ 1", environment: "production" }, "is not a secret name"],
    [{ secret: "GITHUB_TOKEN", environment: "production" }, "must not start with GITHUB_"],
    [{ secret: "PROD_DB_URL", environment: "" }, 'environment "" is empty'],
    [{ secret: "PROD_DB_URL", environment: "prod\nevil: 1" }, "contains a control character or line break"],
    [{ secret: "PROD_DB_URL", environment: "prod\u2028x" }, "contains a control character or line break"],
    [{ secret: "PROD_DB_URL", environment: "${{ github.token }}" }, "which GitHub would evaluate as an expression"],
  ])("refuses %j", (grant, message) => {
    expect(() => grantUsageSnippet([grant])).toThrow(message);
  });

  it.each(["../elsewhere", "./../elsewhere", "./path with space", "acme/jit-access", "acme/jit-access@v1; rm -rf /", "https://x/y@v1"])(
    "refuses the action reference %j",
    (actionRef) => {
      expect(() => grantUsageSnippet([{ secret: "PROD_DB_URL", environment: "production" }], { actionRef })).toThrow(
        "is neither ./path nor owner/repo/path@ref",
      );
    },
  );
});
