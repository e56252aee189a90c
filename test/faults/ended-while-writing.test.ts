/**
 * A grant ended by another process while this one writes it, where the secret's lock does not
 * keep the two apart (a second process on the same ledger whose lock is its own: an expired
 * lease, a lock held in another process's memory). The ledger's compare-and-set is then the
 * last word: the grant flow marks the write as sent (`markWriting`) and the grant active
 * (`markActive`) only from `granting`, so a grant ended meanwhile is never written, or has what
 * its PUT wrote deleted at once. The app runs in this process against the simulator
 * (helpers/sim-app.ts); the other process is the same revocation code on a second ledger handle
 * with its own lock.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import pino from "pino";
import { Probot } from "probot";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { revokeGrant, type RevokeOutcome } from "../../src/revoke/revoke-grant.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";
import { countRoute, SECRET_PUT } from "./helpers/request-prs.js";
import {
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  hungAt,
  latestCheck,
  PUBLIC_KEY_PATH,
  REPO,
  requestsTo,
  SECRET_PATH,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";
import type { SimApp } from "./helpers/sim-app.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

let other: LedgerStore | undefined;
afterEach(async () => {
  await other?.close();
  other = undefined;
});

const REASON = "INC-4211 closed; access no longer needed";

/**
 * `jit-access revoke` as another process runs it: the same revocation, on its own handle on the
 * ledger, under a lock of its own. Resolves once the ledger shows the grant ended; `done` settles
 * when the revocation has also told the PR.
 */
async function revokeFromAnotherProcess(
  app: SimApp,
  grantId: string,
  ignore: ReturnType<typeof hungAt>,
): Promise<{ done: Promise<RevokeOutcome> }> {
  other = await openLedger(app.databaseUrl!);
  // Its own GitHub client too: its writes are not queued behind this process's held PUT.
  const writes = new WriteScheduler({ clock: app.clock, writeIntervalMs: 1000, notifyIntervalMs: 3000 });
  const probot = new Probot({
    appId: app.sim.appId,
    privateKey: app.sim.privateKeyPem,
    secret: app.sim.webhookSecret,
    baseUrl: app.sim.apiUrl,
    Octokit: createAppOctokit({ scheduler: writes, clock: app.clock }).defaults({ retry: { retryAfterBaseValue: 1 } }),
    log: pino({ level: "silent" }),
    request: { fetch: app.tracker.fetch },
  });
  const deps: LifecycleDeps = { ...app.deps, store: other, locks: new KeyedMutex(), octokitFor: async (id) => probot.auth(id) };
  const grant = (await other.getGrant(grantId))!;
  const done = revokeGrant(deps, { grant, kind: "revoked", reason: REASON, actor: "operator:carol" }, app.log);
  // Small steps: the held request must not reach its own deadline meanwhile.
  await app.runUntil(async () => (await other!.getGrant(grantId))?.state === "revoked", {
    stepMs: 100,
    maxMs: 20_000,
    what: "the other process's revocation",
    ignore,
  });
  return { done };
}

describe("a grant ended by another process, past the secret's lock, while it is written", () => {
  it("ended while its PUT is in flight: the PUT lands, the ledger refuses to mark it active, and the write is deleted at once", async () => {
    stage = await stageRequest({ duration: "2h" });
    const { app, pr } = stage;
    let release!: () => void;
    const held = app.sim.faults.add({
      method: "PUT",
      path: SECRET_PATH,
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const heldPut = hungAt(SECRET_PATH, "PUT");
    let answered = false;
    void approveRequest(stage).then(() => (answered = true));
    let revocation: { done: Promise<RevokeOutcome> };
    try {
      await app.runUntil(() => app.sim.faults.fired(held) === 1, { maxMs: 60_000, what: "the PUT on its way", ignore: heldPut });
      const writing = (await theGrant(app))!;
      expect(writing).toMatchObject({ state: "granting", secretWrite: "uncertain" });

      // The other process finds nothing to delete yet (the PUT has not landed) and ends the row.
      revocation = await revokeFromAnotherProcess(app, writing.id, heldPut);
      expect(await theGrant(app)).toMatchObject({ state: "revoked", endReason: REASON });
    } finally {
      release();
    }

    let revoked: RevokeOutcome | undefined;
    void revocation.done.then((o) => (revoked = o));
    await app.runUntil(() => answered && revoked !== undefined, { maxMs: 120_000, what: "the approval and the revocation to finish" });
    expect(revoked).toMatchObject({ kind: "ended", deleted: false });
    const grant = (await theGrant(app))!;
    // In the order GitHub answered them: the revocation's DELETE found nothing, the PUT landed
    // after it, and the grant flow's own DELETE removed what the PUT wrote.
    const writes = app.sim.requests.filter((r) => SECRET_PATH.test(r.path) && r.method !== "GET").map((r) => `${r.method} ${r.status}`);
    expect(writes).toEqual(["DELETE 404", "PUT 201", "DELETE 204"]);
    expect(secretValue(app)).toBeUndefined();
    expect(countRoute(app.sim, SECRET_PUT)).toBe(1);
    // The ledger keeps the other process's end; the undone write is audited on the grant.
    expect(grant).toMatchObject({ state: "revoked", endReason: REASON });
    const audit = (await app.store.listAudit()).filter((a) => a.grantId === grant.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["granting", "jit-access"],
      ["revoked", "operator:carol"],
      ["revoked", "jit-access"],
    ]);
    expect(audit.at(-1)!.details).toEqual({
      why: `the grant was revoked while its secret was being written (${REASON}); the write was undone`,
      deleted: true,
    });
    expect(audit.map((a) => a.action)).not.toContain("granted");
    // The PR is told the grant did not stand, and is not labelled granted.
    expect(latestCheck(stage)).toMatchObject({ conclusion: "failure" });
    expect(JSON.stringify(latestCheck(stage)!.output)).toContain("the write was undone");
    expect(app.sim.labels(REPO, pr)).not.toContain("jit:granted");
    expect(commentBodies(stage).join("\n")).not.toContain("**Access granted");
  });

  it("ended before its PUT is sent: the ledger refuses to mark the write as sent, and nothing is written", async () => {
    stage = await stageRequest({ duration: "2h" });
    const { app } = stage;
    // Hold the grant on the environment's public key: its row is written, its PUT not yet sent.
    let release!: () => void;
    const held = app.sim.faults.add({
      method: "GET",
      path: PUBLIC_KEY_PATH,
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const heldKey = hungAt(PUBLIC_KEY_PATH, "GET");
    let answered = false;
    void approveRequest(stage).then(() => (answered = true));
    let revocation: { done: Promise<RevokeOutcome> };
    try {
      await app.runUntil(async () => app.sim.faults.fired(held) === 1 && (await theGrant(app))?.state === "granting", {
        maxMs: 60_000,
        what: "the grant's row, waiting on the key",
        ignore: heldKey,
      });
      const waiting = (await theGrant(app))!;
      expect(waiting).toMatchObject({ secretWrite: "none" });
      // Nothing of the grant's can be there yet: the other process sends no DELETE.
      revocation = await revokeFromAnotherProcess(app, waiting.id, heldKey);
    } finally {
      release();
    }

    let revoked: RevokeOutcome | undefined;
    void revocation.done.then((o) => (revoked = o));
    await app.runUntil(() => answered && revoked !== undefined, { maxMs: 120_000, what: "the approval and the revocation to finish" });
    expect(revoked).toMatchObject({ kind: "ended", deleted: false, secretWritten: false });
    expect(countRoute(app.sim, SECRET_PUT)).toBe(0);
    expect(requestsTo(app, SECRET_PATH).filter((r) => r.method !== "GET")).toEqual([]);
    expect(secretValue(app)).toBeUndefined();
    const grant = (await theGrant(app))!;
    expect(grant).toMatchObject({ state: "revoked", endReason: REASON, secretWrite: "none" });
    const audit = (await app.store.listAudit()).filter((a) => a.grantId === grant.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["granting", "jit-access"],
      ["revoked", "operator:carol"],
    ]);
    const check = latestCheck(stage)!;
    expect(check.conclusion).toBe("failure");
    expect(JSON.stringify(check.output)).toContain(`the grant was revoked before its secret was written (${REASON}); nothing was written`);
  });
});
