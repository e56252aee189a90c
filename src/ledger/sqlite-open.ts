/**
 * Opens the embedded SQLite ledger for a `sqlite:` `DATABASE_URL` (`openLedger` picks it by the
 * scheme): `sqlite:./data/jit-access.db` (relative to the working directory),
 * `sqlite:/var/lib/jit-access/ledger.db`, or `sqlite::memory:` for tests. Configures the
 * connection and migrates the schema.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "./migrations.js";
import type { OpenLedgerOptions } from "./open-ledger.js";
import { SqliteStore } from "./sqlite-store.js";
import type { LedgerStore } from "./store.js";

/** How a SQLite DATABASE_URL is written, for error messages. */
export const SQLITE_FORMS = "sqlite:./data/jit-access.db, sqlite:/var/lib/jit-access/ledger.db or sqlite::memory:";
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
    throw new Error(`cannot open the ledger database ${filename} (DATABASE_URL): ${messageOf(error)}`, { cause: error });
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
    throw new Error(
      `DATABASE_URL "${scheme}:…" does not name a SQLite database; write it like ${SQLITE_FORMS}`,
    );
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
 * Connection settings, then the schema: migrated when writable, checked when read-only.
 * `synchronous = FULL` because a grant row must be on disk before its secret is written to GitHub.
 */
export function configureConnection(db: Database.Database, { readonly }: { readonly: boolean }): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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

function messageOf(error: unknown): string {
  return typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error);
}
