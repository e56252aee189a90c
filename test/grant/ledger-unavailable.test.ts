/**
 * Only a failure of the ledger's storage is reported as "an operator must fix the ledger"; a bug
 * in the code that wrote to it is thrown as itself, to be logged as a bug.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { IllegalTransitionError } from "../../src/ledger/grant-states.js";
import { LedgerClosedError, type LedgerStore } from "../../src/ledger/store.js";
import { isStorageFailure } from "../../src/ledger/storage-failure.js";
import { LedgerUnavailableError, ledgerWrite } from "../../src/grant/ledger-unavailable.js";
import { openReadOnlyLedger } from "../faults/helpers/unavailable-ledger.js";

let dir: string | undefined;
let store: LedgerStore | undefined;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = store = undefined;
});

const refused = async (write: () => Promise<unknown>): Promise<unknown> =>
  ledgerWrite(write).then(
    () => "no error",
    (error: unknown) => error,
  );

describe("ledgerWrite", () => {
  it("a write SQLite refuses (a read-only database) is the ledger being unavailable, with SQLite's message", async () => {
    dir = mkdtempSync(join(tmpdir(), "jit-ledger-"));
    store = await openReadOnlyLedger(join(dir, "jit-access.db"));
    const error = await refused(() =>
      store!.appendAudit({ at: new Date(0), action: "granted", actor: "jit-access", owner: "acme", repo: "api" }),
    );
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect((error as Error).message).toMatch(/readonly database/);
  });

  it("a closed ledger is unavailable", async () => {
    expect(await refused(() => Promise.reject(new LedgerClosedError("record a grant")))).toBeInstanceOf(LedgerUnavailableError);
  });

  it.each([
    ["a TypeError", new TypeError("Cannot read properties of undefined (reading 'id')")],
    ["an illegal transition", new IllegalTransitionError("g1", "expired", "markActive", ["granting"])],
    ["a plain Error", new Error("something the code got wrong")],
  ])("%s is thrown as itself, not blamed on the ledger", async (_what, bug) => {
    expect(await refused(() => Promise.reject(bug))).toBe(bug);
  });
});

describe("isStorageFailure", () => {
  it.each([
    ["SQLITE_FULL", true],
    ["SQLITE_CORRUPT", true],
    ["ECONNREFUSED", true],
    ["08006", true], // PostgreSQL: connection failure
    ["57P01", true], // admin shutdown
    ["53100", true], // disk full
    ["25006", true], // read-only transaction (a standby)
    ["40001", true], // serialization failure
    ["23505", false], // unique violation: the code's business
    ["42P01", false], // undefined table: a bug or a missing migration
    ["ERR_INVALID_ARG_TYPE", false],
  ])("an error with code %s: %s", (code, expected) => {
    expect(isStorageFailure(Object.assign(new Error("x"), { code }))).toBe(expected);
  });

  it("errors without a code are not storage failures", () => {
    expect(isStorageFailure(new Error("x"))).toBe(false);
    expect(isStorageFailure("a string")).toBe(false);
    expect(isStorageFailure(null)).toBe(false);
  });
});

describe("isStorageFailure through causes", () => {
  it("a driver error wrapped by the caller counts; a bug wrapped does not; a cycle of causes ends", () => {
    const driver = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    expect(isStorageFailure(new Error("could not record", { cause: driver }))).toBe(true);
    expect(isStorageFailure(new Error("could not record", { cause: new TypeError("x") }))).toBe(false);
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    Object.assign(a, { cause: b });
    expect(isStorageFailure(a)).toBe(false);
  });
});
