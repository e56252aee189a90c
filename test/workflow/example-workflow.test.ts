import { describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const exampleText = readFileSync(root("docs/examples/use-granted-secret.yml"), "utf8");
const docText = readFileSync(root("docs/workflows.md"), "utf8");

// No GitHub workflow JSON schema is installed, so the keys GitHub requires are checked here.
const stepSchema = z
  .object({
    name: z.string().optional(),
    uses: z.string().optional(),
    run: z.string().optional(),
    with: z.record(z.string(), z.union([z.string(), z.boolean(), z.number()])).optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((step) => (step.uses === undefined) !== (step.run === undefined), "a step has either uses or run");
const jobSchema = z
  .object({
    "runs-on": z.string().optional(),
    environment: z.string().optional(),
    permissions: z.record(z.string(), z.enum(["read", "write", "none"])).optional(),
    steps: z.array(stepSchema).optional(),
    uses: z.string().optional(),
  })
  .strict()
  .refine(
    (job) => (job.uses !== undefined) !== (job["runs-on"] !== undefined && job.steps !== undefined),
    "a job has runs-on and steps, or uses",
  );
const workflowSchema = z
  .object({
    name: z.string().optional(),
    on: z.record(z.string(), z.unknown().nullable()),
    permissions: z.record(z.string(), z.enum(["read", "write", "none"])).optional(),
    jobs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/), jobSchema),
  })
  .strict();

const workflow = workflowSchema.parse(parse(exampleText));
const jobs = Object.values(workflow.jobs);
const REQUIRE_GRANT = /(^\.\/|^[^/]+\/[^/]+\/)\.github\/actions\/require-grant(@.+)?$/;
const secretRefs = (text: string): string[] =>
  [...text.matchAll(/\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}/g)].map((match) => match[1] ?? "");

describe("docs/examples/use-granted-secret.yml", () => {
  it("runs on manual dispatch", () => {
    expect(Object.keys(workflow.on)).toEqual(["workflow_dispatch"]);
  });

  it("has jobs that target an environment with read-only contents permission", () => {
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) {
      expect(job.environment).toBe("production");
      expect(job.permissions).toEqual({ contents: "read" });
    }
  });

  describe.each(Object.entries(workflow.jobs))("job %s", (_id, job) => {
    const steps = job.steps ?? [];
    const requireGrantAt = steps.findIndex((step) => REQUIRE_GRANT.test(step.uses ?? ""));
    const requireGrant = steps[requireGrantAt];
    const names = String(requireGrant?.with?.secrets ?? "")
      .split(/[,\n]/)
      .map((name) => name.trim())
      .filter((name) => name !== "");

    it("checks the grant with require-grant, for the job's own environment", () => {
      expect(requireGrantAt).toBeGreaterThanOrEqual(0);
      expect(requireGrant?.with?.environment).toBe(job.environment);
      expect(names.length).toBeGreaterThan(0);
    });

    it("passes the secret values to require-grant through env, as JIT_SECRET_<NAME>", () => {
      expect(requireGrant?.env).toEqual(Object.fromEntries(names.map((name) => [`JIT_SECRET_${name}`, `\${{ secrets.${name} }}`])));
    });

    it("checks out the repository before using the action by path", () => {
      if (requireGrant?.uses?.startsWith("./")) {
        const checkoutAt = steps.findIndex((step) => step.uses?.startsWith("actions/checkout@"));
        expect(checkoutAt).toBeGreaterThanOrEqual(0);
        expect(checkoutAt).toBeLessThan(requireGrantAt);
        expect(existsSync(root(`${requireGrant.uses.slice(2)}/action.yml`))).toBe(true);
      }
    });

    it("reads secrets only after require-grant, only through env, only ones it checked", () => {
      steps.forEach((step, index) => {
        const inEnv = Object.values(step.env ?? {}).flatMap(secretRefs);
        const elsewhere = [step.run ?? "", ...Object.values(step.with ?? {}).map(String)].flatMap(secretRefs);
        expect(elsewhere).toEqual([]);
        if (index < requireGrantAt) expect(inEnv).toEqual([]);
        for (const name of inEnv) expect(names).toContain(name);
      });
      const users = steps.slice(requireGrantAt + 1).filter((step) => step.run !== undefined && step.env !== undefined);
      expect(users.map((step) => Object.values(step.env ?? {}).flatMap(secretRefs))).toContainEqual(names);
    });

    it("interpolates no expression into a run script", () => {
      for (const step of steps) expect(step.run ?? "").not.toContain("${{");
    });
  });
});

describe("docs/workflows.md", () => {
  const yamlBlocks = [...docText.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "");

  it("shows the complete example exactly as the file has it", () => {
    expect(yamlBlocks).toContain(exampleText);
  });

  it("shows the cross-repository form of the action", () => {
    expect(docText).toContain("uses: OWNER/jit-access/.github/actions/require-grant@v1");
  });

  it.each(yamlBlocks.map((block, index) => [index + 1, block]))("has YAML block %i that parses", (_index, block) => {
    expect(() => {
      parse(String(block));
    }).not.toThrow();
  });
});
