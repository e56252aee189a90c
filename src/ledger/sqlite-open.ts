/**
 * Opens the embedded SQLite ledger for a `sqlite:` `DATABASE_URL` (`openLedger` picks it by the
 * scheme): `sqlite:./data/jit-access.db` (relative to the working directory),
 * `sqlite:/var/lib/jit-access/ledger.db`, or `sqlite::memory:` for tests. Checks the file
 * (`PRAGMA quick_check`: a damaged ledger is refused with the recovery steps, rather than opened
 * to fail every sweep), configures the connection and migrates the schema.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_FORMS } from "./database-url.js";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "./migrations.js";
import type { OpenLedgerOptions } from "./open-ledger.js";
import { SqliteStore } from "./sqlite-store.js";
import type { LedgerStore } from "./store.js";
import { errorMessage } from "../util/error-message.js";

export { SQLITE_FORMS } from "./database-url.js";

const MEMORY = ":memory:";
/** How long a write waits for another connection's lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;

export async function openSqliteLedger(databaseUrl: string, options: OpenLedgerOptions = {}): Promise<LedgerStore> {
  const filename = sqliteFilename(databaseUrl);
  const readonly = options.readonly === true;
  if (readonly && filename === MEMORY) {
    throw new Error("DATABASE_URL sqlite::memory: cannot be opened read-only: an in-memory database starts empty");
  }

  let db: Database.Database;
  try {
    if (!readonly && filename !== MEMORY) mkdirSync(dirname(filename), { recursive: true });
    db = new Database(filename, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw new Error(`cannot open the ledger database ${filename} (DATABASE_URL): ${errorMessage(error)}`, { cause: error });
  }
  try {
    configureConnection(db, { readonly });
    return new SqliteStore(db);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The SQLite filename a `DATABASE_URL` names: an absolute path, or `:memory:`.
 * Errors name the setting and the expected form; they never echo a non-SQLite URL,
 * which may carry a password.
 */
export function sqliteFilename(databaseUrl: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(databaseUrl)?.[1];
  if (databaseUrl.trim() === "") {
    throw new Error(`DATABASE_URL is empty; set it like ${SQLITE_FORMS}`);
  }
  if (scheme === undefined) {
    throw new Error(`DATABASE_URL is not a URL (it has no scheme); write it like ${SQLITE_FORMS}`);
  }
  if (scheme.toLowerCase() !== "sqlite") {
    throw new Error(`DATABASE_URL "${scheme}:…" does not name a SQLite database; write it like ${SQLITE_FORMS}`);
  }
  const location = databaseUrl.slice(scheme.length + 1);
  if (location === MEMORY) return MEMORY;
  const invalid = (why: string): Error =>
    new Error(`DATABASE_URL "${databaseUrl}" is not a valid SQLite location: ${why}; write it like ${SQLITE_FORMS}`);
  if (location === "") throw invalid("the path is empty");
  if (location.startsWith("//")) throw invalid("host-style sqlite:// URLs are not supported");
  if (/[?#]/.test(location)) throw invalid("query parameters and fragments are not supported");
  return resolve(location);
}

/**
 * Connection settings, the integrity check, then the schema: migrated when writable, checked
 * when read-only. `synchronous = FULL` because a grant row must be on disk before its secret is
 * written to GitHub.
 */
export function configureConnection(db: Database.Database, { readonly }: { readonly: boolean }): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  checkIntegrity(db);
  db.pragma("foreign_keys = ON");
  db.pragma("synchronous = FULL");
  if (readonly) {
    const version = schemaVersion(db);
    if (version !== LATEST_SCHEMA_VERSION) {
      throw new Error(
        `the ledger database ${db.name} has schema version ${version}, this build needs ${LATEST_SCHEMA_VERSION}; ` +
          "open it once without readonly so that it is migrated",
      );
    }
    return;
  }
  db.pragma("journal_mode = WAL");
  migrate(db);
}

/**
 * The ledger file is damaged: SQLite's `quick_check` found broken pages, or cannot read the file
 * as a database. Grants on those pages could never be revoked, so the ledger is not used; the
 * message says how to recover.
 */
export class LedgerDamagedError extends Error {
  override name = "LedgerDamagedError";
  constructor(
    readonly filename: string,
    readonly findings: string[],
    options?: { cause?: unknown },
  ) {
    super(
      `the ledger database ${filename} is damaged (PRAGMA quick_check: ${findings.slice(0, 3).join("; ")}${findings.length > 3 ? `; and ${findings.length - 3} more` : ""}). ` +
        "jit-access does not use a damaged ledger: grants on the damaged pages could not be read, so their secrets would never be revoked. To recover: " +
        "1. keep the damaged file aside for investigation; " +
        "2. restore the ledger from your latest backup (grants made since then are unknown to it); " +
        "3. run `jit-access reconcile --dry-run` to list the catalog secrets present without a live grant (those jit-access has no record of writing are listed as unmanaged); " +
        '4. run `jit-access reconcile` to delete the ones it wrote, and delete by hand the unmanaged ones that are leftovers; then start jit-access. See "The ledger is damaged" in docs/operations.md.',
      options,
    );
  }
}

/** Most lines `quick_check` reports (it stops there); the first three go in the message. */
const MAX_FINDINGS = 20;

/** `PRAGMA quick_check`: every page of every table and index is read and its structure checked. */
function checkIntegrity(db: Database.Database): void {
  let findings: string[];
  try {
    findings = (db.pragma(`quick_check(${MAX_FINDINGS})`) as { quick_check: string }[])
      .flatMap((row) => row.quick_check.split("\n"))
      // "*** in database main ***" heads the findings; it names no damage.
      .filter((line) => line !== "" && !/^\*\*\* in database /.test(line));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The file is so damaged the check cannot even start (a broken schema page, a wrong header).
    if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB")
      throw new LedgerDamagedError(db.name, [errorMessage(error)], { cause: error });
    throw error;
  }
  if (findings.length === 1 && findings[0] === "ok") return;
  throw new LedgerDamagedError(db.name, findings);
}
