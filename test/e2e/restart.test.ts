import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { ensureAppBuilt } from "./helpers/ensure-app-built.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { deletionTimes, grantAudit, ledgerGrants, secretRequests } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

/**
 * The app stops or crashes while a grant is live; a new process on the same data directory
 * must still delete the secret on time: never before the ledger's expiry, and no later than
 * two sweep intervals after it, plus slack for the write pacing (counted from when the new
 * process was up, should a loaded machine start it only after the expiry). A correctness
 * bound, not a performance measurement.
 */
const SLACK_MS = 2_000;

let world: World | undefined;
beforeAll(() => ensureAppBuilt(), WORLD_START_TIMEOUT_MS);
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function requestApprovedByBob(w: World, name: string): Promise<{ repo: string; pr: number; delivery: Promise<string> }> {
  const repo = createRequestRepo(w, name);
  const pr = await openRequest(w, repo, {
    branch: "need-db",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10s" }]) },
  });
  // Not awaited: the process that answers it may be killed mid-way.
  const delivery = w.sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" }).then(
    () => "answered",
    () => "connection lost",
  );
  return { repo, pr, delivery };
}

async function expectDeletedOnTime(w: World, repo: string, pr: number, restartedAt: number, puts = 1): Promise<void> {
  const { sim } = w;
  const [grant] = await ledgerGrants(w, repo, pr);
  const expiresAt = grant!.expiresAt.getTime();
  const deadline = Math.max(expiresAt, restartedAt) + 2 * w.sweepIntervalMs + SLACK_MS;
  await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
    timeoutMs: Math.max(0, deadline - Date.now()) + 5_000,
    description: "the deletion after the restart",
  });
  const deleted = deletionTimes(sim, repo, "PROD_DB_URL");
  expect(deleted).toHaveLength(1);
  expect(deleted[0]).toBeGreaterThanOrEqual(expiresAt);
  expect(deleted[0]).toBeLessThanOrEqual(deadline);
  await sim.waitFor(async () => (await ledgerGrants(w, repo, pr))[0]?.endedAt, { description: "the grant to end in the ledger" });
  expect(await ledgerGrants(w, repo, pr)).toEqual([expect.objectContaining({ state: "expired", endReason: "expired" })]);
  expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(puts);
}

describe("a restart while a grant is live", () => {
  it("graceful stop (SIGTERM) after the grant: the new process deletes the secret on time and tells the PR", async () => {
    world = await startWorld();
    const { sim } = world;
    const { repo, pr, delivery } = await requestApprovedByBob(world, "graceful-restart");
    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_DB_URL,
    );
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:granted"), { timeoutMs: 10_000, description: "the jit:granted label" });
    expect(await delivery).toBe("answered");

    expect(await world.restartApp("SIGTERM")).toBe(0);
    const restartedAt = Date.now();
    expect(world.outputs()[0]).toContain("jit-access stopped (SIGTERM)");
    await expectDeletedOnTime(world, repo, pr, restartedAt);
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:expired"), { timeoutMs: 10_000, description: "the jit:expired label" });
    expect(sim.comments(repo, pr).filter((c) => c.body.startsWith("**Access expired:**"))).toHaveLength(1);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);

  it("crash (SIGKILL) right after the secret was written and recorded active: the new process deletes it on time", async () => {
    world = await startWorld();
    const { sim } = world;
    const { repo, pr, delivery } = await requestApprovedByBob(world, "crash-after-grant");
    await sim.waitFor(async () => (await ledgerGrants(world!, repo, pr))[0]?.state === "active", { description: "the active grant" });
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);

    expect(await world.restartApp("SIGKILL")).toBeNull();
    const restartedAt = Date.now();
    await delivery;
    await expectDeletedOnTime(world, repo, pr, restartedAt);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);

  it("crash (SIGKILL) while the PUT's answer is lost: the new process completes the grant while the approval stands, and deletes it on time", async () => {
    world = await startWorld();
    const { sim } = world;
    // The PUT takes effect but is never answered: the app cannot know the secret was written.
    const lost = sim.faults.add({
      method: "PUT",
      path: /\/environments\/production\/secrets\/PROD_DB_URL$/,
      afterEffect: true,
      hang: true,
    });
    const { repo, pr, delivery } = await requestApprovedByBob(world, "crash-mid-write");
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" });
    expect(sim.faults.fired(lost)).toBe(1);
    const [row] = await ledgerGrants(world, repo, pr);
    expect(row).toMatchObject({ state: "granting", grantedAt: null });

    expect(await world.restartApp("SIGKILL", { whileDown: async () => sim.faults.remove(lost) })).toBeNull();
    const restartedAt = Date.now();
    await delivery;
    // Recorded before the new process started: resumed at its start, its approval standing.
    await sim.waitFor(async () => (await grantAudit(world!, row!.id)).some((a) => a.action === "granted"), {
      timeoutMs: 10_000,
      description: "the resumed grant",
    });
    await sim.waitFor(() => sim.comments(repo, pr).some((c) => c.body.startsWith("**Access granted.**")), {
      timeoutMs: 10_000,
      description: "the grant comment",
    });
    // The first PUT may have landed when the row was written: the expiry is the one the ledger fixed first.
    expect((await ledgerGrants(world, repo, pr))[0]!.expiresAt).toEqual(row!.expiresAt);
    expect((await grantAudit(world, row!.id)).map((a) => a.action)).toEqual(expect.arrayContaining(["granting", "resumed", "granted"]));
    await expectDeletedOnTime(world, repo, pr, restartedAt, 2);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);

  it("crash (SIGKILL) while the PUT's answer is lost, and the head moves while no process runs: the new process deletes the secret at once and tells the PR", async () => {
    world = await startWorld();
    const { sim } = world;
    const lost = sim.faults.add({
      method: "PUT",
      path: /\/environments\/production\/secrets\/PROD_DB_URL$/,
      afterEffect: true,
      hang: true,
    });
    const { repo, pr, delivery } = await requestApprovedByBob(world, "crash-then-push");
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" });
    const [row] = await ledgerGrants(world, repo, pr);
    expect(row).toMatchObject({ state: "granting", grantedAt: null });

    expect(
      await world.restartApp("SIGKILL", {
        whileDown: async () => {
          sim.faults.remove(lost);
          // The synchronize delivery is lost while no process runs.
          await sim.pushToPullRequest(repo, pr, { "notes.md": "one more change\n" }, { deliver: false });
        },
      }),
    ).toBeNull();
    await delivery;
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 10_000,
      description: "the deletion at the new process's start",
    });
    await sim.waitFor(() => sim.comments(repo, pr).some((c) => c.body.startsWith("**Access revoked:**")), {
      timeoutMs: 10_000,
      description: "the comment saying so",
    });
    const [ended] = await ledgerGrants(world, repo, pr);
    expect(ended).toMatchObject({ id: row!.id, state: "revoked" });
    expect(ended!.endedAt!.getTime()).toBeLessThan(row!.expiresAt.getTime());
    const comment = sim.comments(repo, pr).find((c) => c.body.startsWith("**Access revoked:**"))!.body;
    expect(comment).toContain("its write was interrupted, and its approval no longer stands");
    expect(comment).toContain("The secret has been deleted.");
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);
});
