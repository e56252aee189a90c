/**
 * GitHub failing while a grant is written: server errors, rate limits, a request that never
 * answers, a refused token, an environment deleted mid-way. The app runs in this process
 * against the simulator (helpers/sim-app.ts), on a clock the test moves.
 */
import { describe, expect, it } from "@jest/globals";
import type { FaultSpec } from "../../sim/index.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../src/github/request-timeout.js";
import { GRANT_RETRY_MS } from "../../src/grant/grant-requests.js";
import { countRoute, SECRET_PUT } from "./helpers/request-prs.js";
import {
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  ENVIRONMENT,
  expectNoValueLeaked,
  hungAt,
  INSTALLATION,
  isDeferred,
  latestCheck,
  PUBLIC_KEY_PATH,
  REPO,
  requestsTo,
  runUntilGranted,
  SECRET_PATH,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

/** Runs until the grant is deferred and the PR has been told. */
async function runUntilDeferred(s: Stage, ignore?: Parameters<Stage["app"]["runUntil"]>[1]["ignore"]): Promise<void> {
  await s.app.runUntil(async () => isDeferred(await theGrant(s.app)) && commentBodies(s).some((b) => b.includes("**Access is delayed**")), {
    maxMs: 300_000,
    what: "the deferral",
    ...(ignore ? { ignore } : {}),
  });
}

/** A write Probot's retry plugin resends three times; four failures in a row reach the app. */
const EVERY_TRY = 4;

describe("a passing failure defers the grant; it is written once GitHub recovers, while the approval stands", () => {
  const cases: { what: string; fault: FaultSpec }[] = [
    { what: "the public-key read answers 500", fault: { method: "GET", path: PUBLIC_KEY_PATH, status: 500, times: EVERY_TRY } },
    { what: "the public-key read answers 502", fault: { method: "GET", path: PUBLIC_KEY_PATH, status: 502, times: EVERY_TRY } },
    { what: "the PUT answers 500", fault: { method: "PUT", path: SECRET_PATH, status: 500, times: EVERY_TRY } },
    { what: "the PUT answers 502", fault: { method: "PUT", path: SECRET_PATH, status: 502, times: EVERY_TRY } },
    {
      what: "the PUT meets a secondary rate limit with retry-after",
      fault: { method: "PUT", path: SECRET_PATH, status: 403, headers: { "retry-after": "2" }, times: EVERY_TRY },
    },
  ];

  it.each(cases)("$what on every try", async ({ fault }) => {
    stage = await stageRequest();
    const { app } = stage;
    const id = app.sim.faults.add(fault);
    const review = approveRequest(stage);

    await runUntilDeferred(stage);
    expect(app.sim.faults.fired(id)).toBe(EVERY_TRY);
    const deferred = (await theGrant(app))!;
    expect(secretValue(app)).toBeUndefined();
    // The audit says what happened: deferred, not failed.
    const actions = (await app.store.listAudit()).map((a) => a.action);
    expect(actions).toContain("deferred");
    expect(actions).not.toContain("failed");
    expect(latestCheck(stage)).toMatchObject({
      status: "in_progress",
      output: { title: "Granting: GitHub could not take the write yet; retrying" },
    });

    const grant = await runUntilGranted(stage);
    expect(grant.id).toBe(deferred.id);
    expect(deferred.writeUncertainAt !== null).toBe(fault.method === "PUT" && (fault.status ?? 0) >= 500);
    if (deferred.writeUncertainAt !== null) {
      // A PUT that answered 5xx may have landed: the expiry counts from when it was sent, and the
      // retry does not move it later.
      expect(fault.method).toBe("PUT");
      expect(grant.grantedAt).toEqual(deferred.writeUncertainAt);
      expect(grant.expiresAt.getTime()).toBe(deferred.writeUncertainAt.getTime() + grant.durationMs);
      expect(grant.expiresAt.getTime()).toBeLessThan(deferred.nextAttemptAt!.getTime() + grant.durationMs);
    } else {
      expect(grant.grantedAt!.getTime()).toBeGreaterThanOrEqual(deferred.nextAttemptAt!.getTime());
    }
    expect(countRoute(app.sim, SECRET_PUT, { ok: true })).toBe(1);
    expect(latestCheck(stage)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(commentBodies(stage).filter((b) => b.startsWith("**Access granted.**"))).toHaveLength(1);
    expectNoValueLeaked(stage);
    await review;
  });
});

describe("a single failure is absorbed without deferring", () => {
  it.each([
    { what: "a 502 on the PUT", fault: { method: "PUT", path: SECRET_PATH, status: 502, times: 1 } },
    { what: "a 500 on the public-key read", fault: { method: "GET", path: PUBLIC_KEY_PATH, status: 500, times: 1 } },
  ])("$what is retried at once and the grant goes through", async ({ fault }) => {
    stage = await stageRequest();
    const id = stage.app.sim.faults.add(fault);
    const review = approveRequest(stage);
    await runUntilGranted(stage);
    expect(stage.app.sim.faults.fired(id)).toBe(1);
    expect(countRoute(stage.app.sim, SECRET_PUT, { ok: true })).toBe(1);
    expect((await stage.app.store.listAudit()).map((a) => a.action)).toEqual(["validated", "approved", "granting", "granted"]);
    await review;
  });

  it("a primary rate limit (429) holds the PUT until the reset GitHub named", async () => {
    stage = await stageRequest();
    const { app } = stage;
    // The reset is GitHub's time (the simulator's: real time); the app reckons it from the
    // answer's Date header, so it holds on the app's own clock whatever that reads.
    const reset = Math.ceil(Date.now() / 1000) + 30;
    app.sim.faults.add({
      method: "PUT",
      path: SECRET_PATH,
      status: 429,
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      times: 1,
    });
    const review = approveRequest(stage);
    await runUntilGranted(stage);

    const [limited, accepted] = requestsTo(app, SECRET_PATH, "PUT");
    expect([limited?.status, accepted?.status]).toEqual([429, 201]);
    expect(accepted!.at - limited!.at).toBeGreaterThanOrEqual(30_000);
    await review;
  });

  it("a secondary rate limit pauses the installation's writes for retry-after, then the PUT is sent again", async () => {
    stage = await stageRequest();
    const { app } = stage;
    app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 403, headers: { "retry-after": "7" }, times: 1 });
    const review = approveRequest(stage);
    await runUntilGranted(stage);

    const [limited, accepted] = requestsTo(app, SECRET_PATH, "PUT");
    expect([limited?.status, accepted?.status]).toEqual([403, 201]);
    expect(accepted!.at - limited!.at).toBeGreaterThanOrEqual(7000);
    const writesMeanwhile = app.tracker.requests.filter(
      (r) => r.method !== "GET" && !r.path.endsWith("/access_tokens") && r.at > limited!.at && r.at < accepted!.at,
    );
    expect(writesMeanwhile).toEqual([]);
    await review;
  });
});

describe("a request GitHub never answers", () => {
  it.each([
    { what: "the public-key read", method: "GET", path: PUBLIC_KEY_PATH },
    { what: "the PUT", method: "PUT", path: SECRET_PATH },
  ])("$what is abandoned after 30 s of app time; the grant is deferred, then written", async ({ method, path }) => {
    stage = await stageRequest();
    const { app } = stage;
    app.sim.faults.add({ method, path, hang: true, times: 1 });
    const review = approveRequest(stage);

    await runUntilDeferred(stage, hungAt(path, method));
    const [hung] = requestsTo(app, path, method);
    expect(hung).toMatchObject({ status: 0, error: expect.any(String) });
    const deferred = (await theGrant(app))!;
    expect(deferred.lastError).toMatch(/did not answer .* within 30 s/);
    const deferredAt = deferred.nextAttemptAt!.getTime() - GRANT_RETRY_MS;
    // The deadline starts when Octokit sends; the tracker sees the request when it reaches fetch,
    // which on a loaded machine can be one clock step (1 s) later. Abandoning early would show as
    // far less than 30 s.
    expect(deferredAt - hung!.at).toBeGreaterThanOrEqual(DEFAULT_REQUEST_TIMEOUT_MS - 1_000);

    await runUntilGranted(stage);
    expect(countRoute(app.sim, SECRET_PUT, { ok: true })).toBe(1);
    await review;
  });
});

describe("an installation token GitHub no longer accepts", () => {
  it("is replaced, and the approval that met the 401 still grants", async () => {
    stage = await stageRequest();
    const { app } = stage;
    app.sim.faults.expireTokens(INSTALLATION);
    const review = approveRequest(stage);
    // @octokit/auth-app first waits (real timers, 1+2+3 s) in case a brand-new token has not
    // reached every GitHub server yet; the refresh comes after that.
    await app.sim.waitFor(() => app.logs.some((line) => line.includes("fetching a new token")), {
      timeoutMs: 20_000,
      description: "the token refresh",
    });

    await runUntilGranted(stage);
    expect(app.sim.requests.filter((r) => r.status === 401).length).toBeGreaterThan(0);
    expect(
      app.sim.requests.filter((r) => r.route === "POST /app/installations/{installation_id}/access_tokens").length,
    ).toBeGreaterThanOrEqual(2);
    expect(countRoute(app.sim, SECRET_PUT, { ok: true })).toBe(1);
    await review;
  }, 60_000);
});

describe("the environment is deleted between validation and the grant", () => {
  it.each([
    { what: "before the public key is read", method: "GET", path: PUBLIC_KEY_PATH, puts: 0 },
    { what: "before the PUT", method: "PUT", path: SECRET_PATH, puts: 1 },
  ])("$what: the grant fails, nothing is written, and the PR says the environment is gone", async ({ method, path, puts }) => {
    stage = await stageRequest();
    const { app } = stage;
    const id = app.sim.faults.add({ method, path, delayMs: 1000, times: 1 });
    const review = approveRequest(stage);
    await app.runUntil(() => app.sim.faults.fired(id) === 1, { maxMs: 60_000, what: "the held request", ignore: hungAt(path, method) });
    app.sim.deleteEnvironment(REPO, ENVIRONMENT);

    await app.runUntil(() => latestCheck(stage!)?.conclusion === "failure" && commentBodies(stage!).length > 0, {
      maxMs: 60_000,
      what: "the failure report",
    });
    const grant = (await theGrant(app))!;
    expect(grant).toMatchObject({ state: "failed", endReason: expect.stringContaining('environment "production" was not found') });
    expect(latestCheck(stage)).toMatchObject({
      output: { title: "Access could not be granted", summary: expect.stringContaining('environment "production" was not found') },
    });
    expect(commentBodies(stage)).toEqual([
      expect.stringMatching(/^\*\*Access could not be granted\*\* for:[\s\S]*environment "production" was not found/),
    ]);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(puts);
    expect(app.sim.environment(REPO, ENVIRONMENT)).toBeUndefined();
    await review;
  });
});
