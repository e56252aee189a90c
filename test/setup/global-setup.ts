/**
 * Where the PostgreSQL tests run, decided once per jest run (global setup) and handed to every
 * test file through the environment:
 * - `TEST_DATABASE_URL` set: the tests need that server; a run without it fails.
 * - unset: they use `postgres://postgres@127.0.0.1:5432/test` when it answers within 2 s, and
 *   are skipped otherwise, with one line saying so and why.
 * Each ledger a test opens lives in its own schema, `jit_test_<run>_<n>`, dropped after the run
 * (`global-teardown.ts`). Jest loads this file by itself: it imports only packages.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
/** The server's URL when the tests run, set by the global setup. */
export const URL_VARIABLE = "JIT_TEST_POSTGRES_URL";
/** Why the tests are skipped, set by the global setup instead of the URL. */
export const SKIPPED_VARIABLE = "JIT_TEST_POSTGRES_SKIPPED";
/** This run's schema prefix, `jit_test_<random>_`, set by the global setup. */
export const PREFIX_VARIABLE = "JIT_TEST_POSTGRES_SCHEMA_PREFIX";
const CONNECT_TIMEOUT_MS = 2_000;

/** Runs once before every jest run; what it finds reaches the test files through process.env. */
export default async function globalSetup(): Promise<void> {
  await setupPostgres(process.env);
}

/**
 * Sets the variables the test files read, or throws when TEST_DATABASE_URL names a server that
 * cannot be used. `defaultUrl` and `log` are the setup's own unless a test of it gives others.
 */
export async function setupPostgres(
  env: NodeJS.ProcessEnv,
  defaultUrl = DEFAULT_TEST_DATABASE_URL,
  log: (line: string) => void = console.log,
): Promise<void> {
  const explicit = env.TEST_DATABASE_URL?.trim() ? env.TEST_DATABASE_URL.trim() : undefined;
  const url = explicit ?? defaultUrl;
  const problem = await unreachable(url);
  if (problem === null) {
    env[URL_VARIABLE] = url;
    env[PREFIX_VARIABLE] = `jit_test_${randomBytes(4).toString("hex")}_`;
    return;
  }
  if (explicit !== undefined) {
    throw new Error(`TEST_DATABASE_URL is set, but PostgreSQL at ${server(url)} cannot be used: ${problem}`);
  }
  env[SKIPPED_VARIABLE] = `no PostgreSQL at ${server(url)} (${problem})`;
  log(`PostgreSQL tests skipped: ${env[SKIPPED_VARIABLE]}; set TEST_DATABASE_URL to run them and require the server.`);
}

/** Why the server cannot be used for the tests, or null when it can. */
async function unreachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection that fails after connecting reports here too; the failed query says why.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return messageOf(error) || "the connection failed";
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL without its password, for messages. */
function server(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    parsed.search = "";
    return parsed.toString();
  } catch {
    return "TEST_DATABASE_URL (not a valid URL)";
  }
}

/** The error's message; a refused connection to every address of a host is an AggregateError whose errors say it. */
function messageOf(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const message = "message" in error && typeof error.message === "string" ? error.message : "";
  if (message === "" && "errors" in error && Array.isArray(error.errors)) return error.errors.map(messageOf).join("; ");
  return message;
}
