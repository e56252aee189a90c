import { afterAll, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerClosedError, type LedgerStore } from "../../src/ledger/store.js";
import { grantFixture, seedGrant } from "../helpers/grant-fixture.js";
import { describePostgres, DROP_TIMEOUT_MS, dropTestSchemas, freshDatabaseUrl } from "../helpers/postgres.js";
import { newGateDecision } from "./ledger-contract.js";

const AT = new Date("2026-03-01T10:00:00Z");

/** Every call on the ledger (the type makes a new method show up here), with arguments it would accept while open. */
function everyCall(store: LedgerStore, id: string): Record<Exclude<keyof LedgerStore, "close">, () => Promise<unknown>> {
  return {
    beginGrant: () => store.beginGrant(grantFixture()),
    markActive: () => store.markActive(id, AT),
    markFailed: () => store.markFailed(id, "x", AT),
    markEnded: () => store.markEnded(id, "expired", "expired", AT),
    recordRevokeFailure: () => store.recordRevokeFailure(id, "x", AT),
    deferGrant: () => store.deferGrant(id, "x", AT),
    markWriting: () => store.markWriting(id),
    recordWriteMark: () => store.recordWriteMark(id, AT),
    grantsAwaitingRetry: () => store.grantsAwaitingRetry(AT, 10),
    getGrant: () => store.getGrant(id),
    listGrants: () => store.listGrants(),
    setRepositoryId: () => store.setRepositoryId("acme", "api", 1296269),
    countOtherWritten: () => store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", id),
    findWriteMark: () => store.findWriteMark("acme", "api", "production", "PROD_DB_URL", AT),
    dueGrants: () => store.dueGrants(AT, 10),
    claimDueGrants: () => store.claimDueGrants(AT, 10, { owner: "replica-a", until: AT }),
    claimGrant: () => store.claimGrant(id, AT, { owner: "replica-a", until: AT }),
    claimInterruptedGrants: () => store.claimInterruptedGrants(AT, AT, 10, { owner: "replica-a", until: AT }),
    releaseClaim: () => store.releaseClaim(id, "replica-a"),
    withSecretLock: () => store.withSecretLock("acme/api\u0000production\u0000PROD_DB_URL", async () => undefined),
    grantsInPeriod: () => store.grantsInPeriod({ from: AT, until: AT }, 10),
    expiringBy: () => store.expiringBy(AT),
    followUp: () => store.followUp(id),
    extendGrant: () => store.extendGrant(id, new Date(AT.getTime() + 86_400_000), 1),
    recordReminder: () => store.recordReminder(id, AT),
    awaitingReminder: () => store.awaitingReminder(AT, 10),
    recordGateDecision: () => store.recordGateDecision(newGateDecision()),
    recordGateAnswer: () =>
      store.recordGateAnswer({ runId: 1, runAttempt: 1, environment: "production" }, { outcome: "accepted", answeredAt: AT }),
    getGateDecision: () => store.getGateDecision({ runId: 1, runAttempt: 1, environment: "production" }),
    recordBreakGlassReview: () => store.recordBreakGlassReview(id, { id: 1, login: "bob" }, AT),
    unreviewedBreakGlass: () => store.unreviewedBreakGlass(),
    enqueueNotifications: () => store.enqueueNotifications([{ url: "http://127.0.0.1:9/x", event: "granted", body: "{}", createdAt: AT }]),
    dueNotifications: () => store.dueNotifications(AT, 10),
    recordNotificationDelivered: () => store.recordNotificationDelivered("n", AT),
    recordNotificationFailure: () => store.recordNotificationFailure("n", "x", AT, null),
    listNotifications: () => store.listNotifications(),
    recordRequestHead: () =>
      store.recordRequestHead({
        installationId: 1,
        owner: "acme",
        repo: "api",
        prNumber: 1,
        headSha: "a".repeat(40),
        firstEvaluatedAt: AT,
        ttlMs: 1000,
      }),
    getRequestHead: () => store.getRequestHead({ owner: "acme", repo: "api", prNumber: 1, headSha: "a".repeat(40) }),
    lapsingRequestHeads: () => store.lapsingRequestHeads(AT, 10),
    settleRequestHead: () => store.settleRequestHead({ owner: "acme", repo: "api", prNumber: 1, headSha: "a".repeat(40) }, "lapsed", AT),
    recordDelivery: () => store.recordDelivery({ id: "d-1", event: "ping", payload: "{}", receivedAt: AT }),
    recordDeliveries: () => store.recordDeliveries([{ id: "d-1", event: "ping", payload: "{}", receivedAt: AT }]),
    claimDeliveries: () => store.claimDeliveries({ owner: "p", now: AT, leaseMs: 1000, limit: 1, maxAttempts: 3 }),
    completeDelivery: () => store.completeDelivery("d-1", "p", AT),
    failDelivery: () => store.failDelivery("d-1", "p", "x", AT, null),
    releaseDeliveries: () => store.releaseDeliveries("p"),
    getDelivery: () => store.getDelivery("d-1"),
    listDeliveries: () => store.listDeliveries("dead", 10),
    countDeliveries: () => store.countDeliveries(),
    pruneDeliveries: () => store.pruneDeliveries(AT),
    recordRedelivery: () => store.recordRedelivery("g-1", 1, AT),
    appendAudit: () => store.appendAudit({ at: AT, action: "expired", actor: "jit-access", owner: "acme", repo: "api" }),
    listAudit: () => store.listAudit(),
    verifyAudit: () => store.verifyAudit(),
    planAuditArchive: () => store.planAuditArchive(AT),
    archiveAudit: () =>
      store.archiveAudit({ firstSeq: 1, lastSeq: 1, count: 1, prevHash: "0".repeat(64), headHash: "1".repeat(64), before: AT }, AT, {
        at: AT,
        action: "archived",
        actor: "operator:dana",
        owner: "-",
        repo: "-",
      }),
    listAuditArchives: () => store.listAuditArchives(),
  };
}

afterAll(dropTestSchemas, DROP_TIMEOUT_MS);

async function rejectsEveryCallOnceClosed(store: LedgerStore): Promise<void> {
  const { id } = await seedGrant(store);
  await store.close();
  await expect(store.close()).resolves.toBeUndefined();

  const calls = everyCall(store, id);
  for (const [name, call] of Object.entries(calls)) {
    const error = await call().then(
      () => new Error(`${name} resolved on a closed ledger`),
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(LedgerClosedError);
    expect((error as LedgerClosedError).message).toMatch(/^the ledger is closed; cannot \S/);
  }
}

describe("a closed SQLite ledger", () => {
  it("rejects every call with LedgerClosedError naming the operation, and closing again is harmless", async () => {
    await rejectsEveryCallOnceClosed(await openLedger("sqlite::memory:"));
  });
});

describePostgres("a closed PostgreSQL ledger", () => {
  it("rejects every call with LedgerClosedError naming the operation, and closing again is harmless", async () => {
    await rejectsEveryCallOnceClosed(await openLedger(await freshDatabaseUrl()));
  });

  it("lets the calls under way when it was closed finish, and rejects the ones after", async () => {
    const store = await openLedger(await freshDatabaseUrl());
    const { id } = await seedGrant(store);
    const underWay = store.getGrant(id);
    const closing = store.close();
    await expect(store.getGrant(id)).rejects.toBeInstanceOf(LedgerClosedError);
    await expect(underWay).resolves.toMatchObject({ id });
    await closing;
  });
});
