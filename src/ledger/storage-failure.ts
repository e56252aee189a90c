import { LedgerClosedError, LedgerStorageError } from "./store.js";

/** Node's codes for a connection to a database server that failed or was refused. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * Is `error` the ledger's storage failing (a read-only or full database, a damaged file, a lost
 * connection, a closed ledger), which an operator must fix, as opposed to a bug in the code that
 * called it (a TypeError, an illegal state transition), which must be logged as the bug it is?
 *
 * - A store's own LedgerStorageError or LedgerClosedError, or an error caused by one of the below.
 * - SQLite (better-sqlite3): every `SqliteError`, whose code is `SQLITE_…`.
 * - PostgreSQL (SQLSTATE): connection exceptions (08), insufficient resources (53), operator
 *   intervention (57), system errors (58), internal errors (XX), a read-only transaction (25006),
 *   and serialization failures and deadlocks (40001, 40P01); and Node's connection errors.
 */
export function isStorageFailure(error: unknown): boolean {
  // Follow a few causes deep: a wrapped driver error counts, a cycle of causes ends.
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth += 1) {
    if (isStorageFailureItself(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function isStorageFailureItself(error: object): boolean {
  if (error instanceof LedgerClosedError || error instanceof LedgerStorageError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return (
    code.startsWith("SQLITE_") ||
    CONNECTION_CODES.has(code) ||
    /^(?:08|53|57|58|XX)[0-9A-Z]{3}$/.test(code) ||
    code === "25006" ||
    code === "40001" ||
    code === "40P01"
  );
}
