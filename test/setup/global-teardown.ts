/**
 * Drops every schema this jest run made for the PostgreSQL tests (`global-setup.ts` names them;
 * test files drop their own, this catches a crashed worker's). Jest loads this file by itself:
 * it imports only packages, so the two variable names are repeated here.
 */
import pg from "pg";

export default async function globalTeardown(): Promise<void> {
  await teardownPostgres(process.env);
}

export async function teardownPostgres(env: NodeJS.ProcessEnv): Promise<void> {
  const url = env.JIT_TEST_POSTGRES_URL;
  const prefix = env.JIT_TEST_POSTGRES_SCHEMA_PREFIX;
  if (url === undefined || prefix === undefined) return;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)", [
      prefix,
    ]);
    for (const { name } of rows) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(name)} CASCADE`);
  } finally {
    await client.end();
  }
}
