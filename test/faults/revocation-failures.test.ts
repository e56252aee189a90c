/**
 * GitHub failing while a grant is revoked at its expiry: the revocation stays due, with backoff,
 * and the secret is deleted once GitHub answers; it is never dropped. The app runs in this
 * process against the simulator (helpers/sim-app.ts), on a clock the test moves.
 */
import { describe, expect, it } from "@jest/globals";
import type { FaultSpec } from "../../sim/index.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../src/github/request-timeout.js";
import { countRoute, SECRET_DELETE } from "./helpers/request-prs.js";
import {
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  hungAt,
  INSTALLATION,
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

/** A two-minute grant, written and reported. */
async function grantedForTwoMinutes(): Promise<Stage & { expiresAt: number }> {
  stage = await stageRequest({ duration: "2m" });
  const review = approveRequest(stage);
  const grant = await runUntilGranted(stage);
  await review;
  return { ...stage, expiresAt: grant.expiresAt.getTime() };
}

async function runUntilExpired(s: Stage, options: { ignore?: Parameters<Stage["app"]["runUntil"]>[1]["ignore"] } = {}): Promise<void> {
  const told = () =>
    commentBodies(s).some((b) => b.startsWith("**Access expired:**")) && s.app.sim.labels("acme/api", s.pr).includes("jit:expired");
  await s.app.runUntil(async () => (await theGrant(s.app))?.state === "expired" && told(), {
    maxMs: 900_000,
    what: "the revocation",
    ...options,
  });
}

describe("a DELETE that keeps failing", () => {
  const cases: { what: string; fault: FaultSpec }[] = [
    { what: "500", fault: { method: "DELETE", path: SECRET_PATH, status: 500 } },
    { what: "502", fault: { method: "DELETE", path: SECRET_PATH, status: 502 } },
    { what: "a secondary rate limit", fault: { method: "DELETE", path: SECRET_PATH, status: 403, headers: { "retry-after": "5" } } },
  ];

  it.each(cases)(
    "answered $what: the grant stays live and due with backoff, the PR is warned, and the secret is deleted once GitHub recovers",
    async ({ fault }) => {
      const s = await grantedForTwoMinutes();
      const { app } = s;
      const id = app.sim.faults.add(fault);

      const warned = () => commentBodies(s).some((b) => b.startsWith("**Revocation is failing:**"));
      await app.runUntil(async () => ((await theGrant(app))?.revokeAttempts ?? 0) >= 3 && warned(), {
        maxMs: 900_000,
        what: "three failed revocations",
      });
      const failing = (await theGrant(app))!;
      expect(failing.state).toBe("active");
      expect(failing.nextAttemptAt!.getTime()).toBeGreaterThan(app.clock.now());
      expect(secretValue(app)).toBeDefined();
      expect(commentBodies(s).filter((b) => b.startsWith("**Revocation is failing:**"))).toHaveLength(1);
      const audit = (await app.store.listAudit()).map((a) => a.action);
      expect(audit.filter((a) => a === "revoke_failed")).toHaveLength(3);

      app.sim.faults.remove(id);
      await runUntilExpired(s);
      expect(secretValue(app)).toBeUndefined();
      expect((await app.store.listAudit()).at(-1)).toMatchObject({ action: "expired", details: { secretDeleted: true } });
      expect(countRoute(app.sim, SECRET_DELETE, { ok: true })).toBe(1);
      expect(app.sim.labels("acme/api", s.pr)).toEqual(["jit:expired"]);
    },
  );
});

describe("a DELETE that fails briefly", () => {
  it("a secondary rate limit delays the DELETE by retry-after; the grant ends without a failed attempt", async () => {
    const s = await grantedForTwoMinutes();
    const { app } = s;
    app.sim.faults.add({ method: "DELETE", path: SECRET_PATH, status: 403, headers: { "retry-after": "9" }, times: 1 });
    await runUntilExpired(s);
    const [limited, accepted] = requestsTo(app, SECRET_PATH, "DELETE");
    expect([limited?.status, accepted?.status]).toEqual([403, 204]);
    expect(limited!.at).toBeGreaterThanOrEqual(s.expiresAt);
    expect(accepted!.at - limited!.at).toBeGreaterThanOrEqual(9000);
    expect((await theGrant(app))?.revokeAttempts).toBe(0);
  });

  it("one that never answers is abandoned after 30 s of app time, and the next attempt deletes the secret", async () => {
    const s = await grantedForTwoMinutes();
    const { app } = s;
    app.sim.faults.add({ method: "DELETE", path: SECRET_PATH, hang: true, times: 1 });
    await runUntilExpired(s, { ignore: hungAt(SECRET_PATH, "DELETE") });
    const deletes = requestsTo(app, SECRET_PATH, "DELETE");
    const hung = deletes[0];
    const accepted = deletes.find((r) => r.status === 204);
    expect(hung).toMatchObject({ status: 0, error: expect.any(String) });
    expect(accepted).toMatchObject({ status: 204 });
    expect(accepted!.at - hung!.at).toBeGreaterThanOrEqual(DEFAULT_REQUEST_TIMEOUT_MS);
    expect((await app.store.listAudit()).find((a) => a.action === "revoke_failed")?.details).toMatchObject({
      error: expect.stringMatching(/did not answer .* within 30 s/),
    });
    expect(secretValue(app)).toBeUndefined();
  });

  it("an installation token GitHub no longer accepts is replaced, and the secret is deleted at expiry", async () => {
    const s = await grantedForTwoMinutes();
    const { app } = s;
    app.sim.faults.expireTokens(INSTALLATION);
    // At expiry the revocation's first request (finding the repository by its id, then the
    // DELETE) is refused with the stale token.
    await app.runUntil(() => app.sim.requests.some((r) => r.status === 401), {
      maxMs: 900_000,
      what: "the first request refused for its token",
    });
    // @octokit/auth-app first waits (real timers, 1+2+3 s) in case a brand-new token has not
    // reached every GitHub server yet; the refresh comes after that.
    await app.sim.waitFor(() => app.logs.some((line) => line.includes("fetching a new token")), {
      timeoutMs: 20_000,
      description: "the token refresh",
    });
    await runUntilExpired(s);
    expect(app.sim.requests.some((r) => r.status === 401)).toBe(true);
    expect((await theGrant(app))?.revokeAttempts).toBe(0);
    expect(secretValue(app)).toBeUndefined();
  }, 60_000);
});
