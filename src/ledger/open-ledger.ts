/**
 * Opens the ledger named by `DATABASE_URL`, choosing the store by the URL's scheme:
 * - `sqlite:` — the embedded SQLite store (`sqlite-open.ts`): `sqlite:./data/jit-access.db`
 *   (relative to the working directory), `sqlite:/var/lib/jit-access/ledger.db`, or
 *   `sqlite::memory:` for tests;
 * - `postgres:` / `postgresql:` — PostgreSQL (`pg-open.ts`), behind the same `LedgerStore`
 *   interface, for several replicas sharing one database:
 *   `postgres://USER:PASSWORD@HOST:5432/DATABASE`.
 * Errors name the setting and the expected form; they never echo a URL that is not SQLite's,
 * which may carry a password.
 */
import { POSTGRES_FORMS, postgresServer, SQLITE_FORMS } from "./database-url.js";
import type { LedgerStore } from "./store.js";

export const DEFAULT_DATABASE_URL = "sqlite:./data/jit-access.db";

export interface OpenLedgerOptions {
  /** Open an existing, already migrated database without write access (inspection, tests of the error path). */
  readonly?: boolean;
}

type OpenStore = (databaseUrl: string, options: OpenLedgerOptions) => Promise<LedgerStore>;

/**
 * The stores this build knows, by lower-case URL scheme. Each is loaded when a URL picks it: the
 * driver of the other database (node-postgres, or the SQLite addon) is never loaded.
 */
const openSqlite: OpenStore = async (url, options) => (await import("./sqlite-open.js")).openSqliteLedger(url, options);
const openPostgres: OpenStore = async (url, options) => (await import("./pg-open.js")).openPostgresLedger(url, options);
const STORES: Readonly<Record<string, OpenStore>> = {
  sqlite: openSqlite,
  postgres: openPostgres,
  postgresql: openPostgres,
};

export async function openLedger(databaseUrl: string, options: OpenLedgerOptions = {}): Promise<LedgerStore> {
  const scheme = schemeOf(databaseUrl);
  const open = Object.hasOwn(STORES, scheme.toLowerCase()) ? STORES[scheme.toLowerCase()] : undefined;
  if (open === undefined) {
    throw new Error(`DATABASE_URL "${scheme}:…": the ledger is SQLite or PostgreSQL; write it like ${SQLITE_FORMS}, or ${POSTGRES_FORMS}`);
  }
  return open(databaseUrl, options);
}

/**
 * The ledger as logs may name it: a SQLite URL as written, a PostgreSQL one as its server
 * (user, host, port, database: no password, no query parameters), anything else by its scheme.
 */
export function ledgerLabel(databaseUrl: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(databaseUrl)?.[1]?.toLowerCase();
  if (scheme === "sqlite") return databaseUrl;
  if (scheme === "postgres" || scheme === "postgresql") {
    try {
      return postgresServer(databaseUrl);
    } catch {
      return `${scheme}:…`;
    }
  }
  return scheme === undefined ? "(not a URL)" : `${scheme}:…`;
}

/** The URL's scheme as written, or an error saying what is wrong with the setting. */
export function schemeOf(databaseUrl: string): string {
  if (databaseUrl.trim() === "") throw new Error(`DATABASE_URL is empty; set it like ${SQLITE_FORMS}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(databaseUrl)?.[1];
  if (scheme === undefined) {
    throw new Error(`DATABASE_URL is not a URL (it has no scheme); write it like ${SQLITE_FORMS}`);
  }
  return scheme;
}
