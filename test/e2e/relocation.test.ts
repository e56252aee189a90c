import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { runCli } from "./helpers/cli-process.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { grantAudit, ledgerGrantsByRepositoryId } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest, renameRequestRepo, transferRequestRepo } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";
import type { Grant } from "../../src/ledger/store.js";

/**
 * A grant belongs to the repository it was made in, by GitHub's id, whatever that repository is
 * called later and whichever installation covers it: against the app as a real process and, for
 * a sweep, the CLI as another process on the same ledger. A repository transferred to an owner
 * the app is installed on has its grants end there, at expiry and when the PR is closed; one
 * transferred where the app cannot follow keeps its grant due; and a new repository under the old
 * name of a renamed one never makes its 404 (or its own secret) count for the renamed one's.
 *
 * The app's periodic sweep is set far out (10 minutes), so that grants end by their exact timers,
 * by events, or by the sweep a test runs from the CLI.
 */
let world: World;
beforeAll(async () => {
  world = await startWorld({ sweepIntervalSeconds: 600 });
  world.sim.createTeam("acme", "dba", []);
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

const WAIT = { timeoutMs: 20_000 };
/** The installation of the app on `beta`, the owner repositories are transferred to. */
const BETA_INSTALLATION = 9_301;
/** Another team's secret of the same name, in a repository that is not the grant's. */
const THEIRS = "theirs-not-a-grant";

/** Opens a request for PROD_DB_URL in acme/<name>, has bob approve it, and waits until the grant is active. */
async function grantedRequest(name: string, duration: string): Promise<{ repo: string; pr: number; id: number; grant: Grant }> {
  const { sim } = world;
  const repo = createRequestRepo(world, name);
  const pr = await openRequest(world, repo, {
    branch: "need-db",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration }]) },
  });
  await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
  const id = sim.repository(repo)!.id;
  const [grant] = await sim.waitFor(
    async () => {
      const grants = await ledgerGrantsByRepositoryId(world, id, pr);
      return grants.length === 1 && grants[0]!.state === "active" && sim.labels(repo, pr).includes("jit:granted") ? grants : null;
    },
    { ...WAIT, description: "the active grant" },
  );
  expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
  return { repo, pr, id, grant: grant! };
}

async function waitForEnd(id: number, pr: number, state: "expired" | "revoked", timeoutMs = 40_000): Promise<Grant> {
  const [ended] = await world.sim.waitFor(
    async () => {
      const grants = await ledgerGrantsByRepositoryId(world, id, pr);
      return grants[0]?.state === state ? grants : null;
    },
    { timeoutMs, intervalMs: 100, description: `the grant to be ${state}` },
  );
  return ended!;
}

/** DELETEs of PROD_DB_URL the app sent, as [path, status]. */
function secretDeletes(): [string, number][] {
  return world.sim.requests
    .filter((r) => r.method === "DELETE" && /\/environments\/production\/secrets\/PROD_DB_URL$/.test(r.path))
    .map((r) => [r.path, r.status]);
}

function expectCleanWorld(): void {
  expect(world.sim.violations).toEqual([]);
  expect(secretExposures(world)).toEqual([]);
}

describe("a repository transferred to an owner the app is installed on", () => {
  it("its grant ends at expiry there: the secret is deleted in the repository under its new owner", async () => {
    const { sim } = world;
    const { repo, pr, id, grant } = await grantedRequest("moved-before-expiry", "15s");
    const moved = transferRequestRepo(world, repo, "beta", BETA_INSTALLATION);
    expect(moved).toBe("beta/moved-before-expiry");

    const ended = await waitForEnd(id, pr, "expired");
    expect(ended).toMatchObject({ id: grant.id, endReason: "expired" });
    // Recorded ended only once the secret is gone from the repository the grant was made in.
    expect(sim.secretValue(moved, "production", "PROD_DB_URL")).toBeUndefined();
    expect(secretDeletes()).toContainEqual([`/repos/${moved}/environments/production/secrets/PROD_DB_URL`, 204]);
    expect((await grantAudit(world, grant.id)).map((a) => a.action)).not.toContain("revoke_failed");
    await sim.waitFor(() => sim.comments(moved, pr).find((c) => c.body.startsWith("**Access expired:**")), {
      ...WAIT,
      description: "the expiry comment on the moved repository",
    });
    expectCleanWorld();
  }, 90_000);

  it("closing the PR there (the webhook comes from the new owner's installation) revokes at once", async () => {
    const { sim } = world;
    const { repo, pr, id, grant } = await grantedRequest("moved-then-closed", "1h");
    const moved = transferRequestRepo(world, repo, "beta", BETA_INSTALLATION);

    await sim.closePullRequest(moved, pr, { merged: false, by: "alice" });
    const delivered = JSON.parse(sim.lastDelivery!.body) as { repository: { full_name: string }; installation: { id: number } };
    expect(delivered).toMatchObject({ repository: { full_name: moved }, installation: { id: BETA_INSTALLATION } });
    const ended = await waitForEnd(id, pr, "revoked", WAIT.timeoutMs);
    expect(ended).toMatchObject({ id: grant.id, endReason: "pull request closed without merging" });
    expect(sim.secretValue(moved, "production", "PROD_DB_URL")).toBeUndefined();
    expect(secretDeletes()).toContainEqual([`/repos/${moved}/environments/production/secrets/PROD_DB_URL`, 204]);
    expectCleanWorld();
  }, 60_000);
});

describe("a repository transferred to an owner the app is not installed on", () => {
  it("its grant stays due (revoke_failed, `jit-access sweep` exits 1 naming it); once the app is installed there, it ends", async () => {
    const { sim } = world;
    const { repo, pr, id, grant } = await grantedRequest("moved-out-of-reach", "15s");
    const moved = transferRequestRepo(world, repo, "gamma", null);

    const failed = await sim.waitFor(async () => (await grantAudit(world, grant.id)).find((a) => a.action === "revoke_failed"), {
      timeoutMs: 40_000,
      intervalMs: 100,
      description: "the failed revocation at expiry",
    });
    expect(String(failed.details?.error)).toContain(`the app cannot reach ${repo}`);
    const [due] = await ledgerGrantsByRepositoryId(world, id, pr);
    expect(due).toMatchObject({ id: grant.id, state: "active", endedAt: null });
    expect(sim.secretValue(moved, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
    expect((await grantAudit(world, grant.id)).map((a) => a.action)).not.toContain("expired");

    const stuck = await runCli(world, ["sweep"]);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain(`still due: grant ${grant.id} ${repo} production PROD_DB_URL`);
    expect(stuck.stderr).toContain(`the app cannot reach ${repo}`);

    // The owner installs the app: the next attempt after the backoff finds the repository there.
    sim.setInstallation(moved, 9_401);
    const backoff = (await ledgerGrantsByRepositoryId(world, id, pr))[0]!.nextAttemptAt!.getTime();
    await waitForEnd(id, pr, "expired", Math.max(0, backoff - Date.now()) + 30_000);
    expect(sim.secretValue(moved, "production", "PROD_DB_URL")).toBeUndefined();
    const swept = await runCli(world, ["sweep"]);
    expect(swept.stderr).not.toContain(`still due: grant ${grant.id}`);
    expect(swept.code).toBe(0);
    expectCleanWorld();
  }, 150_000);
});

describe("a renamed repository whose old name a new repository takes", () => {
  it("the grant is never recorded ended while its secret is there, and ends with the secret deleted in the renamed repository", async () => {
    const { sim } = world;
    const { repo, pr, id, grant } = await grantedRequest("named-first", "15s");
    const renamed = renameRequestRepo(world, repo, "named-second");
    // Someone creates a repository under the old name, with a production environment and a
    // secret of the same name that belongs to them.
    const squatter = sim.createRepo(repo, { environments: ["production"] });
    expect(squatter.id).not.toBe(id);
    sim.setSecret(repo, "production", "PROD_DB_URL", THEIRS);

    const ended = await waitForEnd(id, pr, "expired");
    expect(ended).toMatchObject({ id: grant.id, endReason: "expired" });
    expect(sim.secretValue(renamed, "production", "PROD_DB_URL")).toBeUndefined();
    // The repository under the old name is not the grant's: nothing of it was touched.
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(THEIRS);
    expect(secretDeletes()).toContainEqual([`/repos/${renamed}/environments/production/secrets/PROD_DB_URL`, 204]);
    expect(secretDeletes().filter(([path]) => path.startsWith(`/repos/${repo}/`))).toEqual([]);
    await sim.waitFor(() => sim.comments(renamed, pr).find((c) => c.body.startsWith("**Access expired:**")), {
      ...WAIT,
      description: "the expiry comment on the renamed repository",
    });
    expectCleanWorld();
  }, 90_000);
});
