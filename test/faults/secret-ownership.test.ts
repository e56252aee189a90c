/**
 * Issue 21 §1 and §2, each scenario as it was reproduced: a failed grant never leaves a secret
 * behind, and the app touches nothing that is not its own. The app runs in this process against
 * the simulator (helpers/sim-app.ts), on a clock the test moves.
 */
import { describe, expect, it } from "@jest/globals";
import { reconcile } from "../../src/revoke/reconcile.js";
import type { Grant } from "../../src/ledger/store.js";
import { approve, countRoute, openRequest, SECRET_DELETE, SECRET_PUT } from "./helpers/request-prs.js";
import {
  allGrants,
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  ENVIRONMENT,
  expectNoValueLeaked,
  INSTALLATION,
  isDeferred,
  latestCheck,
  REPO,
  requestsTo,
  runUntilGranted,
  SECRET,
  SECRET_PATH,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";
import { VALUE, type SimApp } from "./helpers/sim-app.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A write Probot's retry plugin resends three times; four failures in a row reach the app. */
const EVERY_TRY = 4;
const ADMIN_VALUE = "created-by-hand-in-settings";
/** Hours of app time at one-minute steps, and minutes at one-second steps, on a shared machine. */
const TEST_TIMEOUT_MS = 240_000;
const REFUSAL =
  "a secret named PROD_DB_URL already exists in production and is not managed by jit-access; remove it or rename the catalog entry";

async function grantOf(app: SimApp, pr: number): Promise<Grant | undefined> {
  return (await allGrants(app)).find((grant) => grant.prNumber === pr);
}

function liveGrants(app: SimApp): Promise<Grant[]> {
  return app.store.listGrants({ liveOnly: true });
}

/** Moves the app's clock `ms` on, a minute at a time, letting it settle (sweeps, timers) at each step. */
async function runFor(app: SimApp, ms: number): Promise<void> {
  const until = app.clock.now() + ms;
  await app.runUntil(() => app.clock.now() >= until, { stepMs: MINUTE, maxMs: ms + MINUTE, what: `${ms / MINUTE} minutes` });
}

describe("a failed grant never leaves a secret behind (issue 21 §1)", () => {
  it(
    "a grant deferred while another holds the secret does not keep it: the holder's expiry deletes it, and the deferred grant's failed retry leaves nothing",
    async () => {
      stage = await stageRequest({ duration: "10m" });
      const { app, pr: first } = stage;
      const firstReview = approveRequest(stage);
      await app.runUntil(async () => (await grantOf(app, first))?.state === "active", { maxMs: 2 * MINUTE, what: "the first grant" });
      await firstReview;
      expect(secretValue(app)).toBe(VALUE);

      // The second request for the same secret cannot be written: every read of the secret's
      // metadata answers 502 until GitHub recovers (the environment's key is kept from the first
      // grant, so it is not read). It is deferred, and never written.
      const keyDown = app.sim.faults.add({ method: "GET", path: SECRET_PATH, status: 502 });
      const second = await app.deliver(() => openRequest(app.sim, REPO, "2h"));
      const secondReview = app.deliver(() => approve(app.sim, REPO, second));
      await app.runUntil(async () => isDeferred(await grantOf(app, second)), { maxMs: 2 * MINUTE, what: "the second grant's deferral" });
      expect(await grantOf(app, second)).toMatchObject({ state: "granting", secretWrite: "none" });

      // The first grant expires. The deferred one holds nothing, so the secret is deleted.
      await app.runUntil(async () => (await grantOf(app, first))?.state === "expired", {
        maxMs: 15 * MINUTE,
        what: "the first grant's expiry",
      });
      expect(secretValue(app)).toBeUndefined();
      expect(requestsTo(app, SECRET_PATH, "DELETE").map((r) => r.status)).toEqual([204]);
      await app.runUntil(() => commentBodies(stage!).some((b) => b.startsWith("**Access expired:**")), {
        maxMs: MINUTE,
        what: "the expiry comment",
      });
      expect(commentBodies(stage).find((b) => b.startsWith("**Access expired:**"))).toContain("The secret has been deleted.");

      // GitHub recovers for reads; the retry's PUT is refused (422), and the grant fails.
      app.sim.faults.remove(keyDown);
      app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 422, times: 1 });
      await app.runUntil(async () => (await grantOf(app, second))?.state === "failed", {
        maxMs: 5 * MINUTE,
        what: "the second grant's failure",
      });
      await secondReview;
      expect(await grantOf(app, second)).toMatchObject({
        endReason: expect.stringContaining("GitHub refused to write the secret (HTTP 422)"),
      });

      // Zero live grants, and no secret: not now, not three hours later.
      expect(await liveGrants(app)).toEqual([]);
      expect(secretValue(app)).toBeUndefined();
      await runFor(app, 3 * HOUR);
      expect(secretValue(app)).toBeUndefined();
      expect(await liveGrants(app)).toEqual([]);
      expect(countRoute(app.sim, SECRET_PUT, { ok: true })).toBe(1);
      expectNoValueLeaked(stage);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a PUT that took effect but answered 502, whose undoing DELETE failed too, is deleted when the retry fails",
    async () => {
      stage = await stageRequest();
      const { app } = stage;
      app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 502, afterEffect: true, times: EVERY_TRY });
      const undo = app.sim.faults.add({ method: "DELETE", path: SECRET_PATH, status: 502, times: EVERY_TRY });
      const review = approveRequest(stage);
      await app.runUntil(async () => isDeferred(await theGrant(app)), { maxMs: 2 * MINUTE, what: "the deferral" });
      expect(app.sim.faults.fired(undo)).toBe(EVERY_TRY);
      // The write landed and could not be undone: the grant may have written it.
      expect(secretValue(app)).toBe(VALUE);
      expect(await theGrant(app)).toMatchObject({ state: "granting", secretWrite: "uncertain", writeUncertainAt: expect.any(Date) });
      // The failed clean-up is not dropped: the deferral's audit record and the log say why the secret may still be there.
      const deferral = (await app.store.listAudit()).find((a) => a.action === "deferred")!;
      expect(deferral.details).toMatchObject({ cleanupFailed: expect.stringContaining("Server Error") });
      expect(app.logs.join("\n")).toContain("the undoing DELETE failed");

      // The retry finds the secret there (its own uncertain write, not someone else's), and its PUT is refused.
      app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 422, times: 1 });
      await app.runUntil(async () => (await theGrant(app))?.state === "failed", { maxMs: 5 * MINUTE, what: "the failure" });
      await app.runUntil(() => commentBodies(stage!).some((b) => b.startsWith("**Access could not be granted**")), {
        maxMs: MINUTE,
        what: "the failure's comment",
      });
      await review;
      expect(latestCheck(stage)).toMatchObject({ conclusion: "failure" });

      expect(secretValue(app)).toBeUndefined();
      const grant = (await theGrant(app))!;
      expect(grant.endReason).toContain("GitHub refused to write the secret (HTTP 422)");
      expect((await app.store.listAudit()).filter((a) => a.action === "failed")).toEqual([
        expect.objectContaining({ grantId: grant.id, details: { why: grant.endReason, secretDeleted: true, otherLiveGrants: 0 } }),
      ]);
      expect(commentBodies(stage).at(-1)).toMatch(/^\*\*Access could not be granted\*\* for:[\s\S]*HTTP 422/);

      await runFor(app, 3 * HOUR);
      expect(secretValue(app)).toBeUndefined();
      expect(await liveGrants(app)).toEqual([]);
      expectNoValueLeaked(stage);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "when that DELETE fails as well, the failed grant stays due with backoff, is never written again, and ends once the DELETE succeeds",
    async () => {
      stage = await stageRequest();
      const { app } = stage;
      app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 502, afterEffect: true, times: EVERY_TRY });
      app.sim.faults.add({ method: "DELETE", path: SECRET_PATH, status: 502, times: EVERY_TRY });
      const review = approveRequest(stage);
      await app.runUntil(async () => isDeferred(await theGrant(app)), { maxMs: 2 * MINUTE, what: "the deferral" });

      const deleteDown = app.sim.faults.add({ method: "DELETE", path: SECRET_PATH, status: 502 });
      app.sim.faults.add({ method: "PUT", path: SECRET_PATH, status: 422, times: 1 });
      await app.runUntil(async () => (await theGrant(app))?.pendingEnd?.kind === "failed", {
        maxMs: 5 * MINUTE,
        what: "the failed end, pending",
      });
      const pending = (await theGrant(app))!;
      expect(pending).toMatchObject({
        state: "granting",
        revokeAttempts: 1,
        pendingEnd: { kind: "failed", reason: expect.stringContaining("HTTP 422") },
      });
      expect(secretValue(app)).toBe(VALUE);
      await app.runUntil(() => commentBodies(stage!).some((b) => b.startsWith("**Access could not be granted**")), {
        maxMs: MINUTE,
        what: "the failure's comment",
      });
      expect(latestCheck(stage)).toMatchObject({ conclusion: "failure" });
      expect(commentBodies(stage).at(-1)).toContain("could not be deleted yet");

      // Backing off: a few attempts in ten minutes, all audited; no further PUT, no retry of the write.
      const puts = countRoute(app.sim, SECRET_PUT);
      await runFor(app, 10 * MINUTE);
      const backingOff = (await theGrant(app))!;
      expect(backingOff).toMatchObject({ state: "granting", pendingEnd: { kind: "failed" } });
      expect(backingOff.revokeAttempts).toBeGreaterThanOrEqual(3);
      expect(backingOff.revokeAttempts).toBeLessThanOrEqual(8);
      expect((await app.store.listAudit()).filter((a) => a.action === "revoke_failed")).toHaveLength(backingOff.revokeAttempts);
      expect(countRoute(app.sim, SECRET_PUT)).toBe(puts);
      expect(secretValue(app)).toBe(VALUE);

      // GitHub recovers: the next attempt deletes it, and only then is the grant failed.
      app.sim.faults.remove(deleteDown);
      await app.runUntil(async () => (await theGrant(app))?.state === "failed", { maxMs: 10 * MINUTE, what: "the failed end" });
      await review;
      expect(secretValue(app)).toBeUndefined();
      expect((await app.store.listAudit()).at(-1)).toMatchObject({ action: "failed", details: { secretDeleted: true } });
      expect(countRoute(app.sim, SECRET_DELETE, { ok: true })).toBe(1);
      expect(await liveGrants(app)).toEqual([]);
      expectNoValueLeaked(stage);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("the app touches nothing that is not its own (issue 21 §2)", () => {
  it(
    "refuses a grant of a secret an administrator created by hand: never written, never deleted, left alone by reconcile",
    async () => {
      stage = await stageRequest({ duration: "15m" });
      const { app } = stage;
      app.sim.setSecret(REPO, ENVIRONMENT, SECRET, ADMIN_VALUE);
      const review = approveRequest(stage);
      await app.runUntil(async () => (await theGrant(app))?.state === "failed" && commentBodies(stage!).length > 0, {
        maxMs: 2 * MINUTE,
        what: "the refusal",
      });
      await review;

      const grant = (await theGrant(app))!;
      expect(grant).toMatchObject({ endReason: REFUSAL, secretWrite: "none" });
      expect(latestCheck(stage)).toMatchObject({
        conclusion: "failure",
        output: { title: "Access could not be granted", summary: expect.stringContaining(REFUSAL) },
      });
      expect(commentBodies(stage)).toEqual([expect.stringContaining(REFUSAL)]);
      expect((await app.store.listAudit()).at(-1)).toMatchObject({
        action: "failed",
        grantId: grant.id,
        details: { why: REFUSAL, secretUpdatedAt: expect.any(String) },
      });

      // Past the grant's time: never written, never deleted.
      await runFor(app, 3 * HOUR);
      expect(countRoute(app.sim, SECRET_PUT)).toBe(0);
      expect(countRoute(app.sim, SECRET_DELETE)).toBe(0);
      expect(app.sim.secretValue(REPO, ENVIRONMENT, SECRET)).toBe(ADMIN_VALUE);

      for (const dryRun of [true, false]) {
        const report = await reconcile({ ...app.deps, appOctokit: app.appOctokit }, { dryRun, actor: "operator:test" }, app.log);
        expect(report.orphans).toEqual([]);
        expect(report.unmanaged).toEqual([
          expect.objectContaining({ owner: "acme", repo: "api", environment: ENVIRONMENT, secret: SECRET }),
        ]);
      }
      expect(countRoute(app.sim, SECRET_DELETE)).toBe(0);
      expect(app.sim.secretValue(REPO, ENVIRONMENT, SECRET)).toBe(ADMIN_VALUE);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "reconcile deletes a leftover the app wrote and lists an administrator's secret as unmanaged; --dry-run shows both",
    async () => {
      stage = await stageRequest();
      const { app } = stage;
      app.sim.createRepo("acme/web", { installationId: INSTALLATION, environments: [ENVIRONMENT], files: { "README.md": "web\n" } });
      app.sim.setSecret("acme/web", ENVIRONMENT, SECRET, ADMIN_VALUE);
      const review = approveRequest(stage);
      const grant = await runUntilGranted(stage);
      await review;
      expect(grant.secretUpdatedAt).toEqual(expect.any(Date));
      // The grant ends in the ledger without its DELETE landing (as after a restored backup, or a
      // process that died before it sent it): the secret is left over, and it is the app's.
      await app.store.markEnded(grant.id, "revoked", "ended elsewhere; its DELETE never reached GitHub", new Date(app.clock.now()));
      const deps = { ...app.deps, appOctokit: app.appOctokit };

      const dry = await reconcile(deps, { dryRun: true, actor: "operator:test" }, app.log);
      expect(dry.orphans).toEqual([expect.objectContaining({ repo: "api", outcome: "would-delete", writtenBy: grant.id })]);
      expect(dry.unmanaged).toEqual([expect.objectContaining({ repo: "web", secret: SECRET })]);
      expect(countRoute(app.sim, SECRET_DELETE)).toBe(0);

      // Its DELETE waits for the installation's paced turn, on the app's clock: run the clock meanwhile.
      const running = reconcile(deps, { dryRun: false, actor: "operator:test" }, app.log);
      let over = false;
      void running.finally(() => (over = true)).catch(() => undefined);
      await app.runUntil(() => over, { maxMs: MINUTE, what: "reconcile" });
      const done = await running;
      expect(done.orphans).toEqual([expect.objectContaining({ repo: "api", outcome: "deleted", writtenBy: grant.id })]);
      expect(done.unmanaged).toEqual([expect.objectContaining({ repo: "web", secret: SECRET })]);
      expect(secretValue(app)).toBeUndefined();
      expect(app.sim.secretValue("acme/web", ENVIRONMENT, SECRET)).toBe(ADMIN_VALUE);
      expect((await app.store.listAudit()).filter((a) => a.action === "reconciled")).toEqual([
        expect.objectContaining({ repo: "api", details: expect.objectContaining({ writtenBy: grant.id, secretDeleted: true }) }),
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a later grant of a live secret keeps the first value, even when the value at its source has changed; the last grant to end deletes it",
    async () => {
      const ROTATED = "postgres://app:rotated-Pa55w0rd@db.internal:5432/prod";
      stage = await stageRequest({ duration: "10m" });
      const { app, pr: first } = stage;
      const firstReview = approveRequest(stage);
      const firstGrant = await runUntilGrantedOf(app, first);
      await firstReview;

      app.deps.sourceEnv.PROD_DB_URL = ROTATED;
      const second = await app.deliver(() => openRequest(app.sim, REPO, "2h"));
      const secondReview = app.deliver(() => approve(app.sim, REPO, second));
      await runUntilGrantedOf(app, second);
      await secondReview;

      expect(countRoute(app.sim, SECRET_PUT)).toBe(1);
      expect(secretValue(app)).toBe(VALUE);
      const secondComment = app.sim.comments(REPO, second).find((c) => c.body.startsWith("**Access granted.**"))!.body;
      expect(secondComment).toContain(`already held the value written for a live grant of pull request #${first}.`);
      const granted = (await app.store.listAudit()).filter((a) => a.action === "granted");
      expect(granted.map((a) => a.details?.keptValueOf)).toEqual([undefined, firstGrant.id]);

      // The first grant ends: the second holds the secret, so it stays, with the first value.
      await app.runUntil(async () => (await grantOf(app, first))?.state === "expired", { maxMs: 15 * MINUTE, what: "the first expiry" });
      expect(countRoute(app.sim, SECRET_DELETE)).toBe(0);
      expect(secretValue(app)).toBe(VALUE);

      // The second ends: deleted.
      await runFor(app, 2 * HOUR);
      expect((await grantOf(app, second))?.state).toBe("expired");
      expect(secretValue(app)).toBeUndefined();
      expect(countRoute(app.sim, SECRET_DELETE, { ok: true })).toBe(1);
      expectNoValueLeaked(stage);
      expect(app.logs.join("\n")).not.toContain(ROTATED);
    },
    TEST_TIMEOUT_MS,
  );
});

async function runUntilGrantedOf(app: SimApp, pr: number): Promise<Grant> {
  await app.runUntil(async () => (await grantOf(app, pr))?.state === "active" && app.sim.labels(REPO, pr).includes("jit:granted"), {
    maxMs: 2 * MINUTE,
    what: `the grant of #${pr}`,
  });
  return (await grantOf(app, pr))!;
}
