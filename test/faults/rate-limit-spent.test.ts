/**
 * An installation's quota is spent: GitHub answers 403 "API rate limit exceeded" with a reset
 * half an hour off, longer than the pacing waits for. The app holds that installation's requests
 * until the reset instead of sending ones GitHub has said it will refuse, and ends every grant
 * soon after it. The app runs in this process against the simulator, on a clock the test moves.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import { SECRET_DELETE } from "./helpers/request-prs.js";
import { startSimApp, type SimApp } from "./helpers/sim-app.js";
import { createRepos, openQuietPullRequest, seedLedger, type SeedGrant } from "../load/helpers/load-world.js";

let app: SimApp | undefined;
afterEach(async () => {
  expect(app?.sim.violations ?? []).toEqual([]);
  await app?.close();
  app = undefined;
});

const GRANTS = 50;
const RESET_MS = 30 * 60_000;
const INSTALLATION_TOKENS = /\/app\/installations\/\d+\/access_tokens$/;

describe("a spent quota", () => {
  it(`is waited out: ${GRANTS} overdue grants and a 403 with the reset 30 minutes off make one request before the reset, and all end soon after it`, async () => {
    app = await startSimApp({ expiry: false });
    const { sim } = app;
    const [repo] = createRepos(sim, 1, 1);
    const seeds: SeedGrant[] = [];
    for (let n = 0; n < GRANTS; n++) {
      const secret = `OVERDUE_${n}`;
      sim.setSecret(repo!.fullName, "production", secret, `value-of-${secret}`);
      const pr = await openQuietPullRequest(sim, repo!.fullName, `need-access-${n}`, [secret]);
      seeds.push({
        repo: repo!,
        prNumber: pr.number,
        headSha: pr.headSha,
        secret,
        grantedAt: app.clock.now() - 3_600_000 - n * 1000,
        durationMs: 3_600_000,
      });
    }
    await seedLedger(app.databaseUrl!, seeds);

    // Someone spent the installation's quota; GitHub renews it in 30 minutes. (The simulator keeps
    // real time and the app's clock is the test's: the test renews the quota when the app's clock
    // reaches the reset, and the app reckons the reset from the answer's Date header.)
    sim.setRateLimit(repo!.installationId, { limit: 5000, remaining: 0, resetAt: Date.now() + RESET_MS });
    const startedAt = app.clock.monotonic();
    const resetAt = startedAt + RESET_MS;
    const started = app.expiry.start();

    await app.runUntil(() => app!.clock.monotonic() >= resetAt, { stepMs: 5_000, maxMs: RESET_MS, what: "the reset" });
    const beforeReset = app.tracker.requests.filter((r) => !INSTALLATION_TOKENS.test(r.path));
    // One request met the refusal; nothing more was sent until the reset.
    expect(beforeReset.map((r) => [r.method, r.status])).toEqual([["DELETE", 403]]);
    const holding = app.logs.filter((line) => line.includes("holding its writes and reads until then"));
    expect(holding).toHaveLength(1);
    expect((await app.store.listGrants({ liveOnly: true })).length).toBe(GRANTS);

    sim.setRateLimit(repo!.installationId, { limit: 5000, remaining: 5000, resetAt: Date.now() + 3_600_000 });
    await app.runUntil(async () => (await app!.store.listGrants({ liveOnly: true })).length === 0, {
      maxMs: 10 * 60_000,
      what: "every grant to end",
    });
    const grants = await app.store.listGrants({ liveOnly: false });
    expect(grants.every((g) => g.state === "expired")).toBe(true);
    expect(sim.secretNames(repo!.fullName, "production")).toEqual([]);
    // One DELETE a second once the quota is back (the one that met the refusal goes last, after
    // its backoff): the last grant ends within 100 s of the reset, two seconds a grant.
    const lastEnd = Math.max(...grants.map((g) => g.endedAt!.getTime())) - app.clock.now() + app.clock.monotonic();
    expect(lastEnd - resetAt).toBeLessThanOrEqual(2 * GRANTS * 1000);
    expect(sim.requests.filter((r) => r.route === SECRET_DELETE && r.status === 403)).toHaveLength(1);

    // Let the comments and labels go out, so the app stops with nothing in its queues.
    const finished = app.clock.monotonic();
    await app.runUntil(() => app!.writes.pending(String(repo!.installationId)).length === 0 && app!.clock.monotonic() > finished, {
      maxMs: 30 * 60_000,
      stepMs: 5_000,
      what: "the feedback",
    });
    await started;
  }, 120_000);
});
