/**
 * A deferred grant and its timers: the expiry timer fires for the expiry the grant has when it
 * fires (not the one it had when armed), the retry comes at the time the PR was told, and the PR
 * hears of the delay once. The app runs in this process against the simulator (helpers/sim-app.ts),
 * on a clock the test moves.
 */
import { describe, expect, it } from "@jest/globals";
import { GRANT_RETRY_MS } from "../../src/grant/grant-requests.js";
import {
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  isDeferred,
  PUBLIC_KEY_PATH,
  REPO,
  requestsTo,
  runUntilGranted,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const FIFTEEN_MINUTES = 15 * 60_000;
const delayedComments = (s: Stage) => commentBodies(s).filter((b) => b.includes("**Access is delayed**"));
/** The retry time a "deferred" comment or reason names ("… try again from 2026-…Z …"). */
const retryTimeIn = (text: string) => Date.parse(/try again from (\S+Z)/.exec(text)![1]!);

describe("a grant deferred by GitHub's failures", () => {
  it("written after its first expiry timer was armed, ends at its new expiry, not the old one", async () => {
    // The expiry scheduler starts once the grant is deferred, so that its sweeps (every minute)
    // fall 50 to 60 s before each whole minute of the grant.
    stage = await stageRequest({ duration: "15m", expiry: false });
    const { app } = stage;
    const fault = app.sim.faults.add({ method: "GET", path: PUBLIC_KEY_PATH, status: 502 });
    const review = approveRequest(stage);
    await app.runUntil(async () => isDeferred(await theGrant(app)), { maxMs: 60_000, what: "the deferral" });
    const approvedAt = (await theGrant(app))!.createdAt.getTime();
    const firstExpiry = (await theGrant(app))!.expiresAt.getTime();
    expect(firstExpiry).toBe(approvedAt + FIFTEEN_MINUTES);
    expect(app.clock.now() - approvedAt).toBeLessThan(10_000);
    const started = app.expiry.start();

    // The sweep 14 minutes in arms the exact timer for the write-ahead expiry, under a minute
    // off. Then GitHub recovers, and the next retry writes the grant before that expiry.
    await app.runUntil(() => app.expiry.armed === 1, { stepMs: 5_000, maxMs: FIFTEEN_MINUTES, what: "the exact timer" });
    await started;
    expect(app.clock.now()).toBeGreaterThanOrEqual(approvedAt + 840_000);
    expect(app.clock.now()).toBeLessThanOrEqual(firstExpiry - 45_000);
    app.sim.faults.remove(fault);
    const recoveredAt = app.clock.now();
    await runUntilGranted(stage);
    const written = (await theGrant(app))!;
    // Written by the first retry after GitHub recovered: within one retry interval of it, give or
    // take the write pacing (one second a write) and the one-second steps the test moves in.
    expect(written.grantedAt!.getTime()).toBeGreaterThan(approvedAt + 840_000);
    expect(written.grantedAt!.getTime()).toBeLessThanOrEqual(recoveredAt + GRANT_RETRY_MS + 5_000);
    expect(written.grantedAt!.getTime()).toBeLessThan(firstExpiry);
    expect(written.expiresAt.getTime()).toBe(written.grantedAt!.getTime() + FIFTEEN_MINUTES);

    // The old expiry passes: the timer armed for it re-reads the grant and waits for the new one.
    await app.runUntil(() => app.clock.now() >= firstExpiry + 5_000, { maxMs: 120_000, what: "the old expiry" });
    expect((await theGrant(app))!.state).toBe("active");
    expect(secretValue(app)).toBeDefined();

    await app.runUntil(async () => (await theGrant(app))?.state === "expired" && app.sim.labels(REPO, stage!.pr).includes("jit:expired"), {
      stepMs: 5_000,
      maxMs: FIFTEEN_MINUTES + 60_000,
      what: "the expiry",
    });
    // Ended at the new expiry, give or take the write pacing (one second a write).
    const endedAt = (await theGrant(app))!.endedAt!.getTime();
    expect(endedAt).toBeGreaterThanOrEqual(written.expiresAt.getTime());
    expect(endedAt).toBeLessThanOrEqual(written.expiresAt.getTime() + 5_000);
    expect(secretValue(app)).toBeUndefined();
    // Some 28 retries met the failure; the PR was told of the delay once, in a comment kept current.
    expect(requestsTo(app, PUBLIC_KEY_PATH, "GET").length).toBeGreaterThan(50);
    expect(delayedComments(stage)).toHaveLength(1);
    await review;
  }, 120_000);

  it("is retried at the time the PR was told, on its own timer, not at the next sweep", async () => {
    stage = await stageRequest({ sweepIntervalMs: 600_000 });
    const { app } = stage;
    const fault = app.sim.faults.add({ method: "GET", path: PUBLIC_KEY_PATH, status: 502 });
    const approvedAt = app.clock.now();
    const review = approveRequest(stage);
    await app.runUntil(() => delayedComments(stage!).length === 1, { maxMs: 60_000, what: "the delay comment" });
    const toldRetryAt = retryTimeIn(delayedComments(stage)[0]!);
    expect(toldRetryAt).toBe((await theGrant(app))!.nextAttemptAt!.getTime());

    // The first retry reads the key at the time the comment named (give or take the one-second
    // steps the test moves the clock in while the evaluation's reads come back).
    const readsBefore = requestsTo(app, PUBLIC_KEY_PATH, "GET").length;
    await app.runUntil(() => requestsTo(app, PUBLIC_KEY_PATH, "GET").length > readsBefore, { maxMs: 60_000, what: "the first retry" });
    const retried = requestsTo(app, PUBLIC_KEY_PATH, "GET")[readsBefore]!;
    expect(retried.at).toBeGreaterThanOrEqual(toldRetryAt);
    expect(retried.at).toBeLessThanOrEqual(toldRetryAt + 10_000);

    // GitHub recovers two minutes in; the next retry writes the grant, eight minutes before the next sweep.
    await app.runUntil(() => app.clock.now() >= approvedAt + 120_000, { maxMs: 180_000, what: "minute 2" });
    app.sim.faults.remove(fault);
    await runUntilGranted(stage);
    expect((await theGrant(app))!.grantedAt!.getTime()).toBeLessThanOrEqual(approvedAt + 120_000 + GRANT_RETRY_MS);
    expect(delayedComments(stage)).toHaveLength(1);
    expect(commentBodies(stage).filter((b) => b.startsWith("**Access granted.**"))).toHaveLength(1);
    await review;
  });
});
