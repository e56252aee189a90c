import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { ExpiryScheduler, type SchedulerOptions } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { revokeBackoffMs, revokeGrant } from "../../src/revoke/revoke-grant.js";
import { ManualClock } from "../../src/util/clock.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const SWEEP_EVERY = 60_000;
const HOUR = 3_600_000;
/** A grant written at `createdAt` for `durationMs` expires `ms` from the scheduler's start. */
const expiringIn = (ms: number) => ({ createdAt: new Date(EXPIRY_START - HOUR), durationMs: HOUR + ms });

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
let store: LedgerStore;
let scheduler: ExpiryScheduler | undefined;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log, entries } = recordingLog();

beforeEach(async () => {
  dir = await tempLedgerDir();
  store = await openLedger(dir.url());
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  unmatched.stop();
  nock.cleanAll();
  await store.close();
  await dir.remove();
});
afterAll(() => {
  nock.enableNetConnect();
});

function expiryCalls(secret: string, prNumber = 7): GitHubMock {
  const gh = new GitHubMock("acme", "api").deleteSecret("production", secret).comment(prNumber).setLabels(prNumber);
  return gh;
}

/** The reminder before expiry: a grant due within 10 minutes gets it at the first tick. */
function reminderCall(prNumber = 7): GitHubMock {
  return new GitHubMock("acme", "api").comment(prNumber);
}

function startScheduler(
  on: LedgerStore,
  clock = new ManualClock(EXPIRY_START),
  options: SchedulerOptions = {},
): { scheduler: ExpiryScheduler; clock: ManualClock } {
  const { deps } = revocationDeps(on, clock);
  scheduler = new ExpiryScheduler(deps, log, SWEEP_EVERY, options);
  return { scheduler, clock };
}

describe("ExpiryScheduler", () => {
  it("after a restart, revokes the grants that expired while the app was down, at start()", async () => {
    const overdue = [
      await seedGrant(store, { ...expiringIn(-30 * 60_000), secret: "PROD_DB_URL", prNumber: 7 }),
      await seedGrant(store, { ...expiringIn(-5 * 60_000), secret: "PAYMENTS_KEY", prNumber: 8 }),
    ];
    await store.close();
    store = await openLedger(dir.url()); // the restarted process opens the same ledger file
    expiryCalls("PROD_DB_URL", 7);
    expiryCalls("PAYMENTS_KEY", 8);

    await startScheduler(store).scheduler.start();

    for (const grant of overdue) {
      expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START) });
    }
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("arms an exact timer for a grant due before the next sweep, which fires at the expiry", async () => {
    const grant = await seedGrant(store, expiringIn(30_000));
    reminderCall();
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(29_999);
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(nock.pendingMocks()).toHaveLength(4);

    await clock.advance(1);
    await scheduler.idle(); // the timer's revocation runs its course: DELETE, ledger, PR
    expect((await store.getGrant(grant.id))?.state).toBe("expired");
    // Ended at its expiry, 30 s before the next periodic sweep would have run.
    expect((await store.getGrant(grant.id))?.endedAt).toEqual(grant.expiresAt);
    expect(scheduler.armed).toBe(0);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("leaves a grant due after the next sweep to that sweep, which then arms its timer", async () => {
    const grant = await seedGrant(store, expiringIn(90_000));
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(0);

    await clock.advance(SWEEP_EVERY);
    await scheduler.idle();
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(30_000);
    await scheduler.idle();
    expect((await store.getGrant(grant.id))?.state).toBe("expired");
    expect((await store.getGrant(grant.id))?.endedAt).toEqual(grant.expiresAt);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("tracks a grant that becomes active while running only when it is due before the next sweep", async () => {
    const { scheduler } = startScheduler(store);
    await scheduler.start();

    scheduler.track(await seedGrant(store, { ...expiringIn(2 * HOUR), secret: "LATER_KEY" }));
    expect(scheduler.armed).toBe(0);
    scheduler.track(await seedGrant(store, expiringIn(10_000)));
    expect(scheduler.armed).toBe(1);
  });

  it("retries a failed revocation on its timer once the backoff has passed, not at the next sweep", async () => {
    const grant = await seedGrant(store, expiringIn(-1_000));
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 503);
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 1 });
    expect(scheduler.armed).toBe(1);

    await clock.advance(revokeBackoffMs(1) - 1);
    expect(unmatched.requests).toEqual([]);
    expiryCalls("PROD_DB_URL");
    await clock.advance(1);
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + revokeBackoffMs(1)) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("moves a grant's timer when the grant is written with a later expiry than the one it was armed for", async () => {
    // Deferred since 20 s before start: the write-ahead expiry is 30 s away, so its timer is armed.
    const deferred = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 20_000), durationMs: 50_000 }, "granting");
    await store.deferGrant(deferred.id, "GitHub answered 502", new Date(EXPIRY_START + 25_000));
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(1);

    // Written now: access lasts its 50 s from the write.
    const written = await store.markActive(deferred.id, new Date(clock.now()));
    scheduler.track(written);
    await clock.advance(30_000);
    await scheduler.idle();
    expect((await store.getGrant(deferred.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);

    expiryCalls("PROD_DB_URL");
    await clock.advance(20_000);
    await scheduler.idle();
    expect(await store.getGrant(deferred.id)).toMatchObject({ state: "expired", endedAt: written.expiresAt });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("re-reads the grant when its timer fires, and re-arms for the expiry it has now", async () => {
    // Deferred (not interrupted: the pass over interrupted grants leaves it); written before its retry is due.
    const deferred = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 20_000), durationMs: 50_000 }, "granting");
    await store.deferGrant(deferred.id, "GitHub answered 502", new Date(EXPIRY_START + 25_000));
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(1);
    // Another process writes it a second later; this one is not told.
    await store.markActive(deferred.id, new Date(EXPIRY_START + 1_000));

    await clock.advance(30_000);
    await scheduler.idle();
    expect((await store.getGrant(deferred.id))?.state).toBe("active");
    expect(scheduler.armed).toBe(1);
    expect(unmatched.requests).toEqual([]);

    expiryCalls("PROD_DB_URL");
    await clock.advance(21_000);
    await scheduler.idle();
    expect(await store.getGrant(deferred.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + 51_000) });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("ends a grant found in the ledger at start-up by the wall clock, and logs a step of it", async () => {
    const grant = await seedGrant(store, expiringIn(30_000));
    reminderCall();
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(1);

    await clock.advance(10_000);
    clock.stepWall(-10 * 60_000);
    // The timer armed for 30 s fires; by the wall clock the grant has ten minutes more.
    await clock.advance(20_000);
    await scheduler.idle();
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);

    await clock.advance(30_000); // the next sweep
    expect(entries.filter((e) => e.level === "warn" && e.message.startsWith("the wall clock stepped back 600 s"))).toHaveLength(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(10 * 60_000 - 30_000);
    await scheduler.idle();
    expect(clock.monotonic()).toBe(630_000);
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: grant.expiresAt });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("retries a failed early end on its timer when the backoff ends, and ends the grant as that early end says", async () => {
    // The PR was closed with an hour left on the grant; GitHub answered 502 to the DELETE.
    const grant = await seedGrant(store, expiringIn(HOUR));
    const { scheduler, clock } = startScheduler(store);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 502);
    const { deps } = revocationDeps(store, clock);
    await revokeGrant(deps, { grant, kind: "revoked", reason: "pull request closed without merging", actor: "alice" }, log);
    await scheduler.start();

    // The sweep a minute later meets another 502; the grant's timer takes the next attempt, 10 s on.
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 502);
    await clock.advance(SWEEP_EVERY);
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 2 });
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(revokeBackoffMs(2));
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "revoked",
      endReason: "pull request closed without merging",
      endedAt: new Date(EXPIRY_START + SWEEP_EVERY + revokeBackoffMs(2)),
    });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("on a ledger of its own, ends a grant at its timer although a previous run of the process claimed it and crashed", async () => {
    const grant = await seedGrant(store, expiringIn(30_000));
    // The previous run's timer claimed it for ten minutes and the process died mid-revocation.
    expect(
      await store.claimGrant(grant.id, new Date(EXPIRY_START), { owner: "previous-run", until: new Date(EXPIRY_START + 600_000) }),
    ).not.toBeNull();
    reminderCall();
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(30_000);
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: grant.expiresAt });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("stop() cancels the exact timers and the periodic sweep", async () => {
    await seedGrant(store, expiringIn(30_000));
    reminderCall();
    const { scheduler, clock } = startScheduler(store);
    await scheduler.start();
    expect(clock.pendingTimers).toBe(2); // the grant's timer and the next sweep

    await scheduler.stop();
    expect(scheduler.armed).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(2 * SWEEP_EVERY);
    expect(unmatched.requests).toEqual([]);
  });
});

describe("ExpiryScheduler on a ledger replicas share", () => {
  const shared = { sharedLedger: true, claimOwner: "replica-a", claimLeaseMs: 5 * 60_000 };

  it("arms no timer for a grant found in the ledger: its sweep ends it, within an interval of the expiry", async () => {
    const grant = await seedGrant(store, expiringIn(30_000));
    reminderCall();
    const { scheduler, clock } = startScheduler(store, undefined, shared);
    await scheduler.start();
    expect(scheduler.armed).toBe(0);

    await clock.advance(30_000);
    await scheduler.idle();
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);

    expiryCalls("PROD_DB_URL");
    await clock.advance(SWEEP_EVERY - 30_000);
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + SWEEP_EVERY) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("arms a timer for a grant it wrote, which claims the grant, ends it at its expiry and releases the claim", async () => {
    const { scheduler, clock } = startScheduler(store, undefined, shared);
    await scheduler.start();
    const grant = await seedGrant(store, expiringIn(30_000));
    scheduler.track(grant);
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(30_000);
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: grant.expiresAt });
    expect(nock.pendingMocks()).toEqual([]);
    // Released: the claim no longer holds (another claimer could take the grant were it live).
    expect(await store.releaseClaim(grant.id, "replica-a")).toBe(false);
  });

  it("leaves a grant another process has claimed to that process when its timer fires, and ends it once that claim's lease is over", async () => {
    const { scheduler, clock } = startScheduler(store, undefined, shared);
    await scheduler.start();
    const grant = await seedGrant(store, expiringIn(30_000));
    scheduler.track(grant);
    // Another replica's sweep (its clock a little ahead) claimed it, and died.
    const leaseEnds = new Date(EXPIRY_START + 90_000);
    expect(await store.claimGrant(grant.id, new Date(EXPIRY_START + 30_000), { owner: "replica-b", until: leaseEnds })).not.toBeNull();

    await clock.advance(30_000);
    await scheduler.idle();
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);
    expect(entries.filter((e) => e.level === "debug" && e.message.includes("another process held its claim"))).toHaveLength(1);

    await clock.advance(SWEEP_EVERY - 30_000); // the sweep at 60 s: the lease still holds
    await scheduler.idle();
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);

    expiryCalls("PROD_DB_URL");
    await clock.advance(SWEEP_EVERY); // the sweep at 120 s, past the lease
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + 2 * SWEEP_EVERY) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("arms a timer for the retry of a due grant its sweep claimed and could not end", async () => {
    const grant = await seedGrant(store, expiringIn(-1_000));
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 503);
    const { scheduler, clock } = startScheduler(store, undefined, shared);
    await scheduler.start();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 1 });
    expect(scheduler.armed).toBe(1);

    expiryCalls("PROD_DB_URL");
    await clock.advance(revokeBackoffMs(1));
    await scheduler.idle();
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + revokeBackoffMs(1)) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});
