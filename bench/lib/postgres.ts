/**
 * PostgreSQL for the scenarios that need it: the server of `BENCH_DATABASE_URL` (default:
 * TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test), a fresh schema per run,
 * dropped afterwards. Without a server a scenario is skipped with one line saying why.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test";

export interface BenchPostgres {
  /** Runs `body` with the URL of a new, empty schema, then drops the schema. */
  withFreshSchema<T>(body: (databaseUrl: string) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

/** Connects to the benchmark server; a reason to skip when there is none. */
export async function connectBenchPostgres(): Promise<BenchPostgres | { skipped: string }> {
  const serverUrl = process.env.BENCH_DATABASE_URL?.trim() || process.env.TEST_DATABASE_URL?.trim() || DEFAULT_URL;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 2_000 });
  admin.on("error", () => undefined);
  try {
    await admin.connect();
  } catch (error) {
    return { skipped: `no PostgreSQL at ${new URL(serverUrl).host} (${error instanceof Error ? error.message : String(error)})` };
  }
  return {
    withFreshSchema: async (body) => {
      const schema = `jit_bench_${randomBytes(4).toString("hex")}`;
      await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      try {
        return await body(withSearchPath(serverUrl, schema));
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      }
    },
    end: () => admin.end(),
  };
}

function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("options", `-c search_path=${schema}`);
  return parsed.toString();
}
