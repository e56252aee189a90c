/**
 * Issue 16, "Make the grant path short": what an approved grant costs on GitHub's side, counted
 * from the simulator's request log. With a small latency on every request (so that requests sent
 * together overlap), the secret's PUT waits on at most three sequential round trips (the pull
 * request and its merge base; every other read at once; the PUT), and a warm grant makes no
 * `GET /repos/{o}/{r}` and reads no public key. Issue 16 asks for at most 12 calls per warm grant,
 * the PR feedback included; the grant needs 17 as the security rules stand (listed in
 * docs/BENCHMARKS.md), and this holds it there. A correctness and cost check: nothing is timed.
 */
import { describe, expect, it } from "@jest/globals";
import { sequentialRoundTrips, type RecordedRequest } from "../../sim/index.js";
import { approve, OWNER, REQUESTER, requestsFile, SECRET_PUT } from "./helpers/request-prs.js";
import { closeStageAfterEach, REPO, stageRequest, type Stage } from "./helpers/scenario.js";
import { CATALOG, VALUE } from "./helpers/sim-app.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const OTHER = "PROD_API_TOKEN";
const TWO_SECRETS = `${CATALOG}  ${OTHER}:
    source: env:${OTHER}
    repositories: ["acme/*"]
    approvers: ["@${OWNER}"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`;

/** The requests from `mark` on that the grant of `secret` made, up to its label; and its PUT. */
async function grantRequests(stage: Stage, pr: number, mark: number): Promise<{ calls: RecordedRequest[]; put: RecordedRequest }> {
  const { app } = stage;
  await app.runUntil(() => app.sim.labels(REPO, pr).includes("jit:granted"), { maxMs: 120_000, what: `the grant of PR #${pr}` });
  await app.settle();
  const calls = app.sim.requests.slice(mark);
  const puts = calls.filter((r) => r.route === SECRET_PUT);
  expect(puts).toHaveLength(1);
  return { calls, put: puts[0]! };
}

function routes(calls: readonly RecordedRequest[]): string[] {
  return calls.map((r) => r.route ?? `${r.method} ${r.path}`).sort();
}

/** Lets 10 s of app time pass, so that GitHub's write pacing (one write a second per installation) holds no PUT that follows. */
async function pastPacing(stage: Stage): Promise<void> {
  const until = stage.app.clock.now() + 10_000;
  await stage.app.runUntil(() => stage.app.clock.now() >= until, { maxMs: 20_000, what: "10 s" });
}

/** Opens a PR asking for OTHER (no delivery: its approval is the first event the app sees). */
function openSecondRequest(stage: Stage, branch: string): Promise<number> {
  const { sim } = stage.app;
  sim.commit(REPO, branch, { "jit-requests.yml": requestsFile([{ secret: OTHER, duration: "1h" }]) }, { from: "main", author: REQUESTER });
  return sim.openPullRequest(REPO, { head: branch, base: "main", author: REQUESTER, title: "token", deliver: false });
}

const STAGE_OPTIONS = {
  catalog: TWO_SECRETS,
  env: { [OTHER]: "api-token-value-for-tests" },
  simulator: { latencyMs: 15, jitterMs: 5, latencySeed: 16 },
};

describe("the grant path (issue 16)", () => {
  it("a warm grant waits on at most 3 sequential round trips before its PUT, and makes at most 17 calls (issue 16 asks for 12)", async () => {
    stage = await stageRequest(STAGE_OPTIONS);
    const { app } = stage;
    // The first grant warms the installation's token (and the environment's key).
    let mark = app.sim.requests.length;
    const first = app.deliver(() => approve(app.sim, REPO, stage!.pr));
    const cold = await grantRequests(stage, stage.pr, mark);
    await first;
    expect(app.sim.secretValue(REPO, "production", "PROD_DB_URL")).toBe(VALUE);

    // A second request in the same repository, whose approval is the first event the app sees.
    const second = await openSecondRequest(stage, "need-token");
    await pastPacing(stage);
    mark = app.sim.requests.length;
    const approval = app.deliver(() => approve(app.sim, REPO, second));
    const warm = await grantRequests(stage, second, mark);
    await approval;
    expect(app.sim.secretValue(REPO, "production", OTHER)).toBe("api-token-value-for-tests");

    const report = {
      cold: { sequential: sequentialRoundTrips(cold.calls, cold.put), calls: routes(cold.calls) },
      warm: { sequential: sequentialRoundTrips(warm.calls, warm.put), calls: routes(warm.calls) },
    };
    console.log(JSON.stringify(report, null, 1));
    expect(report.warm.sequential).toBeLessThanOrEqual(3);
    // Issue 16 asks for 12; what remains above it (17) is listed in docs/BENCHMARKS.md.
    expect(report.warm.calls.length).toBeLessThanOrEqual(17);
    expect(report.warm.calls).not.toContain("GET /repos/{owner}/{repo}");
    expect(report.warm.calls).not.toContain("GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key");
  }, 120_000);

  it("a PUT refused for a rotated key is sealed again for the new key and sent once more; the kept key is replaced", async () => {
    stage = await stageRequest(STAGE_OPTIONS);
    const { app } = stage;
    const first = app.deliver(() => approve(app.sim, REPO, stage!.pr));
    await grantRequests(stage, stage.pr, app.sim.requests.length);
    await first;
    // GitHub rotates the environment's key; the app still keeps the old one.
    const newKeyId = app.sim.rotateEnvironmentKey(REPO, "production");
    const second = await openSecondRequest(stage, "after-rotation");
    const mark = app.sim.requests.length;
    const approval = app.deliver(() => approve(app.sim, REPO, second));
    await app.runUntil(() => app.sim.labels(REPO, second).includes("jit:granted"), { maxMs: 120_000, what: "the second grant" });
    await approval;
    const calls = app.sim.requests.slice(mark);
    const puts = calls.filter((r) => r.route === SECRET_PUT);
    expect(puts.map((r) => r.status)).toEqual([422, 201]);
    expect(calls.filter((r) => /\/secrets\/public-key$/.test(r.path))).toHaveLength(1);
    expect(app.sim.secretValue(REPO, "production", OTHER)).toBe("api-token-value-for-tests");
    expect(app.sim.environment(REPO, "production")?.keyId).toBe(newKeyId);
    const grant = (await app.store.listGrants({ liveOnly: true })).find((g) => g.prNumber === second);
    expect(grant).toMatchObject({ state: "active", secretWrite: "written" });

    // The new key is kept: a third grant (of the secret the first one holds) reads no key.
    app.sim.commit(REPO, "third", { "jit-requests.yml": requestsFile([{ duration: "1h" }]) }, { from: "main", author: REQUESTER });
    const third = await app.sim.openPullRequest(REPO, { head: "third", base: "main", author: REQUESTER, title: "db", deliver: false });
    const mark3 = app.sim.requests.length;
    const approval3 = app.deliver(() => approve(app.sim, REPO, third));
    await app.runUntil(() => app.sim.labels(REPO, third).length > 0, { maxMs: 120_000, what: "the third evaluation" });
    await approval3;
    expect(app.sim.requests.slice(mark3).filter((r) => /\/secrets\/public-key$/.test(r.path))).toHaveLength(0);
  }, 120_000);
});
