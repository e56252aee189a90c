import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore, NewGrant } from "../../src/ledger/store.js";
import { grantFixture } from "../helpers/grant-fixture.js";

const T0 = new Date("2030-01-01T10:00:00.000Z");
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

function newGrant(key: string): NewGrant {
  return grantFixture({ requestKey: key, createdAt: T0, durationMs: 3_600_000, expiresAt: at(60) });
}

describe("deferred grants", () => {
  let store: LedgerStore;
  beforeEach(async () => {
    store = await openLedger("sqlite::memory:");
  });
  afterEach(async () => {
    await store.close();
  });

  it("keeps a deferred grant granting and lists it once its retry time has come, until it expires", async () => {
    const { grant } = await store.beginGrant(newGrant("k1"));
    const deferred = await store.deferGrant(grant.id, "GitHub rate-limited the write", at(1));
    expect(deferred).toMatchObject({ state: "granting", lastError: "GitHub rate-limited the write", nextAttemptAt: at(1) });
    expect(await store.grantsAwaitingRetry(at(0), 10)).toEqual([]);
    expect((await store.grantsAwaitingRetry(at(1), 10)).map((g) => g.id)).toEqual([grant.id]);
    expect(await store.grantsAwaitingRetry(at(60), 10)).toEqual([]);
  });

  it("does not list grants that were never deferred or are no longer granting", async () => {
    const { grant: writing } = await store.beginGrant(newGrant("k1"));
    const { grant: done } = await store.beginGrant(newGrant("k2"));
    await store.deferGrant(done.id, "502", at(1));
    await store.markActive(done.id, at(2));
    expect(await store.grantsAwaitingRetry(at(5), 10)).toEqual([]);
    expect((await store.getGrant(done.id))!).toMatchObject({ state: "active", lastError: null, nextAttemptAt: null });
    expect((await store.getGrant(writing.id))!.nextAttemptAt).toBeNull();
  });

  it("refuses to defer a grant that is not granting", async () => {
    const { grant } = await store.beginGrant(newGrant("k1"));
    await store.markActive(grant.id, at(1));
    await expect(store.deferGrant(grant.id, "x", at(2))).rejects.toThrow(/is active; cannot defer its write/);
  });
});

describe("expiry counts from the grant", () => {
  it("moves the expiry to the moment the secret was written plus the requested duration", async () => {
    const store = await openLedger("sqlite::memory:");
    const { grant } = await store.beginGrant(newGrant("k1"));
    expect(grant.expiresAt).toEqual(at(60));
    const active = await store.markActive(grant.id, at(3));
    expect(active).toMatchObject({ grantedAt: at(3), expiresAt: at(63) });
    await store.close();
  });
});
