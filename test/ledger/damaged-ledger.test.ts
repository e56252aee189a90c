import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { runCli } from "../../src/cli/run-cli.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerDamagedError } from "../../src/ledger/sqlite-open.js";
import { SqliteStore } from "../../src/ledger/sqlite-store.js";
import { breakCellPointer, zeroTablePages } from "../helpers/damage-ledger.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";

/**
 * A damaged ledger file is refused at open (`PRAGMA quick_check`), with the recovery steps,
 * instead of being opened to fail every sweep. The damage is what a failing disk leaves: three
 * pages of the grants table zeroed.
 */
let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
beforeEach(async () => {
  dir = await tempLedgerDir();
});
afterEach(async () => {
  await dir.remove();
});

const FAR_FUTURE = new Date("2100-01-01T00:00:00Z");

/** A ledger file with enough grants that the grants table spans many pages, closed. */
async function ledgerWithGrants(count = 120): Promise<string> {
  const store = await openLedger(dir.url());
  for (let i = 0; i < count; i++)
    await seedGrant(store, { prNumber: i + 1, reason: `INC-${4000 + i}: ${"look into the stuck migration ".repeat(4)}` });
  await store.close();
  return dir.path("ledger.db");
}

async function openError(url: string, options = {}): Promise<Error> {
  return openLedger(url, options).then(
    async (store) => {
      await store.close();
      throw new Error("the damaged ledger was opened");
    },
    (error: Error) => error,
  );
}

describe("a damaged ledger", () => {
  it("is refused at open, naming the damage and the recovery steps", async () => {
    const path = await ledgerWithGrants();
    expect(zeroTablePages(path, 3)).toHaveLength(3);

    const error = await openError(dir.url());

    expect(error).toBeInstanceOf(LedgerDamagedError);
    expect(error.message).toMatch(
      new RegExp(`^the ledger database ${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is damaged \\(PRAGMA quick_check: .+\\)\\. `),
    );
    expect(error.message).toContain(
      "jit-access does not use a damaged ledger: grants on the damaged pages could not be read, so their secrets would never be revoked.",
    );
    expect(error.message).toContain("2. restore the ledger from your latest backup");
    expect(error.message).toContain("3. run `jit-access reconcile --dry-run`");
    expect(error.message).toContain(
      "4. run `jit-access reconcile` to delete the ones it wrote, and delete by hand the unmanaged ones that are leftovers; then start jit-access.",
    );
    expect(error.message).toContain('"The ledger is damaged" in docs/operations.md');
  });

  it("a page that still parses but holds a broken cell is refused, with quick_check's finding in the message", async () => {
    // Audit records with fixed content lay the pages out the same way every run (grant ids are random).
    const store = await openLedger(dir.url());
    for (let i = 0; i < 300; i++) {
      await store.appendAudit({
        at: new Date(Date.UTC(2026, 2, 1, 10, 0, i)),
        action: "expired",
        actor: "jit-access",
        owner: "acme",
        repo: "api",
        prNumber: i + 1,
        details: { reason: "expired" },
      });
    }
    await store.close();
    const path = dir.path("ledger.db");
    const page = breakCellPointer(path, "audit");

    const error = await openError(dir.url());

    expect(error).toBeInstanceOf(LedgerDamagedError);
    const { findings } = error as LedgerDamagedError;
    expect(findings[0]).toMatch(new RegExp(`^Tree \\d+ page ${page} cell 0: Rowid \\d+ out of order$`));
    expect(findings).toContainEqual(expect.stringMatching(new RegExp(`^Multiple uses for byte \\d+ of page ${page}$`)));
    expect(error.message).toContain(`(PRAGMA quick_check: Tree `);
    expect(error.message).not.toContain("*** in database");
  });

  it("was opened before, and then every sweep's read of due grants failed (what the check prevents)", async () => {
    const path = await ledgerWithGrants();
    zeroTablePages(path, 3);

    // The store on a connection that skipped the check: it opens, and the sweep's read fails.
    const unchecked = new SqliteStore(new Database(path));
    try {
      await expect(unchecked.dueGrants(FAR_FUTURE, 200)).rejects.toThrow(/database disk image is malformed/);
    } finally {
      await unchecked.close();
    }
  });

  it("is refused read-only too (the CLI's inspection commands)", async () => {
    const path = await ledgerWithGrants();
    zeroTablePages(path, 3);

    expect(await openError(dir.url(), { readonly: true })).toBeInstanceOf(LedgerDamagedError);
  });

  it("stops a jit-access command too (exit 2), with the same message", async () => {
    const path = await ledgerWithGrants();
    zeroTablePages(path, 3);
    const stdout: string[] = [];
    const stderr: string[] = [];

    const code = await runCli(["grants", "--json"], {
      stdout: (line) => stdout.push(line),
      stderr: (line) => stderr.push(line),
      env: { DATABASE_URL: dir.url() },
    });

    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      expect.stringMatching(/^jit-access: the ledger database .+ is damaged \(PRAGMA quick_check: .+\)\. .+To recover: 1\. /),
    ]);
  });

  it("a file that is not a SQLite database at all is refused the same way", async () => {
    writeFileSync(dir.path("ledger.db"), Buffer.alloc(8192, 0x5a));

    const error = await openError(dir.url());

    expect(error).toBeInstanceOf(LedgerDamagedError);
    expect(error.message).toContain("is damaged (PRAGMA quick_check: file is not a database)");
  });

  it("an intact ledger opens, and its grants read (the control)", async () => {
    await ledgerWithGrants();

    const store = await openLedger(dir.url());
    try {
      expect(await store.dueGrants(FAR_FUTURE, 200)).toHaveLength(120);
    } finally {
      await store.close();
    }
  });
});
