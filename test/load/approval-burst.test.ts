/**
 * Load: request PRs approved within one second (200 with JIT_LOAD=full; 40 otherwise), in as
 * many repositories of 50 (10) installations, while GitHub answers a secondary rate limit to
 * the first PUT of every fifth installation's repositories. Every request must be granted
 * exactly once — one ledger row, one successful PUT, one comment — the secret written before the
 * cosmetic writes of its installation, and GitHub's pacing and retry-after must hold. The app
 * runs in this process against the simulator, on a clock the test moves.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { approve, countRoute, openRequest, SECRET_PUT } from "../faults/helpers/request-prs.js";
import type { AppRequest } from "../faults/helpers/request-tracker.js";
import { startSimApp, VALUE, type SimApp } from "../faults/helpers/sim-app.js";
import { createRepos, report, scaled, summary } from "./helpers/load-world.js";
import { pacingBreaches, writesByInstallation } from "./helpers/pacing-check.js";

const PRS = scaled(40, 200);
const INSTALLATIONS = scaled(10, 50);
const RETRY_AFTER_S = 2;

let app: SimApp | undefined;
afterAll(async () => app?.close());

describe(`${PRS} request PRs approved within one second`, () => {
  it("are all granted once, secrets first, with GitHub's pacing and retry-after honoured", async () => {
    const realStart = Date.now();
    app = await startSimApp({ logLevel: "warn" });
    const { sim } = app;
    const repos = createRepos(sim, PRS, INSTALLATIONS);
    const installationOf = new Map(repos.map((r) => [r.fullName, r.installationId]));
    // Each PR's number is known once its `opened` delivery is under way; the app answers it only
    // after its paced check run, so the clock must move while the deliveries are outstanding.
    const prs: number[] = [];
    const opened = Promise.all(repos.map((r, i) => app!.deliver(() => openRequest(sim, r.fullName, "2h")).then((n) => (prs[i] = n))));
    const waiting = () => repos.every((r) => sim.checkRuns(r.fullName).length > 0);
    await app.runUntil(waiting, { maxMs: 600_000, what: "the waiting checks" });
    await opened;

    const limited = repos.filter((r) => r.installationId % 5 === 0);
    for (const repo of limited) {
      sim.faults.add({
        method: "PUT",
        path: new RegExp(`^/repos/${repo.fullName}/environments/production/secrets/`),
        status: 403,
        headers: { "retry-after": String(RETRY_AFTER_S) },
        times: 1,
      });
    }
    const approvedAt = app.clock.now();
    const approvals = Promise.all(repos.map((r, i) => app!.deliver(() => approve(sim, r.fullName, prs[i]!))));
    const granted = () => repos.every((r, i) => sim.labels(r.fullName, prs[i]!).includes("jit:granted"));
    const took = await app.runUntil(granted, { maxMs: 3_600_000, what: "every grant" });
    await approvals;

    const grants = await app.store.listGrants({ liveOnly: false });
    expect(grants).toHaveLength(PRS);
    expect(grants.every((g) => g.state === "active")).toBe(true);
    for (const repo of repos) expect(sim.secretValue(repo.fullName, "production", "PROD_DB_URL")).toBe(VALUE);
    expect(countRoute(sim, SECRET_PUT, { ok: true })).toBe(PRS);
    expect(sim.requests.filter((r) => r.route === SECRET_PUT && r.status === 403)).toHaveLength(limited.length);
    for (const [i, repo] of repos.entries()) {
      expect(sim.comments(repo.fullName, prs[i]!).filter((c) => c.body.startsWith("**Access granted.**"))).toHaveLength(1);
    }

    const lanes = writesByInstallation(app.tracker.requests, (repo) => installationOf.get(repo));
    const rateLimitWaitMs = (r: AppRequest) => (r.status === 403 ? RETRY_AFTER_S * 1000 : null);
    expect(pacingBreaches(lanes, { writeMs: 1000, commentMs: 3000, rateLimitWaitMs })).toEqual([]);
    // In every installation each secret was written before any comment or label about the approvals.
    for (const writes of lanes.values()) {
      const approvalWrites = writes.filter((w) => w.at >= approvedAt);
      const lastPut = Math.max(...approvalWrites.filter((w) => w.method === "PUT" && /\/secrets\//.test(w.path)).map((w) => w.at));
      const firstFeedback = Math.min(...approvalWrites.filter((w) => /\/issues\//.test(w.path)).map((w) => w.at));
      expect(lastPut).toBeLessThan(firstFeedback);
    }
    expect(sim.violations).toEqual([]);
    expect(app.logs.join("\n")).not.toContain(VALUE);

    const perInstallation = PRS / INSTALLATIONS;
    const writtenAfter = summary(grants.map((g) => g.grantedAt!.getTime() - approvedAt));
    // Each installation's PUTs one second apart, each limited one later by its retry-after (plus the test's one-second steps).
    expect(writtenAfter.max).toBeLessThanOrEqual(perInstallation * (1000 + RETRY_AFTER_S * 1000) + 1000);
    report(`${PRS} request PRs approved within one second (${INSTALLATIONS} installations, ${limited.length} secondary limits)`, {
      "app time until every PR was granted, commented and labelled": `${Math.round(took / 1000)} s`,
      "secret written after the approval (app time)": `max ${writtenAfter.max / 1000} s, p95 ${writtenAfter.p95 / 1000} s, p50 ${writtenAfter.p50 / 1000} s`,
      "pacing bound, one of these installations": `${perInstallation} s for its PUTs (+${perInstallation * RETRY_AFTER_S} s of retry-after where limited), ${perInstallation * 5} s until its last label`,
      "pacing bound if all were in one installation": `${PRS} s until the last secret is written, ${PRS * 5} s (${((PRS * 5) / 60).toFixed(0)} min) until the last comment and label`,
      "real time": `${((Date.now() - realStart) / 1000).toFixed(1)} s`,
    });
  }, 300_000);
});
