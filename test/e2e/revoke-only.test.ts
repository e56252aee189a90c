import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { runCli } from "./helpers/cli-process.js";
import { ensureAppBuilt } from "./helpers/ensure-app-built.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { appLogLines, deletionTimes, ledgerGrants, reviewAndWaitForCheck, secretRequests } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

/**
 * Revocation never depends on the catalog. A grant is live; the app is restarted with a catalog
 * that fails to load (as after a bad edit or a broken ConfigMap): the server starts revoke-only,
 * deletes the secret on time, refuses a new approval with a message on the PR, and says why on
 * `/readyz` and in its log at every sweep interval. With the server down, `jit-access sweep`
 * given the same broken catalog revokes too. Before, the server refused to start and the sweep
 * exited 2, so the secret outlived its grant.
 */
const SLACK_MS = 2_000;
/** A `max_duration` that is not a duration: the loader refuses the whole catalog. */
const BROKEN_CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: forever
`;
const REVOKE_ONLY_LOG =
  "the catalog failed to load: running revoke-only (grants end on time; nothing is granted and deferred grants are not retried until the catalog is fixed and the app restarted)";

let world: World | undefined;
beforeAll(() => ensureAppBuilt(), WORLD_START_TIMEOUT_MS);
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A PROD_DB_URL grant for `duration`, approved by bob, written and labelled. */
async function liveGrant(w: World, name: string, duration: string): Promise<{ repo: string; pr: number }> {
  const { sim } = w;
  const repo = createRequestRepo(w, name);
  const pr = await openRequest(w, repo, {
    branch: "need-db",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration }]) },
  });
  await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
  await sim.waitFor(() => sim.labels(repo, pr).includes("jit:granted"), { timeoutMs: 10_000, description: "the jit:granted label" });
  expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
  return { repo, pr };
}

async function expectDeletedOnTime(w: World, repo: string, pr: number, since: number): Promise<void> {
  const { sim } = w;
  const [grant] = await ledgerGrants(w, repo, pr);
  const expiresAt = grant!.expiresAt.getTime();
  const deadline = Math.max(expiresAt, since) + 2 * w.sweepIntervalMs + SLACK_MS;
  await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
    timeoutMs: Math.max(0, deadline - Date.now()) + 5_000,
    description: "the deletion",
  });
  const deleted = deletionTimes(sim, repo, "PROD_DB_URL");
  expect(deleted).toHaveLength(1);
  expect(deleted[0]).toBeGreaterThanOrEqual(expiresAt);
  expect(deleted[0]).toBeLessThanOrEqual(deadline);
  await sim.waitFor(async () => (await ledgerGrants(w, repo, pr))[0]?.endedAt, { description: "the grant to end in the ledger" });
  expect(await ledgerGrants(w, repo, pr)).toEqual([expect.objectContaining({ state: "expired", endReason: "expired" })]);
}

describe("the catalog fails to load while a grant is live", () => {
  it("the restarted server runs revoke-only: the secret is deleted on time, a new approval is refused with the message, /readyz and the log say why", async () => {
    world = await startWorld();
    const { sim } = world;
    const { repo, pr } = await liveGrant(world, "revoke-only", "15s");

    expect(await world.restartApp("SIGTERM", { catalog: BROKEN_CATALOG })).toBe(0);
    const restartedAt = Date.now();

    const started = await sim.waitFor(
      () => appLogLines(world!).find((line) => line.msg.startsWith("jit-access started revoke-only")) ?? null,
      {
        timeoutMs: 10_000,
        description: "the start-up line",
      },
    );
    expect(started).toMatchObject({ revokeOnly: true, secrets: 0 });
    const readyz = await fetch(`${world.app.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ ready: false, reasons: [expect.objectContaining({ code: "revoke-only" })] });
    expect((await fetch(`${world.app.url}/healthz`)).status).toBe(200);

    // A new request, approved by its code owner: refused with the message, nothing written.
    const other = createRequestRepo(world, "after-the-restart");
    const asking = await openRequest(world, other, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "1h" }]) },
    });
    const check = await reviewAndWaitForCheck(sim, other, asking, { reviewer: "bob", state: "APPROVED" });
    expect(check).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { title: "Nothing can be granted: the operator catalog is invalid" },
    });
    expect(check.output.summary).toContain("it grants nothing until an operator fixes the catalog. Grants already made still end on time.");
    expect(JSON.stringify(check.output)).not.toContain("forever"); // the catalog's error stays in the operator's log
    expect(secretRequests(sim, other, "PUT")).toEqual([]);
    expect(await ledgerGrants(world, other)).toEqual([]);

    await expectDeletedOnTime(world, repo, pr, restartedAt);
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:expired"), { timeoutMs: 10_000, description: "the jit:expired label" });
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);

    // The catalog's error, at error level, at start and at every sweep interval since.
    const errors = appLogLines(world).filter((line) => line.msg === REVOKE_ONLY_LOG);
    expect(errors.length).toBeGreaterThanOrEqual(Math.floor((Date.now() - restartedAt) / world.sweepIntervalMs) - 1);
    expect(errors.every((line) => line.level === 50 && String(line.catalogError).includes("secrets.PROD_DB_URL.max_duration"))).toBe(true);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 90_000);

  it("with the server down, `jit-access sweep` given the broken catalog still revokes, says the retries were skipped, and exits 1", async () => {
    world = await startWorld();
    const { sim } = world;
    const { repo, pr } = await liveGrant(world, "sweep-without-catalog", "5s");
    await world.app.stop("SIGTERM");
    const [grant] = await ledgerGrants(world, repo, pr);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, grant!.expiresAt.getTime() - Date.now()) + 100));
    const catalogPath = join(world.dataDir, "broken-catalog.yml");
    writeFileSync(catalogPath, BROKEN_CATALOG);

    const swept = await runCli(world, ["sweep"], { env: { JIT_CATALOG: catalogPath } });

    expect(swept.code).toBe(1);
    expect(swept.stdout).toBe("swept: 1 due, 1 ended, 0 still due\n");
    expect(swept.stderr).toContain(
      "jit-access sweep: the catalog (JIT_CATALOG) could not be loaded, so 0 deferred grants waiting for a retry were not retried (revoking does not need the catalog; the sweep above ran in full):",
    );
    expect(swept.stderr).toContain(`${catalogPath}:7:19: secrets.PROD_DB_URL.max_duration`);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBeUndefined();
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "expired", endReason: "expired" })]);
    expect(sim.violations).toEqual([]);
  }, 90_000);
});
