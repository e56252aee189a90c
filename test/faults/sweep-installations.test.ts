/**
 * One sweep over overdue grants in three installations: one deleted (uninstalled), one
 * suspended, one healthy. The healthy installation's grant ends; the others cannot be reached,
 * stay live and due with backoff, each failure audited; and the sweep itself runs to the end
 * and reports them rather than failing as a whole. The app runs in this process against the
 * simulator, on a clock the test moves.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import type { Grant } from "../../src/ledger/store.js";
import { sweepOnce, type SweepResult } from "../../src/revoke/sweep.js";
import { revokeBackoffMs } from "../../src/revoke/revoke-grant.js";
import { createRepos, openQuietPullRequest, seedLedger, type SeedGrant } from "../load/helpers/load-world.js";
import { startSimApp, type SimApp } from "./helpers/sim-app.js";

let app: SimApp | undefined;
afterEach(async () => {
  expect(app?.sim.violations ?? []).toEqual([]);
  await app?.close();
  app = undefined;
});

const SECRET = "PROD_DB_URL";
const VALUE = "postgres://app:sweep-test-Pa55w0rd@db.internal:5432/prod";

/** Runs one sweep on the app's clock; resolves with its result, or the error it failed with. */
async function sweep(current: SimApp): Promise<SweepResult | { failed: unknown }> {
  let outcome: SweepResult | { failed: unknown } | undefined;
  void sweepOnce(current.deps, current.log).then(
    (result) => (outcome = result),
    (error: unknown) => (outcome = { failed: error }),
  );
  await current.runUntil(() => outcome !== undefined, { maxMs: 120_000, what: "the sweep" });
  return outcome!;
}

describe("a sweep across installations, one deleted and one suspended", () => {
  it("ends the healthy installation's grant; the others stay due with backoff, audited; the sweep does not fail", async () => {
    app = await startSimApp({ expiry: false });
    const { sim, clock } = app;
    const [deleted, suspended, healthy] = createRepos(sim, 3, 3) as [
      ReturnType<typeof createRepos>[number],
      ReturnType<typeof createRepos>[number],
      ReturnType<typeof createRepos>[number],
    ];
    const seeds: SeedGrant[] = [];
    for (const repo of [deleted, suspended, healthy]) {
      sim.setSecret(repo.fullName, "production", SECRET, VALUE);
      const pr = await openQuietPullRequest(sim, repo.fullName, "need-access", [SECRET]);
      // Written two hours ago for one hour: overdue.
      seeds.push({
        repo,
        prNumber: pr.number,
        headSha: pr.headSha,
        secret: SECRET,
        grantedAt: clock.now() - 7_200_000,
        durationMs: 3_600_000,
      });
    }
    await seedLedger(app.databaseUrl!, seeds);
    sim.deleteInstallation(deleted.installationId);
    sim.suspendInstallation(suspended.installationId, { by: "load-admin" });

    const sweptAt = clock.now();
    const result = await sweep(app);
    expect(result).toEqual({ due: 3, ended: 1, retrying: 2 });

    const grants = new Map((await app.store.listGrants({ liveOnly: false })).map((g) => [`${g.owner}/${g.repo}`, g]));
    const grantOf = (repo: { fullName: string }): Grant => grants.get(repo.fullName)!;
    expect(grantOf(healthy)).toMatchObject({ state: "expired", endReason: "expired" });
    expect(sim.secretValue(healthy.fullName, "production", SECRET)).toBeUndefined();

    for (const repo of [deleted, suspended]) {
      const grant = grantOf(repo);
      expect(grant).toMatchObject({ state: "active", endedAt: null, revokeAttempts: 1 });
      expect(grant.lastError).toMatch(repo === deleted ? `the app cannot reach ${deleted.fullName}` : /installation has been suspended/);
      // Backed off, not dropped: due again after the first backoff, not before.
      expect(grant.nextAttemptAt!.getTime()).toBeGreaterThanOrEqual(sweptAt + revokeBackoffMs(1));
      expect(sim.secretValue(repo.fullName, "production", SECRET)).toBe(VALUE);
      const audit = (await app.store.listAudit()).filter((a) => a.grantId === grant.id).map((a) => a.action);
      expect(audit).toContain("revoke_failed");
      expect(audit).not.toContain("expired");
    }

    // A sweep before the backoff is over leaves them alone; one after it tries them again. The
    // first is run without moving the app's clock (it has nothing to write): stepping the clock
    // while it reads could carry it past the backoff.
    const retryAt = Math.min(...[deleted, suspended].map((repo) => grantOf(repo).nextAttemptAt!.getTime()));
    expect(clock.now()).toBeLessThan(retryAt);
    expect(await sweepOnce(app.deps, app.log)).toEqual({ due: 0, ended: 0, retrying: 0 });
    await clock.advance(revokeBackoffMs(1));
    expect(await sweep(app)).toEqual({ due: 2, ended: 0, retrying: 2 });
    for (const repo of [deleted, suspended]) {
      const grant = (await app.store.listGrants({ liveOnly: true })).find((g) => g.repo === repo.fullName.split("/")[1])!;
      expect(grant).toMatchObject({ state: "active", revokeAttempts: 2 });
    }
    // No value anywhere the app writes or logs.
    expect(app.logs.join("\n")).not.toContain(VALUE);
  });
});
