/**
 * The inbox processor against a real ledger (SQLite in memory) and a manual clock: deliveries
 * recorded once, processed once, retried with backoff, kept as dead after the last attempt, taken
 * over by another process when the first one died, and removed after their retention.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { INBOX_CONCURRENCY, InboxProcessor, inboxBackoffMs, type InboxEvent } from "../../src/inbox/inbox-processor.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerStorageError, type LedgerStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { leaveSlot } from "../../src/util/work-slot.js";
import { gatedLedger } from "../helpers/gated-ledger.js";
import { recordingLog } from "../helpers/recording-log.js";

let store: LedgerStore;
let clock: ManualClock;
const processors: InboxProcessor[] = [];

beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  clock = new ManualClock(Date.parse("2026-03-01T10:00:00Z"));
});
afterEach(async () => {
  for (const processor of processors.splice(0)) await processor.stop();
  await store.close();
});

function processor(
  handle: (event: InboxEvent) => Promise<void>,
  owner = "replica-a",
  options: { maxAttempts?: number; pollMs?: number; store?: LedgerStore } = {},
) {
  const logs = recordingLog();
  const made = new InboxProcessor({ store, clock, log: logs.log, handle, owner, pollMs: 10_000, leaseMs: 60_000, ...options });
  processors.push(made);
  return { processor: made, logs };
}

const body = (number: number): string => JSON.stringify({ action: "opened", number });

describe("the inbox processor", () => {
  it("processes a recorded delivery once, and drops the same delivery sent again", async () => {
    const seen: InboxEvent[] = [];
    const { processor: inbox } = processor(async (event) => {
      seen.push(event);
    });
    inbox.start();
    expect(await inbox.accept({ id: "d-1", name: "pull_request", body: body(1) })).toBe("new");
    await inbox.idle();
    expect(await inbox.accept({ id: "d-1", name: "pull_request", body: body(1) })).toBe("duplicate");
    await inbox.idle();
    expect(seen).toEqual([{ id: "d-1", name: "pull_request", payload: { action: "opened", number: 1 } }]);
    expect(await store.getDelivery("d-1")).toMatchObject({ state: "done", attempts: 1 });
  });

  it("retries a failing delivery with backoff, then keeps it as dead with its error, logged at error", async () => {
    let calls = 0;
    const { processor: inbox, logs } = processor(
      async () => {
        calls += 1;
        throw new Error("GitHub answered 502");
      },
      "replica-a",
      { maxAttempts: 3 },
    );
    inbox.start();
    await inbox.accept({ id: "d-1", name: "pull_request", body: body(1) });
    await inbox.idle();
    expect(calls).toBe(1);
    expect(await store.getDelivery("d-1")).toMatchObject({ state: "pending", lastError: "GitHub answered 502" });

    await clock.advance(inboxBackoffMs(1) - 1_000, () => inbox.idle());
    expect(calls).toBe(1);
    await clock.advance(1_000, () => inbox.idle());
    expect(calls).toBe(2);
    await clock.advance(inboxBackoffMs(2), () => inbox.idle());
    expect(calls).toBe(3);
    expect(await store.getDelivery("d-1")).toMatchObject({ state: "dead", attempts: 3, lastError: "GitHub answered 502" });
    expect(logs.entries.filter((entry) => entry.level === "error").map((entry) => entry.message)).toEqual([
      "delivery d-1 failed 3 times and is given up: kept in the ledger's inbox as dead",
    ]);
    await clock.advance(10 * 60_000, () => inbox.idle());
    expect(calls).toBe(3);
  });

  it("lets another process take over a delivery whose process died, once the lease has run out", async () => {
    // A process that recorded the delivery and claimed it, then died (its handler never ends).
    let handling!: () => void;
    const handled = new Promise<void>((resolve) => (handling = resolve));
    const { processor: dead } = processor(() => {
      handling();
      return new Promise<void>(() => undefined);
    }, "replica-dead");
    await dead.accept({ id: "d-1", name: "pull_request", body: body(1) });
    await handled; // its handler runs only on a delivery it has claimed
    expect(await store.getDelivery("d-1")).toMatchObject({ claimedBy: "replica-dead" });
    processors.splice(processors.indexOf(dead), 1);

    const seen: string[] = [];
    const { processor: other } = processor(async (event) => {
      seen.push(event.id);
    }, "replica-b");
    other.start();
    await clock.advance(30_000, () => other.idle());
    expect(seen).toEqual([]);
    await clock.advance(31_000, () => other.idle());
    expect(seen).toEqual(["d-1"]);
    expect(await store.getDelivery("d-1")).toMatchObject({ state: "done", attempts: 2 });
  });

  it("processes entries left in the inbox when it starts (recorded before a restart)", async () => {
    await store.recordDelivery({ id: "d-9", event: "pull_request", payload: body(9), receivedAt: new Date(clock.now()) });
    const seen: string[] = [];
    const { processor: inbox } = processor(async (event) => {
      seen.push(event.id);
    });
    inbox.start();
    await inbox.idle();
    expect(seen).toEqual(["d-9"]);
  });

  it("processes INBOX_CONCURRENCY deliveries at once while they work, and more once they only wait for paced writes", async () => {
    // An evaluation keeps its delivery until its check run, comment and labels are written, which
    // wait their turn in the installation's pacing (seconds). Deliveries that only wait give their
    // slot back (the write scheduler calls leaveSlot), so they do not hold back the rest.
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const working: string[] = [];
    const waiting: string[] = [];
    const { processor: inbox } = processor(async (event) => {
      const number = (event.payload as { number: number }).number;
      if (number <= INBOX_CONCURRENCY + 2) {
        // Work that holds its slot throughout (reads, CPU).
        working.push(event.id);
      } else {
        leaveSlot();
        waiting.push(event.id);
      }
      await released;
    });
    inbox.start();
    const total = 3 * INBOX_CONCURRENCY;
    for (let i = 1; i <= INBOX_CONCURRENCY + 2; i++) await inbox.accept({ id: `d-${i}`, name: "pull_request", body: body(i) });
    await turns(50);
    // INBOX_CONCURRENCY of them hold every slot: nothing else starts.
    expect(working).toHaveLength(INBOX_CONCURRENCY);
    for (let i = INBOX_CONCURRENCY + 3; i <= total; i++) await inbox.accept({ id: `d-${i}`, name: "pull_request", body: body(i) });
    await turns(50);
    expect(working).toHaveLength(INBOX_CONCURRENCY);
    expect(waiting).toEqual([]);
    release();
    await inbox.idle();
    expect(working).toHaveLength(INBOX_CONCURRENCY + 2);
    expect(waiting).toHaveLength(total - INBOX_CONCURRENCY - 2);
    expect(await store.getDelivery(`d-${total}`)).toMatchObject({ state: "done", attempts: 1 });
  });

  it("starts the next deliveries while earlier ones wait for their paced writes", async () => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const { processor: inbox } = processor(async (event) => {
      started.push(event.id);
      leaveSlot();
      await released;
    });
    inbox.start();
    const total = 2 * INBOX_CONCURRENCY + 5;
    for (let i = 1; i <= total; i++) await inbox.accept({ id: `d-${i}`, name: "pull_request", body: body(i) });
    await turns(100);
    expect(started).toHaveLength(total);
    release();
    await inbox.idle();
    expect(await store.getDelivery(`d-${total}`)).toMatchObject({ state: "done" });
  });

  it("removes processed entries after the retention period, and keeps dead ones", async () => {
    const { processor: inbox } = processor(
      async (event) => {
        if (event.id === "bad") throw new Error("no");
      },
      "replica-a",
      { maxAttempts: 1, pollMs: 6 * 60 * 60_000 },
    );
    inbox.start();
    await inbox.accept({ id: "good", name: "pull_request", body: body(1) });
    await inbox.accept({ id: "bad", name: "pull_request", body: body(2) });
    await inbox.idle();
    await clock.advance(8 * 24 * 60 * 60_000, () => inbox.idle());
    expect(await store.getDelivery("good")).toBeNull();
    expect(await store.getDelivery("bad")).toMatchObject({ state: "dead" });
  });
});

/** Lets every callback already queued run: I/O, timers, immediates and their promises. */
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe("recording deliveries together (a group commit)", () => {
  it("records the deliveries that arrive together in one transaction, each settled only once it committed", async () => {
    const gated = gatedLedger(store);
    const seen: string[] = [];
    const { processor: inbox } = processor(
      async (event) => {
        seen.push(event.id);
      },
      "replica-a",
      { store: gated.store },
    );
    inbox.start();
    await inbox.idle();
    const held = gated.hold("recordDeliveries", 1);
    const settled: string[] = [];
    const accepted = ["d-1", "d-2", "d-1"].map((id, i) =>
      inbox.accept({ id, name: "pull_request", body: body(i) }).then((result) => {
        settled.push(id);
        return result;
      }),
    );
    await held.reached;
    await turns();
    expect(settled).toEqual([]);
    expect(await store.getDelivery("d-1")).toBeNull();

    held.release();
    expect(await Promise.all(accepted)).toEqual(["new", "new", "duplicate"]);
    expect(gated.calls.filter((call) => call.startsWith("record"))).toEqual(["recordDeliveries"]);
    await inbox.idle();
    expect(seen.sort()).toEqual(["d-1", "d-2"]);
    expect(await store.getDelivery("d-1")).toMatchObject({ state: "done", payload: body(0) });
  });

  it("records deliveries that arrive while a batch is being written in the next batch", async () => {
    const gated = gatedLedger(store);
    const { processor: inbox } = processor(async () => undefined, "replica-a", { store: gated.store });
    const held = gated.hold("recordDeliveries", 1);
    const first = inbox.accept({ id: "d-1", name: "pull_request", body: body(1) });
    await held.reached;
    const later = ["d-2", "d-3"].map((id) => inbox.accept({ id, name: "pull_request", body: body(2) }));
    await turns();
    expect(gated.calls.filter((call) => call === "recordDeliveries")).toHaveLength(1);
    held.release();
    expect(await Promise.all([first, ...later])).toEqual(["new", "new", "new"]);
    expect(gated.calls.filter((call) => call === "recordDeliveries")).toHaveLength(2);
  });

  it("records at most 500 deliveries, or 32 MiB of payload, in one transaction", async () => {
    const gated = gatedLedger(store);
    const { processor: inbox } = processor(async () => undefined, "replica-a", { store: gated.store });
    const many = Array.from({ length: 501 }, (_, i) => inbox.accept({ id: `d-${i}`, name: "pull_request", body: body(i) }));
    expect(new Set(await Promise.all(many))).toEqual(new Set(["new"]));
    expect(gated.calls.filter((call) => call === "recordDeliveries")).toHaveLength(2);

    const big = JSON.stringify({ pad: "x".repeat(20 * 1024 * 1024) });
    const large = ["big-1", "big-2"].map((id) => inbox.accept({ id, name: "pull_request", body: big }));
    expect(await Promise.all(large)).toEqual(["new", "new"]);
    expect(gated.calls.filter((call) => call === "recordDeliveries")).toHaveLength(4);
    expect(await store.countDeliveries()).toMatchObject({ pending: 503 });
  });

  it("rejects every delivery of a batch the ledger could not write, records none and processes none", async () => {
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "recordDeliveries")
          return async () => Promise.reject(new LedgerStorageError("the ledger could not record: disk full"));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const seen: string[] = [];
    const { processor: inbox } = processor(
      async (event) => {
        seen.push(event.id);
      },
      "replica-a",
      { store: failing },
    );
    inbox.start();
    const results = await Promise.allSettled(["d-1", "d-2", "d-3"].map((id) => inbox.accept({ id, name: "pull_request", body: body(1) })));
    expect(results.map((result) => (result.status === "rejected" ? String(result.reason) : result.status))).toEqual(
      Array(3).fill("LedgerStorageError: the ledger could not record: disk full"),
    );
    await inbox.idle();
    expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
    expect(seen).toEqual([]);
  });

  it("fails only the delivery the ledger refuses when it came in a batch with others", async () => {
    const { processor: inbox } = processor(async () => undefined);
    const results = await Promise.allSettled([
      inbox.accept({ id: "d-1", name: "pull_request", body: body(1) }),
      inbox.accept({ id: "d-2", name: "pull_request", body: "[1]" }),
      inbox.accept({ id: "d-3", name: "pull_request", body: body(3) }),
    ]);
    expect(results.map((result) => (result.status === "rejected" ? String(result.reason) : result.value))).toEqual([
      "new",
      "Error: the payload of delivery d-2 is not a JSON object",
      "new",
    ]);
    expect(await store.getDelivery("d-2")).toBeNull();
    expect(await store.countDeliveries()).toMatchObject({ pending: 2 });
  });

  it("claims no new entry while deliveries are being recorded, and claims it once recording pauses", async () => {
    const gated = gatedLedger(store);
    const seen: string[] = [];
    const { processor: inbox } = processor(
      async (event) => {
        seen.push(event.id);
      },
      "replica-a",
      { store: gated.store },
    );
    const held = gated.hold("recordDeliveries", 2);
    expect(await inbox.accept({ id: "d-1", name: "pull_request", body: body(1) })).toBe("new");
    // Another delivery arrives before the processor has had a turn: d-1 waits for its answer.
    const second = inbox.accept({ id: "d-2", name: "pull_request", body: body(2) });
    await held.reached;
    await turns();
    inbox.kick();
    await turns();
    expect(gated.calls).not.toContain("claimDeliveries");
    expect(seen).toEqual([]);

    held.release();
    expect(await second).toBe("new");
    await inbox.idle();
    expect(seen).toEqual(["d-1", "d-2"]);
  });

  it("claims new entries anyway once recording has gone on without a pause for answerFirstMs", async () => {
    const gated = gatedLedger(store);
    const seen: string[] = [];
    const { processor: inbox } = processor(
      async (event) => {
        seen.push(event.id);
      },
      "replica-a",
      { store: gated.store },
    );
    const held = gated.hold("recordDeliveries", 2);
    await inbox.accept({ id: "d-1", name: "pull_request", body: body(1) });
    const second = inbox.accept({ id: "d-2", name: "pull_request", body: body(2) });
    await held.reached;
    await clock.advance(2_000);
    inbox.kick();
    await turns();
    await inbox.idle();
    expect(seen).toEqual(["d-1"]);
    held.release();
    await second;
    await inbox.idle();
    expect(seen).toEqual(["d-1", "d-2"]);
  });
});
