import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { ExpiryScheduler } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerClosedError, type Grant, type LedgerStore } from "../../src/ledger/store.js";
import { onStopSignals, shutDown } from "../../src/app/shutdown.js";
import { ManualClock } from "../../src/util/clock.js";
import { gatedLedger, type GatedLedger } from "../helpers/gated-ledger.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

/**
 * The app's stop sequence (src/app/shutdown.ts, what `npm start` runs on SIGTERM) against work under
 * way: nothing touches the ledger once it is closed, what was started finishes and is recorded,
 * what was not stays due for the next start.
 */
const SWEEP_EVERY = 60_000;
const HOUR = 3_600_000;

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
let ledger: LedgerStore;
let gated: GatedLedger;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
let recorded: ReturnType<typeof recordingLog>;

beforeEach(async () => {
  dir = await tempLedgerDir();
  ledger = await openLedger(dir.url());
  gated = gatedLedger(ledger);
  unmatched = recordUnmatchedRequests();
  recorded = recordingLog();
});
afterEach(async () => {
  unmatched.stop();
  nock.cleanAll();
  await ledger.close();
  await dir.remove();
});
afterAll(() => {
  nock.enableNetConnect();
});

/** One overdue grant per secret, PR #10, #11, … in order of expiry (the sweep's order). */
async function seedOverdue(secrets: string[]): Promise<Grant[]> {
  const grants: Grant[] = [];
  for (const [i, secret] of secrets.entries()) {
    grants.push(
      await seedGrant(ledger, { secret, prNumber: 10 + i, createdAt: new Date(EXPIRY_START - 3 * HOUR + i * 60_000), durationMs: HOUR }),
    );
  }
  return grants;
}

function expiryCalls(secret: string, prNumber: number): GitHubMock {
  const gh = new GitHubMock("acme", "api").deleteSecret("production", secret).comment(prNumber).setLabels(prNumber);
  return gh;
}

function scheduler(
  store: LedgerStore,
  options: { pageSize?: number; concurrency?: number } = {},
): { scheduler: ExpiryScheduler; clock: ManualClock } {
  const clock = new ManualClock(EXPIRY_START);
  const { deps } = revocationDeps(store, clock);
  return { scheduler: new ExpiryScheduler(deps, recorded.log, SWEEP_EVERY, options), clock };
}

async function stateOf(grants: Grant[]): Promise<string[]> {
  const reopened = await openLedger(dir.url());
  try {
    return await Promise.all(grants.map(async (grant) => (await reopened.getGrant(grant.id))!.state));
  } finally {
    await reopened.close();
  }
}

describe("stopping the app while a sweep is between pages", () => {
  it("finishes the page's revocation, reads no further page, closes the ledger last; the rest stay due for the next start", async () => {
    const grants = await seedOverdue(["A_KEY", "B_KEY", "C_KEY"]);
    const first = expiryCalls("A_KEY", 10);
    const secondPage = gated.hold("claimDueGrants", 2);
    const { scheduler: expiry } = scheduler(gated.store, { pageSize: 1 });

    const starting = expiry.start();
    await secondPage.reached; // page 1 (A_KEY) is being revoked; the sweep asks for page 2
    const stopping = shutDown({ scheduler: expiry, ledger: gated.store });
    secondPage.release();

    expect(await stopping).toEqual([]);
    await starting;
    expect(first.scope.isDone()).toBe(true);
    expect(unmatched.requests).toEqual([]); // nothing was sent for B_KEY or C_KEY
    expect(gated.calls.filter((call) => call === "claimDueGrants")).toHaveLength(2);
    expect(gated.calls.at(-1)).toBe("close");
    expect(gated.calls.indexOf("markEnded")).toBeLessThan(gated.calls.indexOf("close"));
    expect(gated.afterClose).toEqual([]);
    expect(recorded.messages("error")).toEqual([]);
    expect(recorded.messages("warn")).toEqual([]);
    expect(await stateOf(grants)).toEqual(["expired", "active", "active"]);

    // The next start revokes the two left, from the first sweep.
    const restarted = await openLedger(dir.url());
    try {
      expiryCalls("B_KEY", 11);
      expiryCalls("C_KEY", 12);
      const { scheduler: next } = scheduler(restarted, { pageSize: 1 });
      await next.start();
      expect(await shutDown({ scheduler: next, ledger: restarted })).toEqual([]);
    } finally {
      await restarted.close();
    }
    expect(nock.pendingMocks()).toEqual([]);
    expect(await stateOf(grants)).toEqual(["expired", "expired", "expired"]);
  });

  it("waits for an exact timer's revocation under way before it closes the ledger", async () => {
    const grant = await seedGrant(ledger, {
      secret: "TIMER_KEY",
      prNumber: 20,
      createdAt: new Date(EXPIRY_START - HOUR),
      durationMs: HOUR + 30_000,
    });
    const { scheduler: expiry, clock } = scheduler(gated.store);
    await expiry.start();
    expect(expiry.armed).toBe(1);

    expiryCalls("TIMER_KEY", 20);
    const recording = gated.hold("markEnded", 1);
    await clock.advance(30_000);
    await recording.reached; // the DELETE is done; the ledger write is next
    const stopping = shutDown({ scheduler: expiry, ledger: gated.store });
    recording.release();

    expect(await stopping).toEqual([]);
    expect(gated.afterClose).toEqual([]);
    expect(gated.calls.at(-1)).toBe("close");
    expect(nock.pendingMocks()).toEqual([]);
    expect(recorded.messages("error")).toEqual([]);
    expect(await stateOf([grant])).toEqual(["expired"]);
  });

  it("a ledger closed under a running sweep (no stop first) ends the sweep quietly: no error, no unhandled rejection", async () => {
    const grants = await seedOverdue(["A_KEY", "B_KEY"]);
    new GitHubMock("acme", "api").deleteSecret("production", "A_KEY");
    const secondPage = gated.hold("claimDueGrants", 2);
    const { scheduler: expiry } = scheduler(gated.store, { pageSize: 1 });

    const starting = expiry.start();
    await secondPage.reached;
    await ledger.close();
    secondPage.release();

    await expect(starting).resolves.toBeUndefined();
    await expect(expiry.stop()).resolves.toBeUndefined();
    expect(recorded.messages("error")).toEqual([]);
    expect(recorded.messages("info")).toContain("the ledger closed during the sweep; the grants left stay due");
    await expect(gated.store.getGrant(grants[0]!.id)).rejects.toBeInstanceOf(LedgerClosedError);
    expect(await stateOf(grants)).toEqual(["active", "active"]);
  });
});

describe("stopping the app while a sweep is in the middle of a page", () => {
  it("finishes the revocation under way, starts none of the page's others and releases their claims at once; closes the ledger last", async () => {
    const grants = await seedOverdue(["A_KEY", "B_KEY", "C_KEY"]);
    const first = expiryCalls("A_KEY", 10);
    // One page of all three; one revocation at a time, so B_KEY and C_KEY wait for A_KEY's slot.
    const recording = gated.hold("markEnded", 1);
    const { scheduler: expiry } = scheduler(gated.store, { pageSize: 3, concurrency: 1 });

    const starting = expiry.start();
    await recording.reached; // A_KEY's DELETE is done, its ledger write is next; the page's rest waits
    const stopping = shutDown({ scheduler: expiry, ledger: gated.store });
    recording.release();

    expect(await stopping).toEqual([]);
    await starting;
    expect(first.scope.isDone()).toBe(true);
    expect(unmatched.requests).toEqual([]); // nothing was sent for B_KEY or C_KEY
    expect(gated.calls.filter((call) => call === "claimDueGrants")).toHaveLength(1);
    expect(gated.calls.filter((call) => call === "releaseClaim")).toHaveLength(3);
    expect(gated.calls.at(-1)).toBe("close");
    expect(gated.afterClose).toEqual([]);
    expect(recorded.messages("error")).toEqual([]);
    expect(recorded.messages("warn")).toEqual([]);
    expect(await stateOf(grants)).toEqual(["expired", "active", "active"]);

    // Released, not left to their 10-minute lease: another replica claims both right away.
    const replica = await openLedger(dir.url());
    try {
      const now = new Date(EXPIRY_START);
      const claimed = await replica.claimDueGrants(now, 10, { owner: "another-replica", until: new Date(EXPIRY_START + 60_000) });
      expect(claimed.map((grant) => grant.secret)).toEqual(["B_KEY", "C_KEY"]);
    } finally {
      await replica.close();
    }
  });
});

describe("shutDown", () => {
  it("stops taking work everywhere at once, waits for it, then closes the server, then the ledger, even when a step fails", async () => {
    const order: string[] = [];
    let drained!: () => void;
    let workerDone!: () => void;
    const server = {
      drain: () => {
        order.push("server draining");
        return new Promise<void>((resolve) => (drained = resolve)).then(() => void order.push("server drained"));
      },
      stop: async () => void order.push("server stopped"),
    };
    const failing = {
      stop: async () => {
        order.push("scheduler stop called");
        throw new Error("the scheduler was already broken");
      },
    };
    const worker = {
      name: "the catch-up",
      stop: () => {
        order.push("worker stop called");
        return new Promise<void>((resolve) => (workerDone = resolve)).then(() => void order.push("worker stopped"));
      },
    };
    const closing = { close: async () => void order.push("ledger closed") };

    const stopping = shutDown({ server, scheduler: failing, workers: [worker], ledger: closing });
    // All stop taking work at once (the scheduler is not left firing timers while the server
    // drains); the server keeps answering (probes) until the work under way is done.
    expect(order).toEqual(["server draining", "scheduler stop called", "worker stop called"]);
    drained();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).not.toContain("server stopped");
    workerDone();
    const failures = await stopping;
    expect(order.slice(3)).toEqual(["server drained", "worker stopped", "server stopped", "ledger closed"]);
    expect(failures.map((failure) => failure.message)).toEqual(["stopping the expiry scheduler failed: the scheduler was already broken"]);
  });

  it("a second stop signal while stopping exits at once: 143 after SIGTERM, 130 after SIGINT", () => {
    const handlers = new Map<string, () => void>();
    const exits: number[] = [];
    const said: string[] = [];
    const stops: string[] = [];
    const target = {
      on: (signal: NodeJS.Signals, listener: () => void) => handlers.set(signal, listener),
      exit: (code: number) => exits.push(code),
    };
    onStopSignals(
      async (signal) => void stops.push(signal),
      target,
      (line) => said.push(line),
    );
    handlers.get("SIGTERM")!();
    expect([stops, exits]).toEqual([["SIGTERM"], []]);
    handlers.get("SIGTERM")!();
    handlers.get("SIGINT")!();
    expect([stops, exits]).toEqual([["SIGTERM"], [143, 130]]);
    expect(said[0]).toMatch(/^jit-access: SIGTERM again while stopping \(after SIGTERM\): exiting now/);
  });
});
