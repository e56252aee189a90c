/**
 * Load: the app starts with many live grants in its ledger (10,000 with JIT_LOAD=full; 500
 * otherwise) in 200 (20) repositories of 50 (5) installations: a tenth expired while it was
 * down (each with a secret of its own, which the start-up sweep must delete), the rest expire over
 * the next hour (10 minutes) and share secrets (five names per repository), so such a secret may
 * only be deleted by the last of its grants to end. Every grant must end, no later than GitHub's
 * per-installation pacing allows; every secret must be deleted exactly once, never while another
 * live grant still uses it; pacing must hold throughout. The app runs in this process against
 * the simulator, on a clock the test moves.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { countRoute, SECRET_DELETE } from "../faults/helpers/request-prs.js";
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
import { pacingBreaches, writesByInstallation } from "./helpers/pacing-check.js";

const REPOS = scaled(20, 200);
const INSTALLATIONS = scaled(5, 50);
const PRS_PER_REPO = scaled(5, 10);
const NAMES = 5;
const GRANTS = REPOS * PRS_PER_REPO * NAMES;
/** One grant in ten expired while the app was down. */
const OVERDUE_EVERY = 10;
const SPREAD_MS = scaled(10, 60) * 60_000;
const SWEEP_INTERVAL_MS = 60_000;
const DURATION_MS = 4 * 3_600_000;

let app: SimApp | undefined;
afterAll(async () => app?.close());

describe(`${GRANTS} live grants at start-up`, () => {
  it("all end within the pacing bound, each shared secret is deleted once by its last grant, and pacing holds", async () => {
    const realStart = Date.now();
    app = await startSimApp({ logLevel: "warn", expiry: false, sweepIntervalMs: SWEEP_INTERVAL_MS });
    const { sim } = app;
    const repos = createRepos(sim, REPOS, INSTALLATIONS);
    const installationOf = new Map(repos.map((r) => [r.fullName, r.installationId]));
    const names = Array.from({ length: NAMES }, (_, k) => `PROD_DB_URL_${k}`);
    const seeds: SeedGrant[] = [];
    for (const repo of repos) {
      for (const name of names) sim.setSecret(repo.fullName, "production", name, `value-of-${name}`);
      for (let p = 0; p < PRS_PER_REPO; p++) {
        const pr = await openQuietPullRequest(sim, repo.fullName, `need-access-${p}`, names);
        for (const shared of names) {
          const n = seeds.length;
          // Spread evenly: an overdue one (a secret of its own, so the start-up sweep must delete
          // it) expired up to 30 minutes before start-up; the rest expire over the spread after it.
          const overdue = n % OVERDUE_EVERY === 0;
          const secret = overdue ? `OVERDUE_${n}` : shared;
          if (overdue) sim.setSecret(repo.fullName, "production", secret, `value-of-${secret}`);
          const expiresAt = overdue ? START - 1000 - ((n * 7919) % 1_800_000) : START + ((n * 104_729) % SPREAD_MS);
          seeds.push({
            repo,
            prNumber: pr.number,
            headSha: pr.headSha,
            secret,
            grantedAt: expiresAt - DURATION_MS,
            durationMs: DURATION_MS,
          });
        }
      }
    }
    await seedLedger(app.databaseUrl!, seeds);

    // Start-up: the first sweep revokes the overdue grants; it finishes only as the paced writes go out.
    const started = app.expiry.start();
    const labelled = successCounter(sim, END_LABELS);
    const took = await app.runUntil(async () => labelled() === GRANTS && (await app!.store.listGrants({ liveOnly: true })).length === 0, {
      maxMs: SPREAD_MS + 3_600_000,
      what: "every grant to end and be reported",
    });
    await started;

    const grants = await app.store.listGrants({ liveOnly: false });
    expect(grants).toHaveLength(GRANTS);
    expect(grants.every((g) => g.state === "expired")).toBe(true);
    for (const repo of repos) expect(sim.secretNames(repo.fullName, "production")).toEqual([]);
    const overdue = seeds.filter((s) => s.grantedAt + s.durationMs < START).length;
    expect(countRoute(sim, SECRET_DELETE, { ok: true })).toBe(REPOS * NAMES + overdue);
    const audit = await app.store.listAudit();
    expect(audit.filter((a) => a.action === "expired")).toHaveLength(GRANTS);
    // Each shared secret was deleted by the last of its grants to end, and by no other.
    const endedAt = new Map(grants.map((g) => [g.id, g.endedAt!.getTime()]));
    for (const repo of repos) {
      for (const name of names) {
        const ends = audit.filter((a) => a.action === "expired" && `${a.owner}/${a.repo}` === repo.fullName && a.secret === name);
        const deleting = ends.filter((a) => a.details?.secretDeleted === true);
        expect(deleting).toHaveLength(1);
        const last = Math.max(...ends.map((a) => endedAt.get(a.grantId!)!));
        expect(endedAt.get(deleting[0]!.grantId!)).toBe(last);
      }
    }

    const lanes = writesByInstallation(app.tracker.requests, (repo) => installationOf.get(repo));
    expect(pacingBreaches(lanes, { writeMs: 1000, commentMs: 3000, rateLimitWaitMs: () => null })).toEqual([]);
    const late = summary(lateness(grants, START));
    const overduePerInstallation = Math.ceil(overdue / INSTALLATIONS);
    const lateOverdue = summary(
      lateness(
        grants.filter((g) => g.expiresAt.getTime() < START),
        START,
      ),
    );
    // No later than the overdue DELETEs of its installation allow (one second each), a long
    // start-up sweep notwithstanding; plus the one-second steps the test moves the clock in.
    expect(late.max).toBeLessThanOrEqual(overduePerInstallation * 1000 + 5000);
    expect(sim.violations).toEqual([]);

    report(`${GRANTS} live grants at start-up (${REPOS} repositories, ${INSTALLATIONS} installations, ${overdue} overdue)`, {
      "overdue grants ended after start-up (app time)": `max ${lateOverdue.max / 1000} s, p50 ${lateOverdue.p50 / 1000} s`,
      "app time until every grant ended and was reported": `${Math.round(took / 1000)} s`,
      "revocation lateness (app time, from expiry or start-up)": `max ${late.max / 1000} s, p95 ${late.p95 / 1000} s, p50 ${late.p50 / 1000} s`,
      "pacing bound, overdue DELETEs of one of these installations": `${overduePerInstallation} s`,
      "pacing bound if all were in one installation": `${overdue} s for the overdue DELETEs; ${(GRANTS * 3) / 60} min for the ${GRANTS} comments`,
      "real time": `${((Date.now() - realStart) / 1000).toFixed(1)} s`,
    });
  }, 600_000);
});
