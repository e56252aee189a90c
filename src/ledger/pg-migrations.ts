/**
 * The ledger's PostgreSQL schema, as an ordered list of migrations numbered like the SQLite ones
 * (`migrations.ts`): schema version N means the same ledger in both stores.
 *
 * A PostgreSQL ledger starts at `PG_BASELINE_VERSION`: its first migration builds at once the
 * schema SQLite reached through versions 1 to 5 (no PostgreSQL ledger existed before). From
 * there every SQLite migration has a PostgreSQL twin: the same version and description, the same
 * change in PostgreSQL's words. Add both in the same commit; `pg-store.test.ts` fails while one
 * is missing. Never edit a released migration: append a new one.
 *
 * `migratePostgres` applies the pending ones at open, all in one transaction (PostgreSQL's DDL is
 * transactional), under a transaction-scoped advisory lock: replicas starting together take turns,
 * the first migrates, the others find the schema up to date. Each applied version is a row of
 * `schema_version`.
 *
 * What the two dialects do differently, on purpose:
 * - Times are bigint milliseconds since the epoch, as SQLite's INTEGER columns hold them.
 * - Owner, repository, environment and secret names are compared through `*_key` columns that
 *   fold A–Z to a–z and nothing else (`translate`, which no locale changes), as GitHub compares
 *   them and as SQLite's NOCASE does; `lower()` would follow the database's locale.
 * - Ids, request keys and hashes are `COLLATE "C"`: they sort byte by byte, as in SQLite, so
 *   keyset pagination by (expires_at, id) pages the same way in both.
 * - Appends to the audit log take turns on the one row of `audit_append_lock` (SELECT … FOR
 *   UPDATE), so writers in several processes never fork the hash chain; an archive of audit
 *   records takes its turn there too.
 */
import type { ClientBase } from "pg";

export interface PgMigration {
  /** The schema version the database has once this migration is applied (the SQLite twin's). */
  version: number;
  /** The SQLite twin's description, word for word; the baseline says what it stands for. */
  description: string;
  sql: string;
}

/** The first PostgreSQL schema version: SQLite's versions 1 to 5 in one step. */
export const PG_BASELINE_VERSION = 5;

/** `name_key` for a name column: its A–Z folded to a–z, nothing else (see the module comment). */
const asciiKey = (column: string): string =>
  `text COLLATE "C" GENERATED ALWAYS AS (translate(${column}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) STORED`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: PG_BASELINE_VERSION,
    description: "the ledger as SQLite schema versions 1 to 5 have it: grants, the hash-chained append-only audit log",
    sql: `
      CREATE TABLE grants (
        id                 text    COLLATE "C" PRIMARY KEY,
        installation_id    bigint  NOT NULL,
        -- Null on grants written before the ledger recorded it; setRepositoryId fills it in.
        repository_id      bigint  CHECK (repository_id IS NULL OR repository_id > 0),
        owner              text    NOT NULL,
        repo               text    NOT NULL,
        environment        text    NOT NULL,
        secret             text    NOT NULL,
        -- GitHub compares these names ignoring ASCII case only.
        owner_key          ${asciiKey("owner")},
        repo_key           ${asciiKey("repo")},
        environment_key    ${asciiKey("environment")},
        secret_key         ${asciiKey("secret")},
        requester          json    NOT NULL,
        pr_number          bigint  NOT NULL,
        head_sha           text    NOT NULL,
        merge_base_sha     text,
        request_digest     text,
        approvers          json    NOT NULL,
        reason             text    NOT NULL,
        duration_ms        bigint  NOT NULL,
        request_key        text    COLLATE "C" NOT NULL UNIQUE,
        -- Times are bigint milliseconds since the epoch.
        created_at         bigint  NOT NULL,
        granted_at         bigint,
        expires_at         bigint  NOT NULL,
        ended_at           bigint,
        state              text    NOT NULL CHECK (state IN ('granting', 'active', 'revoked', 'expired', 'failed')),
        end_reason         text,
        revoke_attempts    bigint  NOT NULL DEFAULT 0,
        next_attempt_at    bigint,
        last_error         text,
        -- How an early end that failed is to end once the retry succeeds.
        pending_end        json,
        -- When a PUT whose outcome was unknown was sent: the expiry counts from then.
        write_uncertain_at bigint
      );
      CREATE INDEX grants_by_state_expiry ON grants (state, expires_at);
      CREATE INDEX grants_by_secret ON grants (owner_key, repo_key, environment_key, secret_key, state);
      CREATE INDEX grants_by_pull_request ON grants (owner_key, repo_key, pr_number);
      CREATE INDEX grants_by_pending_end ON grants (state, next_attempt_at) WHERE pending_end IS NOT NULL;
      CREATE INDEX grants_by_repository_pull_request ON grants (repository_id, pr_number);

      CREATE TABLE audit (
        seq         bigint  PRIMARY KEY CHECK (seq > 0),
        at          bigint  NOT NULL,
        action      text    NOT NULL,
        actor       text    NOT NULL,
        owner       text    NOT NULL,
        repo        text    NOT NULL,
        pr_number   bigint,
        grant_id    text    COLLATE "C" REFERENCES grants (id),
        environment text,
        secret      text,
        -- Canonical JSON text (audit-chain.ts), kept as written.
        details     json,
        -- 64 lower-case hex digits; one record per predecessor, so the chain cannot fork.
        prev_hash   text    COLLATE "C" NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash        text    COLLATE "C" NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
      );
      CREATE INDEX audit_by_time ON audit (at);
      CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the audit log is append-only: rows cannot be %',
            CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
        END
      $$;
      CREATE TRIGGER audit_rows_are_never_updated BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
      CREATE TRIGGER audit_rows_are_never_deleted BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
      CREATE TRIGGER audit_is_never_truncated BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

      -- One row, locked by every transaction that appends to the audit log, for the rest of that
      -- transaction: appends from every process take turns, so each reads the true head.
      CREATE TABLE audit_append_lock (one boolean PRIMARY KEY DEFAULT true CHECK (one));
      INSERT INTO audit_append_lock DEFAULT VALUES;
    `,
  },
  {
    version: 6,
    description: "the workflow gate's decisions, one per run attempt and environment, and GitHub's reply to each answer; both append-only",
    sql: `
      -- One row per job the gate decided: a workflow run's attempt in one environment.
      CREATE TABLE gate_decisions (
        run_id           bigint  NOT NULL CHECK (run_id > 0),
        run_attempt      bigint  NOT NULL CHECK (run_attempt > 0),
        environment      text    NOT NULL,
        environment_key  ${asciiKey("environment")},
        installation_id  bigint  NOT NULL,
        repository_id    bigint  NOT NULL CHECK (repository_id > 0),
        owner            text    NOT NULL,
        repo             text    NOT NULL,
        state            text    NOT NULL CHECK (state IN ('approved', 'rejected')),
        reason           text    NOT NULL,
        comment          text    NOT NULL,
        grant_id         text    COLLATE "C" REFERENCES grants (id),
        -- {id, login}; null when GitHub did not say who (such a job is rejected).
        actor            json,
        triggering_actor json,
        workflow_path    text    NOT NULL,
        ref              text,
        head_sha         text    NOT NULL,
        event            text    NOT NULL,
        -- Times are bigint milliseconds since the epoch.
        run_started_at   bigint  NOT NULL,
        decided_at       bigint  NOT NULL,
        PRIMARY KEY (run_id, run_attempt, environment_key),
        CHECK (state = 'rejected' OR grant_id IS NOT NULL)
      );
      -- GitHub's reply to the answer sent for a decision: at most one per decision.
      CREATE TABLE gate_answers (
        run_id          bigint  NOT NULL,
        run_attempt     bigint  NOT NULL,
        environment_key text    COLLATE "C" NOT NULL,
        outcome         text    NOT NULL CHECK (outcome IN ('accepted', 'refused')),
        answered_at     bigint  NOT NULL,
        PRIMARY KEY (run_id, run_attempt, environment_key),
        FOREIGN KEY (run_id, run_attempt, environment_key) REFERENCES gate_decisions (run_id, run_attempt, environment_key)
      );
      CREATE FUNCTION gate_rows_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% are append-only: rows cannot be %',
            CASE TG_TABLE_NAME WHEN 'gate_decisions' THEN 'gate decisions' ELSE 'gate answers' END,
            CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
        END
      $$;
      CREATE TRIGGER gate_decisions_are_never_updated BEFORE UPDATE ON gate_decisions FOR EACH ROW EXECUTE FUNCTION gate_rows_are_append_only();
      CREATE TRIGGER gate_decisions_are_never_deleted BEFORE DELETE ON gate_decisions FOR EACH ROW EXECUTE FUNCTION gate_rows_are_append_only();
      CREATE TRIGGER gate_decisions_are_never_truncated BEFORE TRUNCATE ON gate_decisions FOR EACH STATEMENT EXECUTE FUNCTION gate_rows_are_append_only();
      CREATE TRIGGER gate_answers_are_never_updated BEFORE UPDATE ON gate_answers FOR EACH ROW EXECUTE FUNCTION gate_rows_are_append_only();
      CREATE TRIGGER gate_answers_are_never_deleted BEFORE DELETE ON gate_answers FOR EACH ROW EXECUTE FUNCTION gate_rows_are_append_only();
      CREATE TRIGGER gate_answers_are_never_truncated BEFORE TRUNCATE ON gate_answers FOR EACH STATEMENT EXECUTE FUNCTION gate_rows_are_append_only();
    `,
  },
  {
    version: 7,
    description: "audit records can be archived: the ledger keeps each cut, and removes only records a cut covers",
    sql: `
      -- One row per run of jit-access audit --archive: records first_seq to last_seq went to a file.
      -- The last row's head_hash is where the chain of the records left starts.
      CREATE TABLE audit_archives (
        last_seq    bigint  PRIMARY KEY,
        first_seq   bigint  NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
        count       bigint  NOT NULL CHECK (count >= 1 AND count <= last_seq - first_seq + 1),
        prev_hash   text    COLLATE "C" NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        head_hash   text    COLLATE "C" NOT NULL CHECK (head_hash ~ '^[0-9a-f]{64}$'),
        -- Times are bigint milliseconds since the epoch.
        cut_before  bigint  NOT NULL,
        archived_at bigint  NOT NULL
      );
      CREATE FUNCTION audit_archives_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the record of audit archives is append-only: rows cannot be %',
            CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
        END
      $$;
      CREATE TRIGGER audit_archives_are_never_updated BEFORE UPDATE ON audit_archives FOR EACH ROW EXECUTE FUNCTION audit_archives_are_append_only();
      CREATE TRIGGER audit_archives_are_never_deleted BEFORE DELETE ON audit_archives FOR EACH ROW EXECUTE FUNCTION audit_archives_are_append_only();
      CREATE TRIGGER audit_archives_are_never_truncated BEFORE TRUNCATE ON audit_archives FOR EACH STATEMENT EXECUTE FUNCTION audit_archives_are_append_only();
      -- A record leaves the log only once a cut that covers it is recorded, in the same
      -- transaction. UPDATE and TRUNCATE stay refused as before.
      DROP TRIGGER audit_rows_are_never_deleted ON audit;
      CREATE FUNCTION audit_rows_are_removed_only_when_archived() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.seq <= coalesce((SELECT max(last_seq) FROM audit_archives), 0) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION 'the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive once they are in an archive file';
        END
      $$;
      CREATE TRIGGER audit_rows_are_removed_only_when_archived BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_rows_are_removed_only_when_archived();
    `,
  },
  {
    version: 8,
    description: "grants say whether their secret was written, and keep GitHub's updated_at of their write as the app's mark",
    sql: `
      -- none: nothing of the grant's own can be in the environment; uncertain: a PUT was sent and
      -- not confirmed; written: confirmed. Only a live written grant keeps a secret for others.
      ALTER TABLE grants ADD COLUMN secret_write text NOT NULL DEFAULT 'none'
        CHECK (secret_write IN ('none', 'uncertain', 'written'));
      -- Grants written before this version: an active or once-granted grant was written; any
      -- other may have sent a PUT (the earlier versions recorded no write-ahead of the PUT).
      UPDATE grants SET secret_write = CASE WHEN state = 'active' OR granted_at IS NOT NULL THEN 'written' ELSE 'uncertain' END;
      -- The secret's updated_at (epoch ms) as GitHub reported it after the grant's PUT.
      ALTER TABLE grants ADD COLUMN secret_updated_at bigint;
      CREATE INDEX grants_by_write_mark ON grants (owner_key, repo_key, environment_key, secret_key, secret_updated_at)
        WHERE secret_updated_at IS NOT NULL;
    `,
  },
  {
    version: 9,
    description: "due grants carry a claim (owner, lease expiry); lease rows for per-secret locks and installation write slots",
    sql: `
      -- Who is revoking a due grant and until when (epoch ms): a sweep claims the grants it
      -- will revoke (FOR UPDATE SKIP LOCKED), so replicas split a sweep; a claim whose lease ran out is free.
      ALTER TABLE grants ADD COLUMN claim_owner text;
      ALTER TABLE grants ADD COLUMN claim_expires_at bigint;
      -- Kept for parity with SQLite, which locks a secret with these lease rows; PostgreSQL
      -- locks a secret with an advisory lock instead (pg-store.ts, withSecretLock).
      CREATE TABLE secret_locks (
        lock_key   text   COLLATE "C" PRIMARY KEY,
        owner      text   NOT NULL,
        expires_at bigint NOT NULL
      );
      -- The next write slot of each installation, shared by every replica (reserveWriteSlot).
      CREATE TABLE write_slots (
        installation   text   COLLATE "C" PRIMARY KEY,
        next_write_at  bigint NOT NULL,
        next_notify_at bigint NOT NULL,
        -- The most urgent write some replica is waiting to send (0: a secret DELETE), until when:
        -- less urgent writes of other replicas leave the next slot to it.
        waiting_priority integer,
        waiting_until    bigint
      );
    `,
  },
  {
    version: 10,
    description: "webhook deliveries are kept in an inbox until processed, and redeliveries the app asked for are recorded",
    sql: `
      CREATE TABLE webhook_inbox (
        delivery_id      text    COLLATE "C" PRIMARY KEY CHECK (length(delivery_id) BETWEEN 1 AND 200),
        event            text    NOT NULL CHECK (length(event) BETWEEN 1 AND 200),
        payload          text    NOT NULL,
        bytes            bigint  NOT NULL CHECK (bytes >= 0 AND bytes <= 26214400),
        received_at      bigint  NOT NULL,
        state            text    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
        attempts         bigint  NOT NULL DEFAULT 0,
        next_attempt_at  bigint  NOT NULL,
        claimed_by       text,
        claim_expires_at bigint,
        last_error       text,
        finished_at      bigint
      );
      CREATE INDEX webhook_inbox_due ON webhook_inbox (state, next_attempt_at);
      CREATE INDEX webhook_inbox_finished ON webhook_inbox (state, finished_at);
      CREATE TABLE hook_redeliveries (
        guid           text    COLLATE "C" PRIMARY KEY CHECK (length(guid) BETWEEN 1 AND 200),
        delivery_id    bigint  NOT NULL,
        requested_at   bigint  NOT NULL
      );
      `,
  },
  {
    version: 11,
    description: "grants count their extensions (/jit extend) and record the reminder sent before their expiry",
    sql: `
      -- How many times /jit extend moved the grant's expiry; the catalog's extension.times bounds it.
      ALTER TABLE grants ADD COLUMN extensions integer NOT NULL DEFAULT 0 CHECK (extensions >= 0);
      -- When the reminder before expiry was sent (epoch ms); null until then. Set once per grant.
      ALTER TABLE grants ADD COLUMN reminded_at bigint;
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
        id              text    COLLATE "C" PRIMARY KEY,
        url             text    NOT NULL,
        event           text    NOT NULL,
        body            text    NOT NULL,
        -- Times are bigint milliseconds since the epoch.
        created_at      bigint  NOT NULL,
        attempts        bigint  NOT NULL DEFAULT 0,
        next_attempt_at bigint  NOT NULL,
        delivered_at    bigint,
        abandoned_at    bigint,
        last_error      text
      );
      CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;
      -- One row per pull request head that asked for access: when it was first evaluated, when it
      -- lapses unless approved (request_ttl), and whether it lapsed or was granted.
      CREATE TABLE request_heads (
        installation_id    bigint  NOT NULL,
        owner              text    NOT NULL,
        repo               text    NOT NULL,
        owner_key          ${asciiKey("owner")},
        repo_key           ${asciiKey("repo")},
        pr_number          bigint  NOT NULL,
        head_sha           text    COLLATE "C" NOT NULL,
        first_evaluated_at bigint  NOT NULL,
        lapses_at          bigint  NOT NULL,
        ttl_ms             bigint  NOT NULL,
        lapsed_at          bigint,
        approved_at        bigint,
        PRIMARY KEY (owner_key, repo_key, pr_number, head_sha)
      );
      CREATE INDEX request_heads_lapsing ON request_heads (lapses_at) WHERE lapsed_at IS NULL AND approved_at IS NULL;
      -- Break-glass grants (granted without approval) and the code owner's review afterwards.
      ALTER TABLE grants ADD COLUMN break_glass boolean NOT NULL DEFAULT false;
      ALTER TABLE grants ADD COLUMN reviewed_by json;
      ALTER TABLE grants ADD COLUMN reviewed_at bigint;
      CREATE INDEX grants_unreviewed_break_glass ON grants (created_at) WHERE break_glass AND reviewed_at IS NULL;
    `,
  },
  {
    version: 13,
    description: "grants record each approver's permission on the repository at the time, and the CODEOWNERS entry they owned through",
    sql: `
      -- [{id, login, permission, via}], one per approver; null on grants written before this
      -- version (the page says "not recorded"): nothing tells what the permission was then.
      ALTER TABLE grants ADD COLUMN approver_permissions json;
    `,
  },
];

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS.at(-1)?.version ?? 0;

/**
 * The advisory lock migrations run under: this constant and the hash of the schema migrated, so
 * that ledgers in different schemas of one database do not wait for each other.
 */
const MIGRATION_LOCK_CLASS = 0x6a697461; // "jita"

/** The schema version recorded in the schema the search path names first; 0 when it has no ledger. */
export async function pgSchemaVersion(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('schema_version') IS NOT NULL AS exists");
  if (rows[0]?.exists !== true) return 0;
  const version = await client.query<{ version: string | null }>("SELECT max(version) AS version FROM schema_version");
  return Number(version.rows[0]?.version ?? 0);
}

/**
 * Brings the schema up to date in one transaction (all pending migrations or none), under the
 * migration lock. Refuses a database written by a newer version of the app rather than guessing.
 * `client` must not be in a transaction; after a failure, release it as broken.
 */
export async function migratePostgres(client: ClientBase, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<void> {
  const first = migrations[0]?.version ?? PG_BASELINE_VERSION;
  migrations.forEach((migration, index) => {
    if (migration.version !== first + index) {
      throw new Error(
        `PostgreSQL ledger migrations must be numbered ${first}, ${first + 1}, ${first + 2}… in order; found ${migration.version} at position ${index + 1}`,
      );
    }
  });
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", [MIGRATION_LOCK_CLASS]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_version (
         version     integer     PRIMARY KEY,
         description text        NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const current = await pgSchemaVersion(client);
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the ledger database has schema version ${current}, newer than this build knows (${latest}); ` +
          "run the newer jit-access release, or restore a backup made by this one",
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_version (version, description) VALUES ($1, $2)", [migration.version, migration.description]);
    }
    await client.query("COMMIT");
  } catch (error) {
    // The migration's error is the one to report. A connection whose rollback failed too is
    // broken, and the caller discards it with that error (`pg-open.ts`).
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
