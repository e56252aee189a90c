/**
 * The ledger's SQLite schema, as an ordered list of migrations. `migrate` applies the pending
 * ones at open, all in one transaction, and records the version in `PRAGMA user_version`.
 * Never edit a released migration: append a new one.
 *
 * Each migration after version 5 has a PostgreSQL twin in `pg-migrations.ts`: the same version
 * and description, the same change in PostgreSQL's words, added in the same commit
 * (`pg-store.test.ts` fails while one is missing). Both stores then pass the same contract.
 */
import type Database from "better-sqlite3";
import { auditHash, GENESIS_HASH } from "./audit-chain.js";
import type { AuditAction } from "./store.js";

export interface Migration {
  /** 1, 2, 3…: the `user_version` the database has once this migration is applied. */
  version: number;
  description: string;
  sql: string;
  /** Runs after `sql`, in the same transaction: for what SQL alone cannot compute (hashes). */
  run?: (db: Database.Database) => void;
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
  {
    version: 3,
    description: "grants record the repository id, the merge base and a digest of the approved request set",
    sql: `
      -- Null on grants written before this version; setRepositoryId fills repository_id in.
      ALTER TABLE grants ADD COLUMN repository_id INTEGER CHECK (repository_id IS NULL OR repository_id > 0);
      ALTER TABLE grants ADD COLUMN merge_base_sha TEXT;
      ALTER TABLE grants ADD COLUMN request_digest TEXT;
      CREATE INDEX grants_by_repository_pull_request ON grants (repository_id, pr_number);
    `,
  },
  {
    version: 4,
    description: "audit records form a hash chain (prev_hash, hash); existing records are chained in seq order",
    // The append-only triggers forbid the UPDATE that would add hashes in place, so the table is
    // rebuilt: new table, existing records copied with their hashes (run), old table dropped
    // (DROP TABLE fires no DELETE trigger), the new one renamed, index and triggers recreated.
    sql: `
      CREATE TABLE audit_chained (
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
        details     TEXT    CHECK (details IS NULL OR json_valid(details)),
        -- 64 lower-case hex digits; one record per predecessor, so the chain cannot fork.
        prev_hash   TEXT    NOT NULL UNIQUE CHECK (length(prev_hash) = 64 AND prev_hash NOT GLOB '*[^0-9a-f]*'),
        hash        TEXT    NOT NULL CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*')
      ) STRICT;
    `,
    run: (db) => {
      const insert = db.prepare(
        `INSERT INTO audit_chained (seq, at, action, actor, owner, repo, pr_number, grant_id, environment, secret, details, prev_hash, hash)
         VALUES (@seq, @at, @action, @actor, @owner, @repo, @pr_number, @grant_id, @environment, @secret, @details, @prev_hash, @hash)`,
      );
      // In pages: better-sqlite3 runs no statement while an iterator is open.
      const page = db.prepare<[number], V3AuditRow>("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT 1000");
      let prevHash = GENESIS_HASH;
      for (let rows = page.all(0); rows.length > 0; rows = page.all(rows.at(-1)!.seq)) {
        for (const row of rows) {
          const hash = auditHash(row.seq, prevHash, {
            at: new Date(row.at),
            action: row.action as AuditAction,
            actor: row.actor,
            owner: row.owner,
            repo: row.repo,
            ...(row.pr_number !== null && { prNumber: row.pr_number }),
            ...(row.grant_id !== null && { grantId: row.grant_id }),
            ...(row.environment !== null && { environment: row.environment }),
            ...(row.secret !== null && { secret: row.secret }),
            ...(row.details !== null && { details: JSON.parse(row.details) as Record<string, unknown> }),
          });
          insert.run({ ...row, prev_hash: prevHash, hash });
          prevHash = hash;
        }
      }
      db.exec(`
        DROP TABLE audit;
        ALTER TABLE audit_chained RENAME TO audit;
        CREATE INDEX audit_by_time ON audit (at);
        CREATE TRIGGER audit_rows_are_never_updated BEFORE UPDATE ON audit
          BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be updated'); END;
        CREATE TRIGGER audit_rows_are_never_deleted BEFORE DELETE ON audit
          BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
      `);
    },
  },
  {
    version: 5,
    description: "a write whose outcome was unknown fixes the grant's expiry from that attempt",
    sql: `
      -- When a PUT may have taken effect without an answer: the expiry counts from then, whenever
      -- the write is finally confirmed.
      ALTER TABLE grants ADD COLUMN write_uncertain_at INTEGER;
    `,
  },
  {
    version: 6,
    description: "the workflow gate's decisions, one per run attempt and environment, and GitHub's reply to each answer; both append-only",
    sql: `
      -- One row per job the gate decided: a workflow run's attempt in one environment.
      CREATE TABLE gate_decisions (
        run_id           INTEGER NOT NULL CHECK (run_id > 0),
        run_attempt      INTEGER NOT NULL CHECK (run_attempt > 0),
        environment      TEXT    NOT NULL COLLATE NOCASE,
        installation_id  INTEGER NOT NULL,
        repository_id    INTEGER NOT NULL CHECK (repository_id > 0),
        owner            TEXT    NOT NULL COLLATE NOCASE,
        repo             TEXT    NOT NULL COLLATE NOCASE,
        state            TEXT    NOT NULL CHECK (state IN ('approved', 'rejected')),
        reason           TEXT    NOT NULL,
        comment          TEXT    NOT NULL,
        grant_id         TEXT    REFERENCES grants (id),
        -- {id, login}; null when GitHub did not say who (such a job is rejected).
        actor            TEXT    CHECK (actor IS NULL OR json_valid(actor)),
        triggering_actor TEXT    CHECK (triggering_actor IS NULL OR json_valid(triggering_actor)),
        workflow_path    TEXT    NOT NULL,
        ref              TEXT,
        head_sha         TEXT    NOT NULL,
        event            TEXT    NOT NULL,
        -- Times are integer milliseconds since the epoch.
        run_started_at   INTEGER NOT NULL,
        decided_at       INTEGER NOT NULL,
        PRIMARY KEY (run_id, run_attempt, environment),
        CHECK (state = 'rejected' OR grant_id IS NOT NULL)
      ) STRICT;
      -- GitHub's reply to the answer sent for a decision: at most one per decision.
      CREATE TABLE gate_answers (
        run_id      INTEGER NOT NULL,
        run_attempt INTEGER NOT NULL,
        environment TEXT    NOT NULL COLLATE NOCASE,
        outcome     TEXT    NOT NULL CHECK (outcome IN ('accepted', 'refused')),
        answered_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, run_attempt, environment),
        FOREIGN KEY (run_id, run_attempt, environment) REFERENCES gate_decisions (run_id, run_attempt, environment)
      ) STRICT;
      CREATE TRIGGER gate_decisions_are_never_updated BEFORE UPDATE ON gate_decisions
        BEGIN SELECT RAISE(ABORT, 'gate decisions are append-only: rows cannot be updated'); END;
      CREATE TRIGGER gate_decisions_are_never_deleted BEFORE DELETE ON gate_decisions
        BEGIN SELECT RAISE(ABORT, 'gate decisions are append-only: rows cannot be deleted'); END;
      CREATE TRIGGER gate_answers_are_never_updated BEFORE UPDATE ON gate_answers
        BEGIN SELECT RAISE(ABORT, 'gate answers are append-only: rows cannot be updated'); END;
      CREATE TRIGGER gate_answers_are_never_deleted BEFORE DELETE ON gate_answers
        BEGIN SELECT RAISE(ABORT, 'gate answers are append-only: rows cannot be deleted'); END;
    `,
  },
  {
    version: 7,
    description: "audit records can be archived: the ledger keeps each cut, and removes only records a cut covers",
    sql: `
      -- One row per run of jit-access audit --archive: records first_seq to last_seq went to a file.
      -- The last row's head_hash is where the chain of the records left starts.
      CREATE TABLE audit_archives (
        last_seq    INTEGER PRIMARY KEY,
        first_seq   INTEGER NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
        count       INTEGER NOT NULL CHECK (count >= 1 AND count <= last_seq - first_seq + 1),
        prev_hash   TEXT    NOT NULL CHECK (length(prev_hash) = 64 AND prev_hash NOT GLOB '*[^0-9a-f]*'),
        head_hash   TEXT    NOT NULL CHECK (length(head_hash) = 64 AND head_hash NOT GLOB '*[^0-9a-f]*'),
        cut_before  INTEGER NOT NULL,
        archived_at INTEGER NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_archives_are_never_updated BEFORE UPDATE ON audit_archives
        BEGIN SELECT RAISE(ABORT, 'the record of audit archives is append-only: rows cannot be updated'); END;
      CREATE TRIGGER audit_archives_are_never_deleted BEFORE DELETE ON audit_archives
        BEGIN SELECT RAISE(ABORT, 'the record of audit archives is append-only: rows cannot be deleted'); END;
      -- A record leaves the log only once a cut that covers it is recorded, in the same transaction.
      DROP TRIGGER audit_rows_are_never_deleted;
      CREATE TRIGGER audit_rows_are_removed_only_when_archived BEFORE DELETE ON audit
        WHEN OLD.seq > coalesce((SELECT max(last_seq) FROM audit_archives), 0)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive once they are in an archive file'); END;
    `,
  },
  {
    version: 8,
    description: "grants say whether their secret was written, and keep GitHub's updated_at of their write as the app's mark",
    sql: `
      -- none: nothing of the grant's own can be in the environment; uncertain: a PUT was sent and
      -- not confirmed; written: confirmed. Only a live written grant keeps a secret for others.
      ALTER TABLE grants ADD COLUMN secret_write TEXT NOT NULL DEFAULT 'none'
        CHECK (secret_write IN ('none', 'uncertain', 'written'));
      -- Grants written before this version: an active or once-granted grant was written; any
      -- other may have sent a PUT (the earlier versions recorded no write-ahead of the PUT).
      UPDATE grants SET secret_write = CASE WHEN state = 'active' OR granted_at IS NOT NULL THEN 'written' ELSE 'uncertain' END;
      -- The secret's updated_at (epoch ms) as GitHub reported it after the grant's PUT.
      ALTER TABLE grants ADD COLUMN secret_updated_at INTEGER;
      CREATE INDEX grants_by_write_mark ON grants (owner, repo, environment, secret, secret_updated_at)
        WHERE secret_updated_at IS NOT NULL;
    `,
  },
  {
    version: 9,
    description: "due grants carry a claim (owner, lease expiry); lease rows for per-secret locks and installation write slots",
    sql: `
      -- Who is revoking a due grant and until when (epoch ms): a sweep claims the grants it
      -- will revoke, so several processes split a sweep; a claim whose lease ran out is free.
      ALTER TABLE grants ADD COLUMN claim_owner TEXT;
      ALTER TABLE grants ADD COLUMN claim_expires_at INTEGER;
      -- One row per secret being written or deleted: the per-secret critical section across
      -- processes (the server and the CLI beside it). A row whose lease ran out is free.
      CREATE TABLE secret_locks (
        lock_key   TEXT    PRIMARY KEY,
        owner      TEXT    NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- The next write slot of each installation, shared by the processes that write for it
      -- (used with PostgreSQL; kept here so both stores have the same tables).
      CREATE TABLE write_slots (
        installation   TEXT    PRIMARY KEY,
        next_write_at  INTEGER NOT NULL,
        next_notify_at INTEGER NOT NULL,
        -- The most urgent write some process is waiting to send (0: a secret DELETE), until when:
        -- less urgent writes of other processes leave the next slot to it.
        waiting_priority INTEGER,
        waiting_until    INTEGER
      ) WITHOUT ROWID;
      `,
  },
  {
    version: 10,
    description: "webhook deliveries are kept in an inbox until processed, and redeliveries the app asked for are recorded",
    sql: `
      -- One row per verified delivery, keyed by X-GitHub-Delivery (a redelivery has the same key
      -- and is dropped). pending: to be processed (claimed_by and claim_expires_at: a lease);
      -- done: processed (deleted after the retention period); dead: failed every attempt, kept.
      CREATE TABLE webhook_inbox (
        delivery_id      TEXT    PRIMARY KEY CHECK (length(delivery_id) BETWEEN 1 AND 200),
        event            TEXT    NOT NULL CHECK (length(event) BETWEEN 1 AND 200),
        payload          TEXT    NOT NULL CHECK (json_valid(payload)),
        bytes            INTEGER NOT NULL CHECK (bytes >= 0 AND bytes <= 26214400),
        received_at      INTEGER NOT NULL,
        state            TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        claimed_by       TEXT,
        claim_expires_at INTEGER,
        last_error       TEXT,
        finished_at      INTEGER
      ) STRICT;
      CREATE INDEX webhook_inbox_due ON webhook_inbox (state, next_attempt_at);
      CREATE INDEX webhook_inbox_finished ON webhook_inbox (state, finished_at);
      -- Failed deliveries the app asked GitHub to redeliver, once each (keyed by the delivery's guid).
      CREATE TABLE hook_redeliveries (
        guid           TEXT    PRIMARY KEY CHECK (length(guid) BETWEEN 1 AND 200),
        delivery_id    INTEGER NOT NULL,
        requested_at   INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 11,
    description: "grants count their extensions (/jit extend) and record the reminder sent before their expiry",
    sql: `
      -- How many times /jit extend moved the grant's expiry; the catalog's extension.times bounds it.
      ALTER TABLE grants ADD COLUMN extensions INTEGER NOT NULL DEFAULT 0 CHECK (extensions >= 0);
      -- When the reminder before expiry was sent (epoch ms); null until then. Set once per grant.
      ALTER TABLE grants ADD COLUMN reminded_at INTEGER;
      CREATE INDEX grants_awaiting_reminder ON grants (expires_at) WHERE state = 'active' AND reminded_at IS NULL;
    `,
  },
  {
    version: 12,
    description: "a notification outbox, the first evaluation of each request head (lapse), and break-glass grants and their review",
    sql: `
      -- Events for JIT_NOTIFY_URL, one row per event and URL, delivered by a background worker.
      -- body is the exact text POSTed (the JSON event, or a Slack message); never a secret value.
      CREATE TABLE notify_outbox (
        id              TEXT    PRIMARY KEY,
        url             TEXT    NOT NULL,
        event           TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        -- Times are integer milliseconds since the epoch.
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        delivered_at    INTEGER,
        abandoned_at    INTEGER,
        last_error      TEXT
      ) STRICT;
      CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;
      -- One row per pull request head that asked for access: when it was first evaluated, when it
      -- lapses unless approved (request_ttl), and whether it lapsed or was granted.
      CREATE TABLE request_heads (
        installation_id    INTEGER NOT NULL,
        owner              TEXT    NOT NULL COLLATE NOCASE,
        repo               TEXT    NOT NULL COLLATE NOCASE,
        pr_number          INTEGER NOT NULL,
        head_sha           TEXT    NOT NULL,
        first_evaluated_at INTEGER NOT NULL,
        lapses_at          INTEGER NOT NULL,
        ttl_ms             INTEGER NOT NULL,
        lapsed_at          INTEGER,
        approved_at        INTEGER,
        PRIMARY KEY (owner, repo, pr_number, head_sha)
      ) STRICT;
      CREATE INDEX request_heads_lapsing ON request_heads (lapses_at) WHERE lapsed_at IS NULL AND approved_at IS NULL;
      -- Break-glass grants (granted without approval) and the code owner's review afterwards.
      ALTER TABLE grants ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));
      ALTER TABLE grants ADD COLUMN reviewed_by TEXT CHECK (reviewed_by IS NULL OR json_valid(reviewed_by));
      ALTER TABLE grants ADD COLUMN reviewed_at INTEGER;
      CREATE INDEX grants_unreviewed_break_glass ON grants (created_at) WHERE break_glass = 1 AND reviewed_at IS NULL;
    `,
  },
  {
    version: 13,
    description: "grants record each approver's permission on the repository at the time, and the CODEOWNERS entry they owned through",
    sql: `
      -- [{id, login, permission, via}], one per approver; null on grants written before this
      -- version (the page says "not recorded"): nothing tells what the permission was then.
      ALTER TABLE grants ADD COLUMN approver_permissions TEXT CHECK (approver_permissions IS NULL OR json_valid(approver_permissions));
    `,
  },
];

/** An audit row as versions 1 to 3 stored it. */
interface V3AuditRow {
  seq: number;
  at: number;
  action: string;
  actor: string;
  owner: string;
  repo: string;
  pr_number: number | null;
  grant_id: string | null;
  environment: string | null;
  secret: string | null;
  details: string | null;
}

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
      migration.run?.(db);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}
