import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { expireGrant } from "../../src/revoke/sweep.js";
import Database from "better-sqlite3";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { configureConnection } from "../../src/ledger/sqlite-open.js";
import { SqliteStore } from "../../src/ledger/sqlite-store.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { LABELS, revokeBackoffMs, revokeGrant, WARN_AFTER_ATTEMPTS } from "../../src/revoke/revoke-grant.js";
import type { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock, type CommentBody } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const HOUR = 3_600_000;
/** A grant written two hours ago for two hours: it expires now. */
const DUE_NOW = { createdAt: new Date(EXPIRY_START - 2 * HOUR) };

let store: LedgerStore;
let deps: LifecycleDeps;
let clock: ManualClock;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log, messages } = recordingLog();

beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  ({ deps, clock } = revocationDeps(store));
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  unmatched.stop();
  nock.cleanAll();
  await store.close();
});
afterAll(() => {
  nock.enableNetConnect();
});

/**
 * Everything the PR hears when a grant on it ends and it was the PR's last live one: a comment,
 * and one label write (its labels read, then set without `jit:granted`).
 */
function prTold(gh: GitHubMock, prNumber: number): GitHubMock {
  return gh.comment(prNumber).setLabels(prNumber);
}

describe("revoking a grant", () => {
  it("at expiry deletes the secret, records the grant expired with an audit row, and tells the PR", async () => {
    const grant = await seedGrant(store, DUE_NOW);
    const gh = prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"), 7);

    const outcome = await expireGrant(deps, grant, log);

    expect(outcome).toMatchObject({ kind: "ended", deleted: true });
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "expired",
      endReason: "expired",
      endedAt: new Date(EXPIRY_START),
      nextAttemptAt: null,
    });
    expect((await store.listAudit()).at(-1)).toMatchObject({
      action: "expired",
      actor: "jit-access",
      grantId: grant.id,
      owner: "acme",
      repo: "api",
      prNumber: 7,
      environment: "production",
      secret: "PROD_DB_URL",
      details: { reason: "expired", secretDeleted: true, otherLiveGrants: 0 },
    });
    expect(gh.bodies("/issues/7/comments")).toEqual([
      { body: "**Access expired:** `PROD_DB_URL` in environment `production`. The secret has been deleted." },
    ]);
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [LABELS.expired] }]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("by an operator records it revoked with the reason and labels the PR jit:revoked", async () => {
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) });
    const gh = prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"), 7);

    const outcome = await revokeGrant(deps, { grant, kind: "revoked", reason: "leaked in a log", actor: "operator:dana" }, log);

    expect(outcome.kind).toBe("ended");
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "revoked", endReason: "leaked in a log" });
    expect((await store.listAudit()).at(-1)).toMatchObject({ action: "revoked", actor: "operator:dana" });
    expect(gh.body<CommentBody>("/issues/7/comments").body).toBe(
      "**Access revoked:** `PROD_DB_URL` in environment `production` (`leaked in a log`). The secret has been deleted.",
    );
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [LABELS.revoked] }]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("keeps the secret while another live grant for the same repository, environment and name remains; the last one deletes it", async () => {
    const first = await seedGrant(store, { ...DUE_NOW, prNumber: 7 });
    const second = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR), prNumber: 8 });

    const early = prTold(new GitHubMock("acme", "api"), 7);
    expect(await expireGrant(deps, first, log)).toMatchObject({ kind: "ended", deleted: false });
    expect(early.body<CommentBody>("/issues/7/comments").body).toContain("Another live grant still uses this secret");
    expect((await store.listAudit()).at(-1)?.details).toEqual({ reason: "expired", secretDeleted: false, otherLiveGrants: 1 });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE

    await clock.advance(HOUR);
    prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"), 8);
    expect(await expireGrant(deps, second, log)).toMatchObject({ kind: "ended", deleted: true });
    expect((await store.listAudit()).at(-1)?.details).toEqual({ reason: "expired", secretDeleted: true, otherLiveGrants: 0 });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("sends no DELETE for a grant that never wrote its secret, and says so; what is there is not its own", async () => {
    // Deferred before its PUT was ever sent (a 502 on the key read, say), then revoked.
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) }, "unwritten");
    const gh = prTold(new GitHubMock("acme", "api"), 7);

    const outcome = await revokeGrant(
      deps,
      { grant, kind: "revoked", reason: "pull request closed without merging", actor: "jit-access" },
      log,
    );

    expect(outcome).toMatchObject({ kind: "ended", deleted: false, otherLiveGrants: 0, secretWritten: false });
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "revoked" });
    expect((await store.listAudit()).at(-1)).toMatchObject({
      action: "revoked",
      details: { reason: "pull request closed without merging", secretDeleted: false, otherLiveGrants: 0, secretWritten: false },
    });
    expect(gh.body<CommentBody>("/issues/7/comments").body).toBe(
      "**Access revoked:** `PROD_DB_URL` in environment `production` (`pull request closed without merging`). Its secret had not been written, so there was nothing to delete.",
    );
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE
  });

  it("deletes the secret when the only other live grants were never written: they hold nothing", async () => {
    const written = await seedGrant(store, { ...DUE_NOW, prNumber: 7 });
    // Live, but deferred before any PUT, or its PUT undone: neither keeps the secret there.
    await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR), prNumber: 8 }, "unwritten");
    const undone = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR), prNumber: 9 }, "granting");
    await store.deferGrant(undone.id, "writing the secret did not complete (502)", new Date(EXPIRY_START + 30_000), undefined, {
      secretWrite: "none",
    });
    prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"), 7);

    expect(await expireGrant(deps, written, log)).toMatchObject({ kind: "ended", deleted: true, otherLiveGrants: 0 });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("ends a failed grant whose cleanup is pending as failed once its secret is deleted, without a comment", async () => {
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) }, "granting");
    const pendingEnd = {
      kind: "failed" as const,
      reason: "GitHub refused to write the secret (HTTP 422): Validation Failed",
      actor: "jit-access",
    };
    await store.recordRevokeFailure(grant.id, "DELETE: 502", new Date(EXPIRY_START), pendingEnd);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL");

    // The sweep ends it as its pending end says; an exact timer at its expiry would too.
    const outcome = await expireGrant(deps, (await store.getGrant(grant.id))!, log);

    expect(outcome).toMatchObject({ kind: "ended", deleted: true, grant: { state: "failed", endReason: pendingEnd.reason } });
    expect((await store.listAudit()).at(-1)).toMatchObject({
      action: "failed",
      details: { why: pendingEnd.reason, secretDeleted: true, otherLiveGrants: 0 },
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // the PR was told when the grant failed
  });

  it("keeps a failed grant whose cleanup DELETE fails again live and due, its failed end still pending", async () => {
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) }, "granting");
    const pendingEnd = {
      kind: "failed" as const,
      reason: "GitHub refused to write the secret (HTTP 422): Validation Failed",
      actor: "jit-access",
    };
    await store.recordRevokeFailure(grant.id, "DELETE: 502", new Date(EXPIRY_START), pendingEnd);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 502);

    const outcome = await revokeGrant(deps, { grant, ...pendingEnd }, log);

    expect(outcome).toMatchObject({ kind: "retry", grant: { state: "granting", revokeAttempts: 2, pendingEnd } });
    expect(await store.grantsAwaitingRetry(new Date(EXPIRY_START + HOUR), 10)).toEqual([]); // deleted, never written again
    expect((await store.dueGrants(new Date(EXPIRY_START + 10_000), 10)).map((g) => g.id)).toEqual([grant.id]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("removes jit:granted from the PR only when its last live grant ends", async () => {
    const db = await seedGrant(store, DUE_NOW);
    const payments = await seedGrant(store, { ...DUE_NOW, secret: "PAYMENTS_KEY" });
    const gh = new GitHubMock("acme", "api")
      .deleteSecret("production", "PROD_DB_URL")
      .deleteSecret("production", "PAYMENTS_KEY")
      .comment(7)
      .addLabels(7) // another grant is still live: jit:expired added, nothing taken off
      .comment(7)
      .setLabels(7, ["bug", LABELS.granted, LABELS.expired]); // the last one: jit:granted taken off

    await expireGrant(deps, db, log);
    await expireGrant(deps, payments, log);

    // One label write a revocation; the set keeps every label but jit:granted.
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [LABELS.expired] }, { labels: ["bug", LABELS.expired] }]);
    expect(gh.sent.filter((s) => s.path.endsWith("/issues/7/labels")).map((s) => s.method)).toEqual(["POST", "PUT"]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("does not count a 404 as gone when the app can no longer see the repository: the grant stays due", async () => {
    // Removed from the installation: every call answers 404, the secret is still there.
    const grant = await seedGrant(store, DUE_NOW);
    const gh = new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 404);
    gh.scope.get("/repos/acme/api").reply(404, { message: "Not Found" });

    const outcome = await expireGrant(deps, grant, log);

    expect(outcome).toMatchObject({ kind: "retry", error: expect.stringContaining("the app cannot reach acme/api") });
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "active",
      revokeAttempts: 1,
      nextAttemptAt: new Date(EXPIRY_START + 5_000),
    });
    expect((await store.listAudit()).at(-1)).toMatchObject({
      action: "revoke_failed",
      details: { error: expect.stringContaining("removed from the installation") },
    });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("treats an installation that cannot be authenticated as a failed attempt, audited and backed off", async () => {
    const grant = await seedGrant(store, DUE_NOW);
    const suspended = {
      ...deps,
      octokitFor: async () => {
        throw Object.assign(new Error("This installation has been suspended"), { status: 403 });
      },
    };

    const outcome = await expireGrant(suspended, grant, log);

    expect(outcome).toMatchObject({ kind: "retry", error: "This installation has been suspended" });
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 1 });
    expect((await store.listAudit()).at(-1)).toMatchObject({ action: "revoke_failed" });
  });

  it("counts a 404 on DELETE as success when the repository is still visible: the secret is already gone", async () => {
    const grant = await seedGrant(store, DUE_NOW);
    prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 404).repository(), 7);

    expect(await expireGrant(deps, grant, log)).toMatchObject({ kind: "ended", deleted: false });
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", revokeAttempts: 0 });
    expect((await store.listAudit()).at(-1)).toMatchObject({ action: "expired", details: { secretDeleted: false, otherLiveGrants: 0 } });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("keeps the grant live and due with backoff when the DELETE fails, and records why", async () => {
    const grant = await seedGrant(store, DUE_NOW);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 500);

    const outcome = await expireGrant(deps, grant, log);

    expect(outcome).toMatchObject({ kind: "retry", nextAttemptAt: new Date(EXPIRY_START + 5_000) });
    const stored = await store.getGrant(grant.id);
    expect(stored).toMatchObject({ state: "active", revokeAttempts: 1, nextAttemptAt: new Date(EXPIRY_START + 5_000), endedAt: null });
    expect(stored?.lastError).toEqual(expect.any(String));
    expect((await store.listAudit()).at(-1)).toMatchObject({
      action: "revoke_failed",
      grantId: grant.id,
      details: { attempts: 1, nextAttemptAt: new Date(EXPIRY_START + 5_000).toISOString() },
    });
    expect(messages("warn")).toContain(`revocation failed; retrying at ${new Date(EXPIRY_START + 5_000).toISOString()}`);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no comment yet
  });

  it(`tells the PR the secret is still present after ${WARN_AFTER_ATTEMPTS} failed attempts, once`, async () => {
    const grant = await seedGrant(store, DUE_NOW);
    const gh = new GitHubMock("acme", "api");
    for (let attempt = 1; attempt <= WARN_AFTER_ATTEMPTS + 1; attempt++) {
      gh.deleteSecret("production", "PROD_DB_URL", 502);
      if (attempt === WARN_AFTER_ATTEMPTS) gh.comment(7);
      const outcome = await expireGrant(deps, grant, log);
      expect(outcome).toMatchObject({ kind: "retry", grant: { revokeAttempts: attempt } });
      expect(gh.bodies("/issues/7/comments")).toHaveLength(attempt >= WARN_AFTER_ATTEMPTS ? 1 : 0);
    }

    const warning = gh.body<CommentBody>("/issues/7/comments");
    expect(warning.body).toMatch(
      /^\*\*Revocation is failing:\*\* `PROD_DB_URL` is still present in environment `production` after 3 attempts/,
    );
    expect(warning.body).toContain("Settings → Environments → `production`");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("leaves a grant that already ended alone, without calling GitHub", async () => {
    const grant = await seedGrant(store, DUE_NOW, "revoked");

    expect(await expireGrant(deps, grant, log)).toMatchObject({ kind: "not-live", grant: { state: "revoked" } });
    expect(unmatched.requests).toEqual([]);
    expect((await store.listAudit()).map((event) => event.action)).toEqual([]);
  });

  it("does not record a failure when another process ended the grant while this one was deleting", async () => {
    const grant = await seedGrant(store, DUE_NOW);
    // The other process (a second replica, or `jit-access sweep` from cron) ends it first.
    const racing = Object.create(store, {
      countOtherWritten: {
        value: async (...args: Parameters<LedgerStore["countOtherWritten"]>) => {
          await store.markEnded(grant.id, "expired", "expired", new Date(clock.now()));
          return store.countOtherWritten(...args);
        },
      },
    }) as LedgerStore;
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 404).repository();

    const outcome = await expireGrant({ ...deps, store: racing }, grant, log);

    expect(outcome).toMatchObject({ kind: "not-live", grant: { state: "expired" } });
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", revokeAttempts: 0 });
    expect((await store.listAudit()).map((event) => event.action)).not.toContain("revoke_failed");
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe("the end of a grant and its audit record", () => {
  it("stay together: when the audit record cannot be written, the grant stays live and due, and ends on the retry", async () => {
    // A ledger that refuses "expired" audit records, as a disk failing at that moment would.
    const db = new Database(":memory:");
    configureConnection(db, { readonly: false });
    const ledger = new SqliteStore(db);
    const { deps: ledgerDeps, clock: ledgerClock } = revocationDeps(ledger);
    try {
      const grant = await seedGrant(ledger, DUE_NOW);
      db.exec(
        "CREATE TRIGGER no_room BEFORE INSERT ON audit WHEN NEW.action = 'expired' BEGIN SELECT RAISE(ABORT, 'no room for the audit record'); END",
      );
      new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL");

      const outcome = await expireGrant(ledgerDeps, grant, log);

      expect(outcome).toMatchObject({ kind: "retry", error: expect.stringContaining("no room for the audit record") });
      expect(await ledger.getGrant(grant.id)).toMatchObject({
        state: "active",
        endedAt: null,
        revokeAttempts: 1,
        nextAttemptAt: new Date(EXPIRY_START + 5_000),
      });
      expect((await ledger.listAudit()).map((event) => event.action)).toEqual(["revoke_failed"]);
      expect(nock.pendingMocks()).toEqual([]);

      // Once the ledger takes records again, the retry ends the grant and records it.
      db.exec("DROP TRIGGER no_room");
      await ledgerClock.advance(5_000);
      prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 404).repository(), 7);
      const retried = await expireGrant(ledgerDeps, (await ledger.getGrant(grant.id))!, log);

      expect(retried).toMatchObject({ kind: "ended", deleted: false });
      expect((await ledger.listAudit()).map((event) => event.action)).toEqual(["revoke_failed", "expired"]);
      expect(await ledger.verifyAudit()).toMatchObject({ ok: true, count: 2 });
      expect(nock.pendingMocks()).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe("revokeBackoffMs", () => {
  it.each([
    [1, 5_000],
    [2, 10_000],
    [3, 20_000],
    [6, 160_000],
    [7, 300_000],
    [50, 300_000],
  ])("after %i failed attempts waits %i ms", (attempts, ms) => {
    expect(revokeBackoffMs(attempts)).toBe(ms);
  });
});
