import { afterAll, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import { WriteScheduler, type WriteKind } from "../../src/github/write-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { isWriteSlotStore, type LedgerStore, type WriteSlotStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { describePostgres, DROP_TIMEOUT_MS, dropTestSchemas, freshDatabaseUrl } from "../helpers/postgres.js";

afterAll(dropTestSchemas, DROP_TIMEOUT_MS);

interface Write {
  replica: string;
  installation: string;
  kind: WriteKind;
  at: number;
}

/**
 * Runs the clock forward in 100 ms steps until every write has gone; between steps the slot
 * reservations (real database calls) finish, so they take no time on the clock.
 */
async function drive(clock: ManualClock, writes: Promise<unknown>[]): Promise<void> {
  let done = false;
  void Promise.all(writes).then(() => (done = true));
  for (let step = 0; step < 600 && !done; step += 1) {
    await sleep(15);
    await clock.advance(100, () => sleep(15));
  }
  expect(done).toBe(true);
}

function gaps(writes: Write[]): number[] {
  const times = writes.map((write) => write.at).sort((a, b) => a - b);
  return times.slice(1).map((time, index) => time - times[index]!);
}

describePostgres("write pacing shared by replicas through PostgreSQL", () => {
  it("spaces an installation's writes from two schedulers a second apart, comments three, across both", async () => {
    const url = await freshDatabaseUrl();
    const stores: LedgerStore[] = [await openLedger(url), await openLedger(url)];
    try {
      const clock = new ManualClock();
      const log: Write[] = [];
      const schedulers = stores.map((store) => {
        if (!isWriteSlotStore(store)) throw new Error("the PostgreSQL store shares write slots");
        return new WriteScheduler({ clock, writeIntervalMs: 1000, notifyIntervalMs: 3000, sharedSlots: store });
      });
      const write = (replica: number, installation: string, kind: WriteKind): Promise<unknown> =>
        schedulers[replica]!.schedule(installation, kind, async () => {
          log.push({ replica: `replica-${replica}`, installation, kind, at: clock.now() });
        });
      // Replica 0 has a busy lane; replica 1 then has two DELETEs to send, and less urgent writes behind them.
      const writes = [
        write(0, "42", "secret-put"),
        write(0, "42", "secret-put"),
        write(0, "42", "check-run"),
        write(0, "42", "comment"),
        write(0, "7", "comment"),
      ];
      // The first write's reservation is a real database call: wait for the write, not for the clock.
      for (let tries = 0; tries < 200 && !log.some((entry) => entry.installation === "42"); tries += 1) await sleep(10);
      expect(log.map((entry) => entry.kind)).toContain("secret-put");
      writes.push(write(1, "42", "secret-delete"), write(1, "42", "secret-delete"), write(1, "42", "comment"), write(1, "42", "label"));
      writes.push(write(1, "7", "secret-put"));
      await drive(clock, writes);

      const installation = log.filter((entry) => entry.installation === "42");
      expect(installation).toHaveLength(8);
      expect(new Set(installation.map((entry) => entry.replica))).toEqual(new Set(["replica-0", "replica-1"]));
      for (const gap of gaps(installation)) expect(gap).toBeGreaterThanOrEqual(1000);
      for (const gap of gaps(installation.filter((entry) => entry.kind === "comment"))) expect(gap).toBeGreaterThanOrEqual(3000);
      // Once queued, the DELETEs go first, across both replicas: right after the write already sent.
      expect(installation.slice(0, 3).map((entry) => `${entry.replica} ${entry.kind}`)).toEqual([
        "replica-0 secret-put",
        "replica-1 secret-delete",
        "replica-1 secret-delete",
      ]);
      // Another installation has slots of its own.
      expect(log.filter((entry) => entry.installation === "7")).toHaveLength(2);
      expect(Math.min(...log.filter((entry) => entry.installation === "7").map((entry) => entry.at))).toBeLessThan(
        Math.max(...installation.map((entry) => entry.at)),
      );
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe("write pacing with shared slots that cannot be reached", () => {
  it("lets writes go on local pacing alone", async () => {
    const clock = new ManualClock();
    const broken: WriteSlotStore = {
      reserveWriteSlot: () => Promise.reject(new Error("the ledger could not reserve a write slot: connection refused")),
      finishWriteSlot: () => Promise.reject(new Error("connection refused")),
    };
    const scheduler = new WriteScheduler({ clock, writeIntervalMs: 1000, notifyIntervalMs: 3000, sharedSlots: broken });
    const times: number[] = [];
    const writes = [1, 2, 3].map(() => scheduler.schedule("42", "secret-delete", async () => void times.push(clock.now())));
    await drive(clock, writes);
    expect(gaps(times.map((at) => ({ replica: "", installation: "42", kind: "secret-delete", at })))).toEqual([1000, 1000]);
  });
});
