import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import { secretLockKey } from "../../src/ledger/secret-locks.js";
import { SecretLockTimeoutError, type Grant, type LedgerStore } from "../../src/ledger/store.js";
import { at, newGrant, rejectionOf } from "./ledger-contract.js";

/**
 * What a store must do when several processes share its database: `replicaContract(name, open)`
 * runs against two stores that `open` opens on one fresh database, each with its own connections,
 * as two replicas (or the server and the CLI beside it) would.
 */
export type ReplicaFactory = () => Promise<[LedgerStore, LedgerStore]>;

const KEY = secretLockKey("acme", "api", "production", "PROD_DB_URL");

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

export function replicaContract(name: string, open: ReplicaFactory): void {
  describe(`${name}: two processes on one ledger`, () => {
    let first: LedgerStore;
    let second: LedgerStore;
    beforeEach(async () => {
      [first, second] = await open();
    });
    afterEach(async () => {
      await Promise.all([first.close(), second.close()]);
    });

    it("never give the same due grant to both when they claim at the same time", async () => {
      const grants: Grant[] = [];
      for (let minute = 0; minute < 8; minute += 1) {
        const { grant } = await first.beginGrant(newGrant({ expiresAt: at(minute) }));
        grants.push(await first.markActive(grant.id, at(0)));
      }
      const claimed = await Promise.all([
        first.claimDueGrants(at(300), 3, { owner: "replica-a", until: at(310) }),
        second.claimDueGrants(at(300), 3, { owner: "replica-b", until: at(310) }),
        first.claimDueGrants(at(300), 3, { owner: "replica-c", until: at(310) }),
      ]);
      const ids = claimed.flat().map((grant) => grant.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(grants.map((grant) => grant.id).sort());
      // A claim one process took holds for the other until it is released.
      const [mine] = claimed[0];
      expect(await second.releaseClaim(mine!.id, "replica-b")).toBe(false);
      expect(await first.releaseClaim(mine!.id, "replica-a")).toBe(true);
      expect((await second.claimDueGrants(at(300), 10, { owner: "replica-b", until: at(310) })).map((g) => g.id)).toEqual([mine!.id]);
    });

    it("hold one secret's lock one at a time: the second waits for the first, and their work never interleaves", async () => {
      const steps: string[] = [];
      const held = gate();
      const finish = gate();
      const one = first.withSecretLock(KEY, async () => {
        steps.push("first: count other grants");
        held.open();
        await finish.opened;
        steps.push("first: DELETE");
      });
      await held.opened;
      const two = second.withSecretLock(KEY, async () => {
        steps.push("second: PUT");
      });
      // Give the second every chance to run early: it must still be waiting.
      await sleep(300);
      expect(steps).toEqual(["first: count other grants"]);
      finish.open();
      await Promise.all([one, two]);
      expect(steps).toEqual(["first: count other grants", "first: DELETE", "second: PUT"]);
    });

    it("lets a waiter give up after its timeout with a clear error, having run nothing", async () => {
      const finish = gate();
      const held = gate();
      const one = first.withSecretLock(KEY, async () => {
        held.open();
        await finish.opened;
      });
      await held.opened;
      let ran = false;
      const error = await rejectionOf(
        second.withSecretLock(
          KEY,
          async () => {
            ran = true;
          },
          { timeoutMs: 200 },
        ),
      );
      expect(error).toBeInstanceOf(SecretLockTimeoutError);
      expect(error.message).toBe(
        "another process held the lock of secret acme/api production PROD_DB_URL for more than 200 ms; nothing was done, try again later",
      );
      expect(ran).toBe(false);
      finish.open();
      await one;
      // Once the holder is done, the lock is free at once.
      expect(await second.withSecretLock(KEY, async () => "took it", { timeoutMs: 5_000 })).toBe("took it");
    });

    it("do not wait for each other on different secrets, and free the lock when the work fails", async () => {
      const finish = gate();
      const held = gate();
      const one = first.withSecretLock(KEY, async () => {
        held.open();
        await finish.opened;
      });
      await held.opened;
      const other = secretLockKey("acme", "api", "production", "OTHER_SECRET");
      expect(await second.withSecretLock(other, async () => "other", { timeoutMs: 5_000 })).toBe("other");
      expect(await second.withSecretLock(secretLockKey("acme", "api", "staging", "PROD_DB_URL"), async () => 1, { timeoutMs: 5_000 })).toBe(
        1,
      );
      finish.open();
      await one;
      await expect(
        first.withSecretLock(KEY, async () => {
          throw new Error("DELETE: 502");
        }),
      ).rejects.toThrow("DELETE: 502");
      expect(await second.withSecretLock(KEY, async () => "free", { timeoutMs: 5_000 })).toBe("free");
    });
  });
}
