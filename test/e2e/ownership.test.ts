/**
 * The app owns only what it wrote (issue 21 §2), against the real `dist/main.js` and
 * `dist/cli.js`: an administrator's secret of a catalog name is never overwritten by a grant,
 * never deleted at that grant's end, and never deleted by `jit-access reconcile`. GitHub never
 * returns a secret's value, so either would be beyond undoing.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { runCli } from "./helpers/cli-process.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { grantAudit, ledgerGrants, secretRequests, waitForCheck } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

const ADMIN_VALUE = "set-by-hand-in-the-settings-page";
/** reconcile needs the app's catalog: the file sim/app-process.ts writes into the data directory. */
const withCatalog = () => ({ env: { JIT_CATALOG: join(world.dataDir, "jit-catalog.yml") } });
const REFUSAL =
  "a secret named PROD_DB_URL already exists in production and is not managed by jit-access; remove it or rename the catalog entry";

describe("a secret an administrator created by hand", () => {
  it("is left alone by reconcile, refused to a grant, and still there with its value after the grant's time", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "admin-owned");
    sim.setSecret(repo, "production", "PROD_DB_URL", ADMIN_VALUE);

    // No grant at all: reconcile lists it as unmanaged and deletes nothing, in a dry run and not.
    for (const args of [["reconcile", "--dry-run"], ["reconcile"]]) {
      const run = await runCli(world, args, withCatalog());
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `unmanaged, left alone: ${repo} production PROD_DB_URL (jit-access has no record of writing it; updated `,
      );
      expect(run.stdout).not.toContain(`delete ${repo}`);
      expect(run.stdout).toMatch(/, 0 (would be )?deleted.*, 1 unmanaged left alone\n$/);
    }
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(ADMIN_VALUE);

    // A grant of the same name is refused, and says why on the PR.
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10s" }]) },
    });
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    const check = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "failure", "the refused grant's check run");
    expect(check.output.title).toBe("Access could not be granted");
    expect(check.output.summary).toContain(REFUSAL);
    const comment = await sim.waitFor(() => sim.comments(repo, pr).find((c) => c.body.startsWith("**Access could not be granted**")), {
      description: "the refusal on the PR",
    });
    expect(comment.body).toContain(REFUSAL);
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ state: "failed", endReason: REFUSAL, secretWrite: "none", secretUpdatedAt: null });
    expect((await grantAudit(world, grant!.id)).map((event) => [event.action, event.details?.why])).toEqual([
      ["granting", undefined],
      ["failed", REFUSAL],
    ]);

    // Past the grant's time and a few sweeps: never written, never deleted.
    await new Promise((resolve) => setTimeout(resolve, 10_000 + 3 * world.sweepIntervalMs));
    expect(secretRequests(sim, repo, "PUT")).toEqual([]);
    expect(secretRequests(sim, repo, "DELETE")).toEqual([]);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(ADMIN_VALUE);

    const after = await runCli(world, ["reconcile"], withCatalog());
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`unmanaged, left alone: ${repo} production PROD_DB_URL`);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(ADMIN_VALUE);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 90_000);
});
