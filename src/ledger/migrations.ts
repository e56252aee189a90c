/**
 * The ledger's SQLite schema, as an ordered list of migrations. `migrate` applies the pending
 * ones at open, all in one transaction, and records the version in `PRAGMA user_version`.
 * Never edit a released migration: append a new one.
 */
import type Database from "better-sqlite3";

export interface Migration {
  /** 1, 2, 3…: the `user_version` the database has once this migration is applied. */
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "grants and the append-only audit log",
    sql: `
      CREATE TABLE grants (
        id              TEXT    PRIMARY KEY,
        installation_id INTEGER NOT NULL,
        -- GitHub compares owner, repository, environment and secret names case-insensitively.
        owner           TEXT    NOT NULL COLLATE NOCASE,
        repo            TEXT    NOT NULL COLLATE NOCASE,
        environment     TEXT    NOT NULL COLLATE NOCASE,
        secret          TEXT    NOT NULL COLLATE NOCASE,
        requester       TEXT    NOT NULL CHECK (json_valid(requester)),
        pr_number       INTEGER NOT NULL,
        head_sha        TEXT    NOT NULL,
        approvers       TEXT    NOT NULL CHECK (json_valid(approvers)),
        reason          TEXT    NOT NULL,
        duration_ms     INTEGER NOT NULL,
        request_key     TEXT    NOT NULL UNIQUE,
        -- Times are integer milliseconds since the epoch.
        created_at      INTEGER NOT NULL,
        granted_at      INTEGER,
        expires_at      INTEGER NOT NULL,
        ended_at        INTEGER,
        state           TEXT    NOT NULL CHECK (state IN ('granting', 'active', 'revoked', 'expired', 'failed')),
        end_reason      TEXT,
        revoke_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error      TEXT
      ) STRICT;
      CREATE INDEX grants_by_state_expiry ON grants (state, expires_at);
      CREATE INDEX grants_by_secret ON grants (owner, repo, environment, secret, state);
      CREATE INDEX grants_by_pull_request ON grants (owner, repo, pr_number);

      CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        action      TEXT    NOT NULL,
        actor       TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        repo        TEXT    NOT NULL,
        pr_number   INTEGER,
        grant_id    TEXT    REFERENCES grants (id),
        environment TEXT,
        secret      TEXT,
        details     TEXT    CHECK (details IS NULL OR json_valid(details))
      ) STRICT;
      CREATE INDEX audit_by_time ON audit (at);
      CREATE TRIGGER audit_rows_are_never_updated BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be updated'); END;
      CREATE TRIGGER audit_rows_are_never_deleted BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
    `,
  },
  {
    version: 2,
    description: "a revocation that failed remembers how the grant is to end, so the sweep retries it before expiry",
    sql: `
      ALTER TABLE grants ADD COLUMN pending_end TEXT CHECK (pending_end IS NULL OR json_valid(pending_end));
      CREATE INDEX grants_by_pending_end ON grants (state, next_attempt_at) WHERE pending_end IS NOT NULL;
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

export function schemaVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/**
 * Brings the schema up to date in one transaction (all pending migrations or none).
 * Refuses a database written by a newer version of the app rather than guessing.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`ledger migrations must be numbered 1, 2, 3… in order; found ${migration.version} at position ${index + 1}`);
    }
  });
  db.transaction(() => {
    const current = schemaVersion(db);
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the ledger database has schema version ${current}, newer than this build knows (${latest}); ` +
          "run the newer jit-access release, or restore a backup made by this one",
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}
