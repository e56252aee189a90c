/**
 * How `DATABASE_URL` is written, and the PostgreSQL server it names, without loading either
 * database driver: `openLedger` loads only the store the URL's scheme picks, so a server on
 * SQLite never loads node-postgres, nor one on PostgreSQL the SQLite addon.
 */

/** How a SQLite DATABASE_URL is written, for error messages. */
export const SQLITE_FORMS = "sqlite:./data/jit-access.db, sqlite:/var/lib/jit-access/ledger.db or sqlite::memory:";

/** How a PostgreSQL DATABASE_URL is written, for error messages. */
export const POSTGRES_FORMS = "postgres://USER:PASSWORD@HOST:5432/DATABASE (or postgresql://…)";

/**
 * The server a PostgreSQL `DATABASE_URL` names, as errors show it: `postgres://USER@HOST:PORT/DATABASE`,
 * without the password or query parameters. Errors name the setting and the expected form; they
 * never echo the URL.
 */
export function postgresServer(databaseUrl: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(databaseUrl)?.[1] ?? "";
  const invalid = (why: string): Error =>
    new Error(`DATABASE_URL "${scheme}:…" is not a valid PostgreSQL URL: ${why}; write it like ${POSTGRES_FORMS}`);
  if (!["postgres", "postgresql"].includes(scheme.toLowerCase())) throw invalid(`the scheme must be postgres: or postgresql:`);
  if (!databaseUrl.slice(scheme.length + 1).startsWith("//")) throw invalid("it has no //HOST part");
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw invalid("it cannot be parsed as a URL (a password with @, : or / must be percent-encoded)");
  }
  const user = url.username === "" ? "" : `${url.username}@`;
  const port = url.port === "" ? "" : `:${url.port}`;
  return `postgres://${user}${url.hostname}${port}${url.pathname}`;
}
