import Database from "better-sqlite3";
import { openLedger } from "../../../src/ledger/open-ledger.js";
import { configureConnection } from "../../../src/ledger/sqlite-open.js";
import { SqliteStore } from "../../../src/ledger/sqlite-store.js";
import type { LedgerStore } from "../../../src/ledger/store.js";

/**
 * Ledgers that SQLite itself refuses to write, for fail-closed tests that also run as root and
 * in CI (where `chmod` does not stop root, and `chattr` or a small `tmpfs` need privileges the
 * test runner lacks):
 *
 * - read-only: a migrated ledger file opened read-only, so every write gets SQLITE_READONLY;
 * - full: the app's own connection may not grow the file (`PRAGMA max_page_count` pinned to
 *   the current size) and every table and index page is packed, so every insert gets
 *   SQLITE_FULL ("database or disk is full") while reads still work — as on a full disk.
 */
export async function openReadOnlyLedger(path: string): Promise<LedgerStore> {
  await (await openLedger(`sqlite:${path}`)).close();
  return openLedger(`sqlite:${path}`, { readonly: true });
}

export function openFullLedger(path: string): LedgerStore {
  const db = new Database(path);
  configureConnection(db, { readonly: false });
  db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
  let filler = 0;
  packUntilFull(db, (size) => {
    filler += 1;
    db.prepare(
      `INSERT INTO grants (id, installation_id, owner, repo, environment, secret, requester, pr_number, head_sha, approvers,
         reason, duration_ms, request_key, created_at, expires_at, state)
       VALUES (?, 0, 'f', 'f', 'f', 'F', '{"id":0,"login":""}', 0, '', '[]', ?, 0, ?, 0, 0, 'failed')`,
    ).run(`f${filler}`, "x".repeat(size), `f${filler}`);
  });
  packUntilFull(db, (size) => {
    // Filler rows are never read; random hashes satisfy the chain columns' constraints.
    db.prepare(
      `INSERT INTO audit (at, action, actor, owner, repo, details, prev_hash, hash)
       VALUES (0, 'filler', 'f', 'f', 'f', ?, lower(hex(randomblob(32))), lower(hex(randomblob(32))))`,
    ).run(JSON.stringify("x".repeat(size)));
  });
  return new SqliteStore(db);
}

/** Inserts rows of shrinking size until not even the smallest fits. */
function packUntilFull(db: Database.Database, insert: (size: number) => void): void {
  for (let size = 512; size >= 1;) {
    try {
      insert(size);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "SQLITE_FULL") throw error;
      size = Math.floor(size / 2);
    }
  }
}
