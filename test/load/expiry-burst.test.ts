/**
 * Load: many grants expiring in the same second (1,000 with JIT_LOAD=full; 200 otherwise),
 * in 200 (40) repositories of 50 (10) installations, while GitHub answers a secondary rate
 * limit to the first DELETE of every fifth installation. Every grant must end, every secret must
 * be deleted exactly once, each installation's DELETEs must all go before its comments and
 * labels, and GitHub's pacing and retry-after must hold throughout. The app runs in this process
 * against the simulator, on a clock the test moves (see test/faults/helpers/sim-app.ts).
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { countRoute, SECRET_DELETE } from "../faults/helpers/request-prs.js";
import type { AppRequest } from "../faults/helpers/request-tracker.js";
import { START, startSimApp, type SimApp } from "../faults/helpers/sim-app.js";
import {
  END_LABELS,
  createRepos,
  lateness,
  openQuietPullRequest,
  report,
  scaled,
  seedLedger,
  successCounter,
  summary,
  type SeedGrant,
} from "./helpers/load-world.js";
import { isComment, pacingBreaches, writesByInstallation } from "./helpers/pacing-check.js";

const REPOS = scaled(40, 200);
const INSTALLATIONS = scaled(10, 50);
const PER_REPO = 5;
const GRANTS = REPOS * PER_REPO;
const RETRY_AFTER_S = 3;
/** All of them granted an hour before START, for an hour and a half: they expire together, 30 min after START. */
const GRANTED_AT = START - 3_600_000;
const DURATION_MS = 5_400_000;
const EXPIRES_AT = GRANTED_AT + DURATION_MS;

let app: SimApp | undefined;
afterAll(async () => app?.close());

describe(`${GRANTS} grants expiring in the same second`, () => {
  it("all end, each secret is deleted once, DELETEs go first in every installation, and pacing holds", async () => {
    const realStart = Date.now();
    app = await startSimApp({ logLevel: "warn", expiry: false });
    const { sim } = app;
    const repos = createRepos(sim, REPOS, INSTALLATIONS);
    const installationOf = new Map(repos.map((r) => [r.fullName, r.installationId]));
    const secrets = Array.from({ length: PER_REPO }, (_, k) => `PROD_DB_URL_${k}`);
    const seeds: SeedGrant[] = [];
    for (const repo of repos) {
      const pr = await openQuietPullRequest(sim, repo.fullName, "need-access", secrets);
      for (const secret of secrets) {
        sim.setSecret(repo.fullName, "production", secret, `value-of-${secret}`);
        seeds.push({ repo, prNumber: pr.number, headSha: pr.headSha, secret, grantedAt: GRANTED_AT, durationMs: DURATION_MS });
      }
    }
    await seedLedger(app.databaseUrl!, seeds);
    // This test measures the expiry burst: the reminders before it (ten minutes earlier) were sent.
    for (const grant of await app.store.listGrants({ liveOnly: true }))
      await app.store.recordReminder(grant.id, new Date(EXPIRES_AT - 600_000));
    const limited = repos.filter((r) => r.installationId % 5 === 0);
    for (const repo of limited) {
      sim.faults.add({
        method: "DELETE",
        path: new RegExp(`^/repos/${repo.fullName}/environments/production/secrets/`),
        status: 403,
        headers: { "retry-after": String(RETRY_AFTER_S) },
        times: 1,
      });
    }
    await app.expiry.start();

    // Up to the second before the expiry, then on until everything has ended and been reported.
    await app.clock.advance(EXPIRES_AT - 1000 - app.clock.now());
    const labelled = successCounter(sim, END_LABELS);
    // One expiry comment a grant, counted by its text.
    const pulls = [...new Map(seeds.map((seed) => [`${seed.repo.fullName}#${seed.prNumber}`, seed])).values()];
    const expiryComments = (): number =>
      pulls.reduce(
        (n, seed) => n + sim.comments(seed.repo.fullName, seed.prNumber).filter((c) => c.body.includes("Access expired")).length,
        0,
      );
    const took = await app.runUntil(
      async () => expiryComments() === GRANTS && labelled() === GRANTS && (await app!.store.listGrants({ liveOnly: true })).length === 0,
      {
        maxMs: 3_600_000,
        what: "every grant to end and be reported",
      },
    );

    const grants = await app.store.listGrants({ liveOnly: false });
    expect(grants).toHaveLength(GRANTS);
    expect(grants.every((g) => g.state === "expired")).toBe(true);
    for (const repo of repos) expect(sim.secretNames(repo.fullName, "production")).toEqual([]);
    expect(countRoute(sim, SECRET_DELETE, { ok: true })).toBe(GRANTS);
    expect(sim.requests.filter((r) => r.route === SECRET_DELETE && r.status === 403)).toHaveLength(limited.length);
    expect((await app.store.listAudit()).filter((a) => a.action === "expired")).toHaveLength(GRANTS);

    const lanes = writesByInstallation(app.tracker.requests, (repo) => installationOf.get(repo));
    const rateLimitWaitMs = (r: AppRequest) => (r.status === 403 ? RETRY_AFTER_S * 1000 : null);
    expect(pacingBreaches(lanes, { writeMs: 1000, commentMs: 3000, rateLimitWaitMs })).toEqual([]);
    for (const writes of lanes.values()) {
      const lastDelete = Math.max(...writes.filter((w) => w.method === "DELETE" && /\/secrets\//.test(w.path)).map((w) => w.at));
      const firstFeedback = Math.min(...writes.filter((w) => isComment(w) || /\/labels/.test(w.path)).map((w) => w.at));
      expect(lastDelete).toBeLessThan(firstFeedback);
    }
    const perInstallation = GRANTS / INSTALLATIONS;
    const late = summary(lateness(grants, 0));
    // Paced DELETEs: one second per grant of the installation, plus a retry-after per limited repository in it.
    const reposPerInstallation = REPOS / INSTALLATIONS;
    expect(late.max).toBeLessThanOrEqual(perInstallation * 1000 + reposPerInstallation * RETRY_AFTER_S * 1000);
    expect(sim.violations).toEqual([]);

    report(
      `${GRANTS} grants expiring in the same second (${REPOS} repositories, ${INSTALLATIONS} installations, ${limited.length} secondary limits)`,
      {
        "app time until every grant ended and was reported": `${Math.round(took / 1000)} s`,
        "revocation lateness (app time)": `max ${late.max / 1000} s, p95 ${late.p95 / 1000} s, p50 ${late.p50 / 1000} s`,
        "pacing bound, DELETEs of one of these installations": `${perInstallation} s (+${reposPerInstallation * RETRY_AFTER_S} s of retry-after where limited)`,
        "pacing bound if all were in one installation": `${GRANTS} s for the DELETEs, then ${(GRANTS * 3000) / 1000} s for the comments`,
        "real time": `${((Date.now() - realStart) / 1000).toFixed(1)} s`,
      },
    );
  }, 300_000);
});
