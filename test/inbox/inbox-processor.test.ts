/**
 * The inbox processor against a real ledger (SQLite in memory) and a manual clock: deliveries
 * recorded once, processed once, retried with backoff, kept as dead after the last attempt, taken
 * over by another process when the first one died, and removed after their retention.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { InboxProcessor, inboxBackoffMs, type InboxEvent } from "../../src/inbox/inbox-processor.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
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
  options: { maxAttempts?: number; pollMs?: number } = {},
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
