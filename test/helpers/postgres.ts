/**
 * PostgreSQL for the tests: the server the global setup found (`test/setup/global-setup.ts`), and
 * a fresh, empty schema for each ledger a test opens. `describePostgres` runs a block when the
 * server is there and skips it otherwise (the global setup has said why, once, and fails the run
 * instead when TEST_DATABASE_URL was set).
 */
import { describe } from "@jest/globals";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PREFIX_VARIABLE, SKIPPED_VARIABLE, URL_VARIABLE } from "../setup/global-setup.js";

const serverUrl = process.env[URL_VARIABLE];
const prefix = process.env[PREFIX_VARIABLE];
if (serverUrl === undefined && process.env[SKIPPED_VARIABLE] === undefined) {
  throw new Error(
    "the PostgreSQL test helpers need jest's global setup (test/setup/global-setup.ts); run the tests through jest.config.js",
  );
}

export const describePostgres = serverUrl === undefined ? describe.skip : describe;

let admin: pg.Pool | undefined;
let counter = 0;
/** This test file's part of its schemas' names. */
const fileTag = randomBytes(3).toString("hex");
const made: string[] = [];

function adminPool(): pg.Pool {
  if (serverUrl === undefined) throw new Error("PostgreSQL is not available to this test run");
  admin ??= new pg.Pool({ connectionString: serverUrl, max: 2 });
  return admin;
}

/** `url` with the search path set to `schema` (node-postgres passes `options` to the server). */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get("options");
  parsed.searchParams.set("options", `${existing === null ? "" : `${existing} `}-c search_path=${schema}`);
  return parsed.toString();
}

/** A new, empty schema of this run; `url` opens a ledger in it. Dropped by `dropTestSchemas`. */
export async function freshSchema(): Promise<{ schema: string; url: string }> {
  counter += 1;
  // A jest worker runs several test files, each with its own copy of this module and counter.
  const schema = `${prefix}${process.pid}_${fileTag}_${counter}`;
  await adminPool().query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  made.push(schema);
  return { schema, url: withSearchPath(serverUrl!, schema) };
}

/** A DATABASE_URL for a new, empty ledger. */
export async function freshDatabaseUrl(): Promise<string> {
  return (await freshSchema()).url;
}

/** One statement as the database's administrator would run it, in `schema`, on a connection of its own. */
export async function adminQuery<Row extends pg.QueryResultRow>(schema: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  if (serverUrl === undefined) throw new Error("PostgreSQL is not available to this test run");
  const client = new pg.Client({ connectionString: withSearchPath(serverUrl, schema) });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Schemas dropped per statement: a few at a time, as each holds a dozen tables and their indexes,
 * and one transaction dropping many would run out of the server's lock table.
 */
const DROP_BATCH = 5;

/**
 * For `afterAll(dropTestSchemas, DROP_TIMEOUT_MS)`: drops the schemas this file made and closes
 * the admin connections. A file that opens hundreds of ledgers (the store's contract) made
 * hundreds of schemas of a dozen tables each, which a busy server takes a while to drop; the
 * global teardown drops whatever is left by the run's prefix.
 */
export async function dropTestSchemas(): Promise<void> {
  if (admin === undefined) return;
  while (made.length > 0) {
    const batch = made.splice(0, DROP_BATCH);
    await admin.query(`DROP SCHEMA IF EXISTS ${batch.map((schema) => pg.escapeIdentifier(schema)).join(", ")} CASCADE`);
  }
  await admin.end();
  admin = undefined;
}

/** How long `dropTestSchemas` may take as an `afterAll` hook (jest's default of 30 s is for a test). */
export const DROP_TIMEOUT_MS = 300_000;
