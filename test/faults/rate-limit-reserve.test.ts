import { afterEach, describe, expect, it } from "@jest/globals";
import {
  approveRequest,
  INSTALLATION,
  latestCheck,
  REPO,
  requestsTo,
  runUntilGranted,
  secretValue,
  SECRET_PATH,
  stageRequest,
  type Stage,
} from "./helpers/scenario.js";

let stage: Stage | null = null;
afterEach(async () => {
  await stage?.app.close();
  stage = null;
});

describe("a reserve of the rate limit is kept for revocations", () => {
  it("when the installation is nearly out of requests, a due revocation goes out and a new evaluation waits for the reset", async () => {
    stage = await stageRequest({ duration: "2m" });
    const { app, pr } = stage;
    await approveRequest(stage);
    await runUntilGranted(stage);
    expect(secretValue(app)).toBeDefined();

    // Someone spent the installation's budget: 1% left, renewed in 30 minutes (the simulator
    // keeps real time; the app's clock is the test's, so the reset is reckoned from now on each).
    app.sim.setRateLimit(INSTALLATION, { limit: 5000, remaining: 50, resetAt: Date.now() + 30 * 60_000 });
    const resetAt = app.clock.now() + 30 * 60_000;

    // The grant falls due: its DELETE is not held back.
    await app.runUntil(() => secretValue(app) === undefined, { maxMs: 5 * 60_000, what: "the revocation" });
    expect(requestsTo(app, SECRET_PATH, "DELETE")).toHaveLength(1);

    // A push now: the evaluation waits for the reset instead of spending the reserve.
    const pushed = app.deliver(() => app.sim.pushToPullRequest(REPO, pr, { "NOTES.md": "more context\n" }));
    const head = app.sim.pullRequest(REPO, pr).headSha;
    const checksOnHead = () => app.sim.checkRuns(REPO, { headSha: head, name: "jit-access" }).length;
    await app.runUntil(() => app.clock.now() >= resetAt - 60_000, {
      stepMs: 30_000,
      maxMs: 31 * 60_000,
      what: "a minute before the reset",
    });
    expect(checksOnHead()).toBe(0);
    expect(app.logs.some((line) => line.includes("new evaluations wait for the reset"))).toBe(true);

    await app.runUntil(() => checksOnHead() > 0, { maxMs: 5 * 60_000, what: "the evaluation after the reset" });
    expect(latestCheck(stage)).toBeDefined();
    await pushed;
  });
});
