/**
 * Opens the PostgreSQL ledger for a `postgres://` or `postgresql://` `DATABASE_URL` (`openLedger`
 * picks it by the scheme): connects, then migrates the schema (or, read-only, checks that it is
 * migrated). The URL is node-postgres's: `postgres://USER:PASSWORD@HOST:5432/DATABASE`, with
 * query parameters such as `sslmode=require`, or `options=-c%20search_path%3Djit` to keep the
 * ledger in its own schema. Settings the URL leaves out come from the PG* environment variables
 * (PGPASSWORD, PGHOST…), as with psql.
 *
 * Errors name the setting and the server (host, port, database, user), never the password or the
 * whole URL.
 */
import { Pool } from "pg";
import { postgresServer } from "./database-url.js";
import type { OpenLedgerOptions } from "./open-ledger.js";
import { migratePostgres, PG_LATEST_SCHEMA_VERSION, pgSchemaVersion } from "./pg-migrations.js";
import { databaseErrorMessage, PgStore, postgresHint } from "./pg-store.js";
import type { LedgerStore } from "./store.js";

export { POSTGRES_FORMS, postgresServer } from "./database-url.js";

/** How long opening a connection may take before the call fails (node-postgres waits forever by default). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Connections per process: the server, a sweep and webhook handlers share them. */
const POOL_SIZE = 10;
/** Secret locks held at once per process, each on a connection of its own; more wait their turn. */
const LOCK_POOL_SIZE = 10;

export async function openPostgresLedger(databaseUrl: string, options: OpenLedgerOptions = {}): Promise<LedgerStore> {
  const server = postgresServer(databaseUrl);
  const readonly = options.readonly === true;
  const pool = new Pool({
    connectionString: databaseUrl,
    application_name: "jit-access",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    max: POOL_SIZE,
    // Idle connections stay open until close(): a process that forgets to close the ledger does
    // not exit, which tests catch, instead of exiting late on an idle timer.
    idleTimeoutMillis: 0,
  });
  // An idle connection the server dropped (a restart, a failover) is an 'error' on the pool, which
  // would otherwise end the process. The pool has already discarded it; the next call opens a new
  // connection and reports its own error if the server is still away.
  pool.on("error", () => undefined);
  // Secret locks are held on connections of their own (see PgStoreOptions.lockPool). A call that
  // waits for one of them waits as it waits for the lock itself: the lock's timeout bounds it.
  const lockPool = new Pool({
    connectionString: databaseUrl,
    application_name: "jit-access locks",
    max: LOCK_POOL_SIZE,
    idleTimeoutMillis: 0,
  });
  lockPool.on("error", () => undefined);

  try {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      if (readonly) await checkMigrated(client);
      else await migratePostgres(client);
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  } catch (error) {
    await Promise.all([pool.end(), lockPool.end()]);
    throw new Error(`cannot open the ledger database ${server} (DATABASE_URL): ${databaseErrorMessage(error)}${postgresHint(error)}`, {
      cause: error,
    });
  }
  return new PgStore(pool, { readonly, lockPool });
}

/** A read-only ledger must already be at this build's schema version: nothing may be migrated. */
async function checkMigrated(client: Parameters<typeof pgSchemaVersion>[0]): Promise<void> {
  const version = await pgSchemaVersion(client);
  if (version !== PG_LATEST_SCHEMA_VERSION) {
    throw new Error(
      `it has schema version ${version}, this build needs ${PG_LATEST_SCHEMA_VERSION}; ` +
        "open it once without readonly so that it is migrated",
    );
  }
}
