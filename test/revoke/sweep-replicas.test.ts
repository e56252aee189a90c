import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { CLAIM_LEASE_MS, sweepOnce } from "../../src/revoke/sweep.js";
import { ExpiryScheduler } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { SecretLocks } from "../../src/ledger/secret-locks.js";
import { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { gatedLedger } from "../helpers/gated-ledger.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

/**
 * Two processes sweep one ledger file (the server and `jit-access sweep` from cron, or two
 * replicas): each claims what it revokes, so every due grant is revoked once, by one of them.
 */
const HOUR = 3_600_000;
const ago = (ms: number): Date => new Date(EXPIRY_START - ms);

let dir: string;
let stores: LedgerStore[];
const servers: ExpiryScheduler[] = [];
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log } = recordingLog();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "jit-sweep-replicas-"));
  const url = `sqlite:${join(dir, "ledger.db")}`;
  stores = [await openLedger(url), await openLedger(url)];
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  unmatched.stop();
  nock.cleanAll();
  await Promise.all(stores.map((store) => store.close()));
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  nock.enableNetConnect();
});

function expiryCalls(gh: GitHubMock, grant: Grant): void {
  gh.deleteSecret("production", grant.secret).comment(grant.prNumber).setLabels(grant.prNumber);
}

/** One process: its own ledger connection, clock, GitHub client and locks across processes. */
function replica(store: LedgerStore, clock = new ManualClock(EXPIRY_START)) {
  const { deps } = revocationDeps(store, clock);
  return { deps: { ...deps, locks: new SecretLocks(store) }, clock };
}

const SWEEP_EVERY = 60_000;
const LEASE_MS = 2 * SWEEP_EVERY;

/** A server process of a replicated deployment: its exact timers and sweep, on its own ledger handle and clock. */
function server(store: LedgerStore, owner: string) {
  const { deps, clock } = replica(store);
  const scheduler = new ExpiryScheduler(deps, log, SWEEP_EVERY, { sharedLedger: true, claimOwner: owner, claimLeaseMs: LEASE_MS });
  servers.push(scheduler);
  return { scheduler, clock };
}

describe("sweeps by two processes on one ledger", () => {
  it("split the due grants: each is revoked once, its DELETE sent once", async () => {
    const due = await Promise.all(
      ["A_KEY", "B_KEY", "C_KEY", "D_KEY", "E_KEY"].map((secret, i) =>
        seedGrant(stores[0]!, { secret, prNumber: 10 + i, createdAt: ago(3 * HOUR + i) }),
      ),
    );
    const gh = new GitHubMock("acme", "api");
    due.forEach((grant) => expiryCalls(gh, grant));
    const [one, two] = [replica(stores[0]!), replica(stores[1]!)];

    const results = await Promise.all([
      sweepOnce(one.deps, log, { pageSize: 2, claimOwner: "replica-a" }),
      sweepOnce(two.deps, log, { pageSize: 2, claimOwner: "replica-b" }),
    ]);

    expect(results[0].due + results[1].due).toBe(5);
    expect(results[0].ended + results[1].ended).toBe(5);
    for (const grant of due) expect((await stores[1]!.getGrant(grant.id))?.state).toBe("expired");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no second DELETE, comment or label call
    expect((await stores[0]!.listAudit()).filter((record) => record.action === "expired")).toHaveLength(5);
  });

  it("leave a grant claimed by a process that died until the claim's lease ends, then another revokes it", async () => {
    const grant = await seedGrant(stores[0]!, { createdAt: ago(3 * HOUR) });
    // The first process claimed it and died before revoking it.
    const clock = new ManualClock(EXPIRY_START);
    expect(
      await stores[0]!.claimDueGrants(new Date(clock.now()), 10, { owner: "died", until: new Date(clock.now() + CLAIM_LEASE_MS) }),
    ).toHaveLength(1);
    const survivor = replica(stores[1]!, clock);

    expect(await sweepOnce(survivor.deps, log, { claimOwner: "survivor" })).toEqual({ due: 0, ended: 0, retrying: 0 });
    expect(unmatched.requests).toEqual([]);

    await clock.advance(CLAIM_LEASE_MS);
    expiryCalls(new GitHubMock("acme", "api"), grant);
    expect(await sweepOnce(survivor.deps, log, { claimOwner: "survivor" })).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect((await stores[0]!.getGrant(grant.id))?.state).toBe("expired");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});

describe("exact timers of two replicas on one ledger", () => {
  /** A grant written by the replica `writer` at the start, expiring 30 s later (no reminder falls due: it is written after the first tick). */
  const written = async (writer: ExpiryScheduler, store: LedgerStore): Promise<Grant> => {
    const grant = await seedGrant(store, { createdAt: ago(HOUR), durationMs: HOUR + 30_000 });
    writer.track(grant);
    return grant;
  };

  it("the replica that wrote a grant ends it at its expiry, and the other's sweep passes it over while it does", async () => {
    const gated = gatedLedger(stores[0]!);
    const [a, b] = [server(gated.store, "replica-a"), server(stores[1]!, "replica-b")];
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    const grant = await written(a.scheduler, stores[0]!);
    expect([a.scheduler.armed, b.scheduler.armed]).toEqual([1, 0]);

    // A's timer fires at the expiry; its revocation is held after the DELETE, before the ledger records the end.
    expiryCalls(new GitHubMock("acme", "api"), grant);
    const recording = gated.hold("markEnded", 1);
    await a.clock.advance(30_000);
    await recording.reached;
    // B's periodic sweep runs meanwhile: the grant is due, and A holds its claim.
    await b.clock.advance(SWEEP_EVERY);
    await b.scheduler.idle();
    expect(await b.scheduler.sweep()).toEqual({ due: 0, ended: 0, retrying: 0 });
    expect(b.scheduler.armed).toBe(0);
    recording.release();
    await a.scheduler.idle();

    expect(await stores[1]!.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: grant.expiresAt });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no second DELETE, comment or label call
    expect((await stores[1]!.listAudit()).filter((record) => record.action === "expired")).toHaveLength(1);
  });

  it("a replica that died with timers for grants it wrote: the other's next sweep ends them", async () => {
    const [a, b] = [server(stores[0]!, "replica-a"), server(stores[1]!, "replica-b")];
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    const grant = await written(a.scheduler, stores[0]!);
    // A dies before the expiry: its timer never fires (it had claimed nothing yet).
    servers.splice(servers.indexOf(a.scheduler), 1);
    await a.scheduler.stop();

    await b.clock.advance(30_000);
    await b.scheduler.idle();
    expect((await stores[1]!.getGrant(grant.id))?.state).toBe("active");
    expiryCalls(new GitHubMock("acme", "api"), grant);
    await b.clock.advance(SWEEP_EVERY - 30_000);
    await b.scheduler.idle();
    expect(await stores[1]!.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + SWEEP_EVERY) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("a replica that died mid-revocation on its timer: the other's sweep ends the grant once the timer's claim has lapsed", async () => {
    const gated = gatedLedger(stores[0]!);
    const [a, b] = [server(gated.store, "replica-a"), server(stores[1]!, "replica-b")];
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    const grant = await written(a.scheduler, stores[0]!);
    // A's timer claims the grant and stops for good before it takes the secret's lock: the process is gone.
    const dead = gated.hold("withSecretLock", 1);
    servers.splice(servers.indexOf(a.scheduler), 1);
    await a.clock.advance(30_000);
    await dead.reached;

    // B's sweeps pass the grant over while A's claim holds (claimed at 30 s for LEASE_MS).
    for (let tick = 1; tick * SWEEP_EVERY < 30_000 + LEASE_MS; tick++) {
      await b.clock.advance(SWEEP_EVERY);
      await b.scheduler.idle();
      expect((await stores[1]!.getGrant(grant.id))?.state).toBe("active");
    }
    expect(unmatched.requests).toEqual([]);
    expiryCalls(new GitHubMock("acme", "api"), grant);
    await b.clock.advance(SWEEP_EVERY);
    await b.scheduler.idle();
    expect(await stores[1]!.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START + 3 * SWEEP_EVERY) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});
