/**
 * The ledger in PostgreSQL (node-postgres), for several replicas and the CLI sharing one
 * database. Expects a pool whose schema `openPostgresLedger` has migrated (`pg-migrations.ts`).
 * Every database error rejects with what failed and how to fix it, so an unreachable or
 * read-only database stops the caller before anything is written to GitHub.
 *
 * The rules are not SQL, as in the SQLite store: a state change reads the row locked
 * (`FOR NO KEY UPDATE`, so a change in another process waits for this one and then sees its
 * result), asks `applyChange` (grant-states.ts) for the row to write, and writes it with its
 * audit record in one transaction. The UPDATE still compares the state it read, as a second
 * line of defence. An append to the audit log first locks the one row of `audit_append_lock`,
 * then reads the head of the chain: appends from every process take turns, and the chain
 * never forks (the unique `prev_hash` would refuse a fork anyway). An archive of audit records
 * (`archiveAudit`) takes the same lock before it reads where the chain starts, so it never
 * removes records while an append reads the head, nor an append chains from removed records.
 *
 * Row locks are always taken in the same order (a grant, then the append lock), so two
 * transactions of this store never wait for each other in a circle.
 */
import { randomUUID } from "node:crypto";
import type { Pool, PoolClient, QueryResultRow } from "pg";
import {
  checkNewNotification,
  checkNewRequestHead,
  type NewNotification,
  type NewRequestHead,
  type Notification,
  type RequestHead,
  type RequestHeadKey,
} from "./notify-rows.js";
import { toHead, toNotification, type HeadRow, type OutboxRow } from "./sqlite-notify.js";
import {
  AuditChainVerifier,
  auditHash,
  canonicalDetails,
  checkArchivePlan,
  GENESIS_HASH,
  type AuditVerification,
  type ChainEntry,
  type ChainStart,
} from "./audit-chain.js";
import {
  applyChange,
  auditForGrant,
  checkNewGrant,
  checkRepositoryId,
  describeChange,
  IllegalTransitionError,
  LIVE_STATES,
  type GrantChange,
  type GrantState,
  type SecretWrite,
} from "./grant-states.js";
import { checkGateAnswer, checkGateKey, checkNewGateDecision, describeGateKey, isGateKey } from "./gate-decisions.js";
import { personJson, toGateDecision, type GateRow } from "./gate-rows.js";
import {
  abandonedError,
  checkClaim,
  checkNewDelivery,
  checkTime,
  shortError,
  type InboxClaim,
  type InboxCounts,
  type InboxEntry,
  type InboxState,
  type NewDelivery,
} from "./inbox-entries.js";
import { approverPermission, parseApproverPermissions, parseArray, parsePerson, parseRecord, person } from "./row-values.js";
import { toInboxEntry, type InboxRow } from "./sqlite-inbox.js";
import {
  LedgerClosedError,
  LedgerStorageError,
  SECRET_LOCK_TIMEOUT_MS,
  SecretLockTimeoutError,
  type GrantClaim,
  type WriteSlotRequest,
  type WriteSlotStore,
} from "./store.js";
import type {
  AuditAction,
  AuditArchive,
  AuditArchivePlan,
  AuditEvent,
  AuditInput,
  AuditQuery,
  GateAnswer,
  GateDecision,
  GateKey,
  Grant,
  GrantFilter,
  GrantFollowUp,
  GrantPeriod,
  LedgerStore,
  NewGateDecision,
  NewGrant,
  PendingEnd,
  Person,
} from "./store.js";
import { asciiLower } from "../util/ascii-case.js";
import { errorMessage } from "../util/error-message.js";
import { GrantTransitions } from "./grant-transitions.js";

const LIVE_SQL = LIVE_STATES.map((state) => `'${state}'`).join(", ");
/** `listGrants` filter fields, the columns they compare, and whether the value is a name (compared by its ASCII-folded key). */
const LIST_FILTERS = [
  ["repositoryId", "repository_id", false],
  ["owner", "owner_key", true],
  ["repo", "repo_key", true],
  ["prNumber", "pr_number", false],
  ["environment", "environment_key", true],
  ["secret", "secret_key", true],
] as const satisfies readonly (readonly [keyof GrantFilter, string, boolean])[];
/** Audit records read per query when the whole chain is verified. */
const VERIFY_PAGE = 1000;

/** bigint columns arrive as decimal text (node-postgres keeps 64-bit integers exact); they hold safe integers. */
type Int = string | number;

interface GrantRow {
  id: string;
  installation_id: Int;
  repository_id: Int | null;
  owner: string;
  repo: string;
  environment: string;
  secret: string;
  requester: unknown;
  pr_number: Int;
  head_sha: string;
  merge_base_sha: string | null;
  request_digest: string | null;
  approvers: unknown;
  approver_permissions: unknown;
  reason: string;
  duration_ms: Int;
  request_key: string;
  created_at: Int;
  granted_at: Int | null;
  expires_at: Int;
  ended_at: Int | null;
  state: GrantState;
  end_reason: string | null;
  revoke_attempts: Int;
  next_attempt_at: Int | null;
  last_error: string | null;
  pending_end: unknown;
  write_uncertain_at: Int | null;
  secret_write: SecretWrite;
  secret_updated_at: Int | null;
  break_glass: boolean;
  reviewed_by: unknown;
  reviewed_at: Int | null;
}

interface AuditRow {
  seq: Int;
  at: Int;
  action: AuditAction;
  actor: string;
  owner: string;
  repo: string;
  pr_number: Int | null;
  grant_id: string | null;
  environment: string | null;
  secret: string | null;
  /** Parsed by node-postgres (a json column). */
  details: unknown;
  prev_hash: string;
  hash: string;
}

interface ArchiveRow {
  last_seq: Int;
  first_seq: Int;
  count: Int;
  prev_hash: string;
  head_hash: string;
  cut_before: Int;
  archived_at: Int;
}

type Param = string | number | boolean | null | string[] | number[];
/** A request head by key ($1 owner, $2 repo, $3 PR number, $4 head SHA), names folded as GitHub compares them. */
const HEAD_KEY_SQL =
  "owner_key = translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AND repo_key = translate($2, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AND pr_number = $3 AND head_sha = $4";

/** The columns every grant query returns (not the generated `*_key` columns). */
const GRANT_COLUMNS = `id, installation_id, repository_id, owner, repo, environment, secret, requester, pr_number, head_sha,
  merge_base_sha, request_digest, approvers, approver_permissions, reason, duration_ms, request_key, created_at, granted_at, expires_at, ended_at,
  state, end_reason, revoke_attempts, next_attempt_at, last_error, pending_end, write_uncertain_at, secret_write, secret_updated_at,
  break_glass, reviewed_by, reviewed_at`;

export interface PgStoreOptions {
  /** Every transaction is READ ONLY: a write is refused by PostgreSQL, with a message that says so. */
  readonly?: boolean;
  /**
   * The connections secret locks are held on (`withSecretLock`), apart from the pool the ledger's
   * own calls use: a lock holder's work needs a connection of its own, which locks held on every
   * connection of one pool would never leave free. Ended by `close`; the main pool when absent.
   */
  lockPool?: Pool;
}

/** The advisory-lock class of secret locks (the migration lock is "jita"): "jits". */
const SECRET_LOCK_CLASS = 0x6a697473;

export class PgStore extends GrantTransitions implements LedgerStore, WriteSlotStore {
  #closed = false;
  #ended: Promise<void> | null = null;
  /** The calls under way, which `close` waits for. */
  readonly #underWay = new Set<Promise<unknown>>();
  /** Errors that came from node-postgres or the server, as opposed to the caller's mistakes. */
  readonly #fromDatabase = new WeakSet<object>();
  readonly #readonly: boolean;
  readonly #lockPool: Pool;

  constructor(
    private readonly pool: Pool,
    options: PgStoreOptions = {},
  ) {
    super();
    this.#readonly = options.readonly === true;
    this.#lockPool = options.lockPool ?? pool;
  }

  async beginGrant(grant: NewGrant, audit?: AuditInput): Promise<{ grant: Grant; created: boolean }> {
    checkNewGrant(grant);
    return this.transaction(`record grant ${grant.requestKey}`, async (client) => {
      const inserted = await this.query<GrantRow>(
        client,
        `INSERT INTO grants (id, installation_id, repository_id, owner, repo, environment, secret, requester, pr_number,
           head_sha, merge_base_sha, request_digest, approvers, reason, duration_ms, request_key, created_at, expires_at, state, break_glass,
           approver_permissions)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'granting', $19, $20)
         ON CONFLICT (request_key) DO NOTHING
         RETURNING ${GRANT_COLUMNS}`,
        [
          randomUUID(),
          grant.installationId,
          grant.repositoryId ?? null,
          grant.owner,
          grant.repo,
          grant.environment,
          grant.secret,
          JSON.stringify(person(grant.requester)),
          grant.prNumber,
          grant.headSha,
          grant.mergeBaseSha ?? null,
          grant.requestDigest ?? null,
          JSON.stringify(grant.approvers.map(person)),
          grant.reason,
          grant.durationMs,
          grant.requestKey,
          millis(grant.createdAt, "createdAt"),
          millis(grant.expiresAt, "expiresAt"),
          grant.breakGlass === true,
          grant.approverPermissions === undefined ? null : JSON.stringify(grant.approverPermissions.map(approverPermission)),
        ],
      );
      const created = inserted[0];
      if (created !== undefined) {
        if (audit !== undefined) await this.insertAudit(client, auditForGrant(audit, created.id));
        return { grant: toGrant(created), created: true };
      }
      // Another transaction holds the request key (it waited for that one to commit).
      const [existing] = await this.query<GrantRow>(client, `SELECT ${GRANT_COLUMNS} FROM grants WHERE request_key = $1`, [
        grant.requestKey,
      ]);
      if (existing === undefined) throw new Error(`grant ${grant.requestKey} was not found right after it was written`);
      return { grant: toGrant(existing), created: false };
    });
  }

  async grantsAwaitingRetry(now: Date, limit: number): Promise<Grant[]> {
    const rows = await this.read<GrantRow>(
      "list grants awaiting a retry",
      `SELECT ${GRANT_COLUMNS} FROM grants
       WHERE state = 'granting' AND next_attempt_at IS NOT NULL AND next_attempt_at <= $1 AND expires_at > $1
         AND pending_end IS NULL
       ORDER BY next_attempt_at, id LIMIT $2`,
      [millis(now, "now"), limit],
    );
    return rows.map(toGrant);
  }

  async getGrant(id: string): Promise<Grant | null> {
    const [row] = await this.read<GrantRow>(`read grant ${id}`, `SELECT ${GRANT_COLUMNS} FROM grants WHERE id = $1`, [id]);
    return row === undefined ? null : toGrant(row);
  }

  /** Only the conditions the filter sets are in the query, so PostgreSQL can use an index. */
  async listGrants(filter: GrantFilter = {}): Promise<Grant[]> {
    if (filter.repositoryId !== undefined) checkRepositoryId(filter.repositoryId);
    const conditions: string[] = [];
    const params: Param[] = [];
    for (const [key, column, isName] of LIST_FILTERS) {
      const value = filter[key];
      if (value === undefined) continue;
      params.push(isName ? asciiLower(String(value)) : value);
      conditions.push(`${column} = $${params.length}`);
    }
    if (filter.liveOnly !== false) conditions.push(`state IN (${LIVE_SQL})`);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const rows = await this.read<GrantRow>("list grants", `SELECT ${GRANT_COLUMNS} FROM grants ${where} ORDER BY created_at, id`, params);
    return rows.map(toGrant);
  }

  async setRepositoryId(owner: string, repo: string, repositoryId: number): Promise<number> {
    checkRepositoryId(repositoryId);
    return this.transaction(`record the repository id of ${owner}/${repo}`, async (client) => {
      const updated = await this.query<{ id: string }>(
        client,
        "UPDATE grants SET repository_id = $1 WHERE owner_key = $2 AND repo_key = $3 AND repository_id IS NULL RETURNING id",
        [repositoryId, asciiLower(owner), asciiLower(repo)],
      );
      return updated.length;
    });
  }

  /** holdsSecret (grant-states.ts): live, and its secret written. */
  async countOtherWritten(owner: string, repo: string, environment: string, secret: string, excludeId: string): Promise<number> {
    const [row] = await this.read<{ count: Int }>(
      "count the grants that hold a secret",
      `SELECT count(*) AS count FROM grants
       WHERE owner_key = $1 AND repo_key = $2 AND environment_key = $3 AND secret_key = $4
         AND state IN (${LIVE_SQL}) AND secret_write = 'written' AND id <> $5`,
      [asciiLower(owner), asciiLower(repo), asciiLower(environment), asciiLower(secret), excludeId],
    );
    return row === undefined ? 0 : Number(row.count);
  }

  async findWriteMark(owner: string, repo: string, environment: string, secret: string, updatedAt: Date): Promise<Grant | null> {
    const mark = millis(updatedAt, "updatedAt");
    const [row] = await this.read<GrantRow>(
      "look up a write the app recorded",
      `SELECT ${GRANT_COLUMNS} FROM grants
       WHERE owner_key = $1 AND repo_key = $2 AND environment_key = $3 AND secret_key = $4 AND secret_updated_at = $5
       ORDER BY created_at, id LIMIT 1`,
      [asciiLower(owner), asciiLower(repo), asciiLower(environment), asciiLower(secret), mark],
    );
    return row === undefined ? null : toGrant(row);
  }

  async dueGrants(now: Date, limit: number, after?: { expiresAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`dueGrants needs a positive whole limit, got ${limit}`);
    const due = `state IN (${LIVE_SQL}) AND (expires_at <= $1 OR pending_end IS NOT NULL)
      AND (next_attempt_at IS NULL OR next_attempt_at <= $1)`;
    const rows =
      after === undefined
        ? await this.read<GrantRow>(
            "list due grants",
            `SELECT ${GRANT_COLUMNS} FROM grants WHERE ${due} ORDER BY expires_at, id LIMIT $2`,
            [millis(now, "now"), limit],
          )
        : await this.read<GrantRow>(
            "list due grants",
            `SELECT ${GRANT_COLUMNS} FROM grants WHERE ${due} AND (expires_at, id) > ($3, $4) ORDER BY expires_at, id LIMIT $2`,
            [millis(now, "now"), limit, millis(after.expiresAt, "after.expiresAt"), after.id],
          );
    return rows.map(toGrant);
  }

  /** `dueGrants`' rows not claimed by a live lease, locked `FOR UPDATE SKIP LOCKED` (another claimer's rows are passed over, not waited for) and claimed. */
  async claimDueGrants(now: Date, limit: number, claim: GrantClaim, after?: { expiresAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`claimDueGrants needs a positive whole limit, got ${limit}`);
    const params: Param[] = [
      millis(now, "now"),
      limit,
      after === undefined ? Number.MIN_SAFE_INTEGER : millis(after.expiresAt, "after.expiresAt"),
      after?.id ?? "",
      claim.owner,
      millis(claim.until, "claim.until"),
    ];
    const rows = await this.transaction("claim due grants", (client) =>
      this.query<GrantRow>(
        client,
        `UPDATE grants SET claim_owner = $5, claim_expires_at = $6
         WHERE id IN (
           SELECT id FROM grants
           WHERE state IN (${LIVE_SQL}) AND (expires_at <= $1 OR pending_end IS NOT NULL)
             AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
             AND (claim_owner IS NULL OR claim_expires_at <= $1)
             AND (expires_at, id) > ($3, $4)
           ORDER BY expires_at, id LIMIT $2
           FOR UPDATE SKIP LOCKED)
         RETURNING ${GRANT_COLUMNS}`,
        params,
      ),
    );
    return rows.map(toGrant).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Takes the row's lock for the update, so two claimers at once see each other's claim. */
  async claimGrant(id: string, now: Date, claim: GrantClaim): Promise<Grant | null> {
    const rows = await this.transaction(`claim grant ${id}`, (client) =>
      this.query<GrantRow>(
        client,
        `UPDATE grants SET claim_owner = $3, claim_expires_at = $4
         WHERE id = $1 AND state IN (${LIVE_SQL}) AND (claim_owner IS NULL OR claim_expires_at <= $2 OR claim_owner = $3)
         RETURNING ${GRANT_COLUMNS}`,
        [id, millis(now, "now"), claim.owner, millis(claim.until, "claim.until")],
      ),
    );
    return rows[0] === undefined ? null : toGrant(rows[0]);
  }

  /** Locked `FOR UPDATE SKIP LOCKED` and claimed, as `claimDueGrants`. */
  async claimInterruptedGrants(now: Date, createdBefore: Date, limit: number, claim: GrantClaim): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`claimInterruptedGrants needs a positive whole limit, got ${limit}`);
    const params: Param[] = [
      millis(now, "now"),
      millis(createdBefore, "createdBefore"),
      limit,
      claim.owner,
      millis(claim.until, "claim.until"),
    ];
    const rows = await this.transaction("claim interrupted grants", (client) =>
      this.query<GrantRow>(
        client,
        `UPDATE grants SET claim_owner = $4, claim_expires_at = $5
         WHERE id IN (
           SELECT id FROM grants
           WHERE state = 'granting' AND next_attempt_at IS NULL AND pending_end IS NULL
             AND created_at <= $2 AND expires_at > $1
             AND (claim_owner IS NULL OR claim_expires_at <= $1)
           ORDER BY created_at, id LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING ${GRANT_COLUMNS}`,
        params,
      ),
    );
    return rows.map(toGrant).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async releaseClaim(id: string, owner: string): Promise<boolean> {
    const rows = await this.transaction(`release the claim on grant ${id}`, (client) =>
      this.query<{ id: string }>(
        client,
        "UPDATE grants SET claim_owner = NULL, claim_expires_at = NULL WHERE id = $1 AND claim_owner = $2 RETURNING id",
        [id, owner],
      ),
    );
    return rows.length === 1;
  }

  /**
   * A session advisory lock on a connection of the lock pool, held while `body` runs (on other
   * connections) and unlocked after it. `lock_timeout` bounds the wait; a process that dies
   * closes its connection, and PostgreSQL releases the lock with it. The lock's key is the secret's
   * and the schema's, so ledgers in different schemas of one database never wait for each other.
   */
  async withSecretLock<T>(key: string, body: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? SECRET_LOCK_TIMEOUT_MS;
    // PostgreSQL text holds no NUL, which separates the parts of a secret's key.
    const lockArgs: Param[] = [SECRET_LOCK_CLASS, key.replaceAll("\u0000", "\u0001")];
    const client = await this.run("lock a secret", async () => {
      const connection = await this.connectTo(this.#lockPool);
      try {
        await this.query(connection, "SELECT set_config('lock_timeout', $1, false)", [`${Math.max(1, Math.ceil(timeoutMs))}ms`]);
        await this.query(connection, "SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '') || chr(1) || $2))", lockArgs);
        await this.query(connection, "SELECT set_config('lock_timeout', '0', false)", []);
        return connection;
      } catch (error) {
        connection.release(error instanceof Error ? error : new Error(String(error)));
        if (typeof error === "object" && error !== null && "code" in error && error.code === "55P03") {
          throw new SecretLockTimeoutError(key, timeoutMs);
        }
        throw error;
      }
    });
    try {
      return await body();
    } finally {
      // A connection that cannot unlock is closed instead: PostgreSQL releases its locks.
      await client.query("SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '') || chr(1) || $2))", lockArgs).then(
        () => client.release(),
        (error: unknown) => client.release(error instanceof Error ? error : new Error(String(error))),
      );
    }
  }

  /**
   * The installation's row, locked: the slot is free when `now` is past its next write (and, for a
   * comment, its next notifying write); then both move on from `now`. Resolves to the wait.
   */
  async reserveWriteSlot(request: WriteSlotRequest): Promise<number> {
    const { installation, notify, priority, now, writeGapMs, notifyGapMs } = request;
    return this.transaction(`reserve a write slot of installation ${installation}`, async (client) => {
      await this.query(
        client,
        "INSERT INTO write_slots (installation, next_write_at, next_notify_at) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING",
        [installation],
      );
      const [slot] = await this.query<{ next_write_at: Int; next_notify_at: Int; waiting_priority: Int | null; waiting_until: Int | null }>(
        client,
        "SELECT next_write_at, next_notify_at, waiting_priority, waiting_until FROM write_slots WHERE installation = $1 FOR UPDATE",
        [installation],
      );
      const freeAt = Math.max(int(slot!.next_write_at), notify ? int(slot!.next_notify_at) : Number.NEGATIVE_INFINITY);
      const waiting = slot!.waiting_priority !== null && slot!.waiting_until !== null && int(slot!.waiting_until) > now;
      const waitingPriority = waiting ? int(slot!.waiting_priority!) : Number.POSITIVE_INFINITY;
      if (freeAt > now) {
        // The most urgent write waiting keeps the slot for itself, until a gap after it frees.
        if (priority < waitingPriority || (priority === waitingPriority && int(slot!.waiting_until!) < freeAt + writeGapMs)) {
          await this.query(client, "UPDATE write_slots SET waiting_priority = $2, waiting_until = $3 WHERE installation = $1", [
            installation,
            priority,
            freeAt + writeGapMs,
          ]);
        }
        return freeAt - now;
      }
      // A more urgent write of another replica waits for this slot: leave it to that one.
      if (waitingPriority < priority) return Math.max(1, Math.min(int(slot!.waiting_until!) - now, writeGapMs));
      await this.query(
        client,
        `UPDATE write_slots SET next_write_at = $2, next_notify_at = CASE WHEN $3 THEN $4 ELSE next_notify_at END,
           waiting_priority = CASE WHEN $5 THEN NULL ELSE waiting_priority END,
           waiting_until = CASE WHEN $5 THEN NULL ELSE waiting_until END
         WHERE installation = $1`,
        [installation, now + writeGapMs, notify ? "true" : "false", now + notifyGapMs, priority <= waitingPriority ? "true" : "false"],
      );
      return 0;
    });
  }

  async finishWriteSlot(request: WriteSlotRequest): Promise<void> {
    const { installation, notify, now, writeGapMs, notifyGapMs, nextPriority } = request;
    await this.transaction(`finish a write of installation ${installation}`, (client) =>
      this.query(
        client,
        `UPDATE write_slots SET next_write_at = greatest(next_write_at, $2),
           next_notify_at = CASE WHEN $3 THEN greatest(next_notify_at, $4) ELSE next_notify_at END,
           waiting_priority = CASE WHEN $5::integer IS NOT NULL AND (waiting_until IS NULL OR waiting_until <= $6 OR $5::integer < waiting_priority)
             THEN $5::integer ELSE waiting_priority END,
           waiting_until = CASE WHEN $5::integer IS NOT NULL AND (waiting_until IS NULL OR waiting_until <= $6 OR $5::integer < waiting_priority)
             THEN $2 + $7 ELSE waiting_until END
         WHERE installation = $1`,
        [installation, now + writeGapMs, notify ? "true" : "false", now + notifyGapMs, nextPriority ?? null, now, writeGapMs],
      ),
    );
  }

  async grantsInPeriod(period: GrantPeriod, limit: number, after?: { createdAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`grantsInPeriod needs a positive whole limit, got ${limit}`);
    const rows = await this.read<GrantRow>(
      "list the grants of a period",
      `SELECT ${GRANT_COLUMNS} FROM grants
       WHERE created_at < $2 AND (ended_at IS NULL OR ended_at >= $1)
         AND ($3::text IS NULL OR secret_key = $3)
         AND (created_at, id) > ($4, $5)
       ORDER BY created_at, id LIMIT $6`,
      [
        millis(period.from, "from"),
        millis(period.until, "until"),
        period.secret === undefined ? null : asciiLower(period.secret),
        // Before every grant when no page came before: created_at is never negative.
        after === undefined ? -1 : millis(after.createdAt, "after.createdAt"),
        after?.id ?? "",
        limit,
      ],
    );
    return rows.map(toGrant);
  }

  async expiringBy(until: Date): Promise<Grant[]> {
    const rows = await this.read<GrantRow>(
      "list expiring grants",
      `SELECT ${GRANT_COLUMNS} FROM grants WHERE state IN (${LIVE_SQL}) AND expires_at <= $1 ORDER BY expires_at, id`,
      [millis(until, "until")],
    );
    return rows.map(toGrant);
  }

  async followUp(id: string): Promise<GrantFollowUp | null> {
    const [row] = await this.read<{ extensions: number; reminded_at: Int | null }>(
      `read grant ${id}'s follow-up`,
      "SELECT extensions, reminded_at FROM grants WHERE id = $1",
      [id],
    );
    return row === undefined ? null : { extensions: row.extensions, remindedAt: dateOrNull(row.reminded_at) };
  }

  async extendGrant(id: string, expiresAt: Date, maxTimes: number, audit?: AuditInput): Promise<Grant | null> {
    const until = millis(expiresAt, "expiresAt");
    return this.transaction(`extend grant ${id}`, async (client) => {
      const [row] = await this.query<GrantRow>(client, `SELECT ${GRANT_COLUMNS} FROM grants WHERE id = $1 FOR NO KEY UPDATE`, [id]);
      if (row === undefined) throw new Error(`grant ${id} is not in the ledger; cannot extend it`);
      if (row.state !== "active") throw new IllegalTransitionError(id, row.state, "extend it", ["active"]);
      if (until <= int(row.expires_at)) throw new Error(`ledger: an extension must move grant ${id}'s expiry later; nothing was written`);
      const [updated] = await this.query<GrantRow>(
        client,
        `UPDATE grants SET expires_at = $2, extensions = extensions + 1
         WHERE id = $1 AND state = 'active' AND extensions < $3
         RETURNING ${GRANT_COLUMNS}`,
        [id, until, maxTimes],
      );
      if (updated === undefined) return null;
      if (audit !== undefined) await this.insertAudit(client, auditForGrant(audit, id));
      return toGrant(updated);
    });
  }

  async recordReminder(id: string, at: Date, audit?: AuditInput): Promise<boolean> {
    const when = millis(at, "at");
    return this.transaction(`record grant ${id}'s reminder`, async (client) => {
      const updated = await this.query<{ id: string }>(
        client,
        "UPDATE grants SET reminded_at = $2 WHERE id = $1 AND state = 'active' AND reminded_at IS NULL RETURNING id",
        [id, when],
      );
      if (updated.length === 0) return false;
      if (audit !== undefined) await this.insertAudit(client, auditForGrant(audit, id));
      return true;
    });
  }

  async awaitingReminder(until: Date, limit: number): Promise<Grant[]> {
    const rows = await this.read<GrantRow>(
      "list grants awaiting their reminder",
      `SELECT ${GRANT_COLUMNS} FROM grants WHERE state = 'active' AND reminded_at IS NULL AND expires_at <= $1
       ORDER BY expires_at, id LIMIT $2`,
      [millis(until, "until"), limit],
    );
    return rows.map(toGrant);
  }

  async recordGateDecision(decision: NewGateDecision, audit?: AuditInput): Promise<{ decision: GateDecision; created: boolean }> {
    checkNewGateDecision(decision);
    return this.transaction(`record the gate decision for run ${decision.runId}`, async (client) => {
      const inserted = await this.query<{ run_id: Int }>(
        client,
        `INSERT INTO gate_decisions (run_id, run_attempt, environment, installation_id, repository_id, owner, repo, state, reason,
           comment, grant_id, actor, triggering_actor, workflow_path, ref, head_sha, event, run_started_at, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT (run_id, run_attempt, environment_key) DO NOTHING
         RETURNING run_id`,
        [
          decision.runId,
          decision.runAttempt,
          decision.environment,
          decision.installationId,
          decision.repositoryId,
          decision.owner,
          decision.repo,
          decision.state,
          decision.reason,
          decision.comment,
          decision.grantId,
          personJson(decision.actor),
          personJson(decision.triggeringActor),
          decision.workflowPath,
          decision.ref,
          decision.headSha,
          decision.event,
          millis(decision.runStartedAt, "runStartedAt"),
          millis(decision.decidedAt, "decidedAt"),
        ],
      );
      const created = inserted.length === 1;
      if (created && audit !== undefined) await this.insertAudit(client, audit);
      // Not created: another transaction holds the key (the insert waited for it to commit).
      const stored = await this.gateDecision(client, decision);
      if (stored === null) throw new Error(`the gate decision for ${describeGateKey(decision)} was not found right after it was written`);
      return { decision: stored, created };
    });
  }

  async recordGateAnswer(key: GateKey, answer: GateAnswer): Promise<GateDecision> {
    checkGateKey(key);
    checkGateAnswer(answer);
    return this.transaction(`record the gate answer for run ${key.runId}`, async (client) => {
      if ((await this.gateDecision(client, key)) === null) {
        throw new Error(`no gate decision is recorded for ${describeGateKey(key)}; record the decision before its answer`);
      }
      await this.query(
        client,
        `INSERT INTO gate_answers (run_id, run_attempt, environment_key, outcome, answered_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (run_id, run_attempt, environment_key) DO NOTHING`,
        [key.runId, key.runAttempt, asciiLower(key.environment), answer.outcome, millis(answer.answeredAt, "answeredAt")],
      );
      return (await this.gateDecision(client, key))!;
    });
  }

  async getGateDecision(key: GateKey): Promise<GateDecision | null> {
    if (!isGateKey(key)) return this.run(`read the gate decision for run ${key.runId}`, async () => null);
    return this.transaction(`read the gate decision for run ${key.runId}`, (client) => this.gateDecision(client, key), "BEGIN READ ONLY");
  }

  async recordBreakGlassReview(id: string, reviewer: Person, at: Date, audit?: AuditInput): Promise<{ grant: Grant; recorded: boolean }> {
    return this.transaction(`record the review of break-glass grant ${id}`, async (client) => {
      const updated = await this.query(
        client,
        "UPDATE grants SET reviewed_by = $2, reviewed_at = $3 WHERE id = $1 AND break_glass AND reviewed_at IS NULL RETURNING id",
        [id, JSON.stringify(person(reviewer)), millis(at, "at")],
      );
      const [row] = await this.query<GrantRow>(client, `SELECT ${GRANT_COLUMNS} FROM grants WHERE id = $1`, [id]);
      if (row === undefined) throw new Error(`no grant ${id} in the ledger`);
      if (updated.length === 1 && audit !== undefined) await this.insertAudit(client, auditForGrant(audit, id));
      return { grant: toGrant(row), recorded: updated.length === 1 };
    });
  }

  async unreviewedBreakGlass(): Promise<Grant[]> {
    const rows = await this.read<GrantRow>(
      "list unreviewed break-glass grants",
      `SELECT ${GRANT_COLUMNS} FROM grants WHERE break_glass AND reviewed_at IS NULL ORDER BY created_at, id`,
      [],
    );
    return rows.map(toGrant);
  }

  async enqueueNotifications(notifications: NewNotification[]): Promise<Notification[]> {
    notifications.forEach(checkNewNotification);
    return this.transaction("queue notifications", async (client) => {
      const stored: Notification[] = [];
      for (const n of notifications) {
        const [row] = await this.query<OutboxRow>(
          client,
          `INSERT INTO notify_outbox (id, url, event, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING *`,
          [randomUUID(), n.url, n.event, n.body, n.createdAt.getTime()],
        );
        stored.push(toNotification(row!));
      }
      return stored;
    });
  }

  async dueNotifications(now: Date, limit: number): Promise<Notification[]> {
    const rows = await this.read<OutboxRow>(
      "list due notifications",
      `SELECT * FROM notify_outbox WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= $1
       ORDER BY next_attempt_at, created_at, id LIMIT $2`,
      [now.getTime(), limit],
    );
    return rows.map(toNotification);
  }

  async recordNotificationDelivered(id: string, at: Date): Promise<void> {
    await this.read(
      "record a notification delivered",
      "UPDATE notify_outbox SET delivered_at = $2 WHERE id = $1 AND delivered_at IS NULL",
      [id, at.getTime()],
    );
  }

  async recordNotificationFailure(id: string, error: string, at: Date, nextAttemptAt: Date | null): Promise<Notification> {
    return this.transaction(`record a failed delivery of notification ${id}`, async (client) => {
      await this.query(
        client,
        `UPDATE notify_outbox SET attempts = attempts + 1, last_error = $2,
           next_attempt_at = coalesce($4::bigint, next_attempt_at), abandoned_at = CASE WHEN $4::bigint IS NULL THEN $3::bigint ELSE abandoned_at END
         WHERE id = $1 AND delivered_at IS NULL AND abandoned_at IS NULL`,
        [id, error.slice(0, 500), at.getTime(), nextAttemptAt?.getTime() ?? null],
      );
      const [row] = await this.query<OutboxRow>(client, "SELECT * FROM notify_outbox WHERE id = $1", [id]);
      if (row === undefined) throw new Error(`no notification ${id} in the outbox`);
      return toNotification(row);
    });
  }

  async listNotifications(since?: Date): Promise<Notification[]> {
    const rows = await this.read<OutboxRow>(
      "list notifications",
      "SELECT * FROM notify_outbox WHERE created_at >= $1 ORDER BY created_at, id",
      [since?.getTime() ?? 0],
    );
    return rows.map(toNotification);
  }

  async recordRequestHead(head: NewRequestHead): Promise<RequestHead> {
    checkNewRequestHead(head);
    const first = head.firstEvaluatedAt.getTime();
    return this.transaction(`record request head ${head.headSha.slice(0, 12)}`, async (client) => {
      await this.query(
        client,
        `INSERT INTO request_heads (installation_id, owner, repo, pr_number, head_sha, first_evaluated_at, lapses_at, ttl_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner_key, repo_key, pr_number, head_sha) DO NOTHING`,
        [head.installationId, head.owner, head.repo, head.prNumber, head.headSha, first, first + head.ttlMs, head.ttlMs],
      );
      return (await this.requestHead(client, head))!;
    });
  }

  async getRequestHead(key: RequestHeadKey): Promise<RequestHead | null> {
    return this.transaction(`read request head ${key.headSha.slice(0, 12)}`, (client) => this.requestHead(client, key), "BEGIN READ ONLY");
  }

  async lapsingRequestHeads(now: Date, limit: number): Promise<RequestHead[]> {
    const rows = await this.read<HeadRow>(
      "list lapsing request heads",
      `SELECT * FROM request_heads WHERE lapsed_at IS NULL AND approved_at IS NULL AND lapses_at <= $1
       ORDER BY lapses_at, owner_key, repo_key, pr_number LIMIT $2`,
      [now.getTime(), limit],
    );
    return rows.map(toHead);
  }

  async settleRequestHead(
    key: RequestHeadKey,
    outcome: "lapsed" | "approved",
    at: Date,
  ): Promise<{ head: RequestHead; settled: boolean } | null> {
    const column = outcome === "lapsed" ? "lapsed_at" : "approved_at";
    return this.transaction(`settle request head ${key.headSha.slice(0, 12)}`, async (client) => {
      const updated = await this.query(
        client,
        `UPDATE request_heads SET ${column} = $5 WHERE ${HEAD_KEY_SQL} AND lapsed_at IS NULL AND approved_at IS NULL RETURNING 1`,
        [key.owner, key.repo, key.prNumber, key.headSha, at.getTime()],
      );
      const head = await this.requestHead(client, key);
      return head === null ? null : { head, settled: updated.length === 1 };
    });
  }

  private async requestHead(client: PoolClient, key: RequestHeadKey): Promise<RequestHead | null> {
    const [row] = await this.query<HeadRow>(client, `SELECT * FROM request_heads WHERE ${HEAD_KEY_SQL}`, [
      key.owner,
      key.repo,
      key.prNumber,
      key.headSha,
    ]);
    return row === undefined ? null : toHead(row);
  }

  async appendAudit(event: AuditInput): Promise<void> {
    await this.transaction(`append audit record "${event.action}"`, (client) => this.insertAudit(client, event));
  }

  async listAudit(options: AuditQuery = {}): Promise<AuditEvent[]> {
    const { afterSeq = 0, limit } = options;
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new Error(`listAudit: afterSeq must be a whole number, got ${afterSeq}`);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
      throw new Error(`listAudit: limit must be a positive whole number, got ${limit}`);
    const since = options.since === undefined ? null : millis(options.since, "since");
    // LIMIT NULL is no limit.
    const rows = await this.read<AuditRow>(
      "list audit records",
      "SELECT * FROM audit WHERE seq > $1 AND ($2::bigint IS NULL OR at >= $2) ORDER BY seq LIMIT $3",
      [afterSeq, since, limit ?? null],
    );
    return rows.map(toAuditEvent);
  }

  /**
   * Reads the chain's start and the log page by page inside one REPEATABLE READ transaction:
   * one consistent snapshot, even while an archive runs in another process.
   */
  async verifyAudit(): Promise<AuditVerification> {
    return this.transaction(
      "read the audit log",
      async (client) => {
        const verifier = new AuditChainVerifier(await this.chainStart(client));
        let after = 0;
        for (;;) {
          const rows = await this.query<AuditRow>(client, "SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2", [after, VERIFY_PAGE]);
          for (const row of rows) {
            if (!verifier.add(chainEntry(row))) return verifier.result();
          }
          if (rows.length < VERIFY_PAGE) return verifier.result();
          after = Number(rows.at(-1)!.seq);
        }
      },
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    );
  }

  async planAuditArchive(before: Date): Promise<AuditArchivePlan | null> {
    const beforeMs = millis(before, "before");
    return this.transaction(
      "plan an audit archive",
      async (client): Promise<AuditArchivePlan | null> => {
        const start = await this.chainStart(client);
        const [first] = await this.query<{ seq: Int | null }>(client, "SELECT min(seq) AS seq FROM audit WHERE at >= $1", [beforeMs]);
        const untilSeq = first === undefined || first.seq === null ? Number.MAX_SAFE_INTEGER : int(first.seq);
        const [cut] = await this.query<{ count: Int; last_seq: Int | null }>(
          client,
          "SELECT count(*) AS count, max(seq) AS last_seq FROM audit WHERE seq < $1",
          [untilSeq],
        );
        if (cut === undefined || int(cut.count) === 0 || cut.last_seq === null) return null;
        const lastSeq = int(cut.last_seq);
        const headHash = await this.auditHashAt(client, lastSeq);
        if (headHash === undefined) throw new Error(`audit record ${lastSeq} was not found while planning the archive`);
        return { firstSeq: start.seq + 1, lastSeq, count: int(cut.count), prevHash: start.hash, headHash, before: new Date(beforeMs) };
      },
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    );
  }

  async archiveAudit(plan: AuditArchivePlan, at: Date, audit: AuditInput): Promise<AuditArchive> {
    checkArchivePlan(plan);
    const archivedAt = millis(at, "at");
    const before = millis(plan.before, "before");
    // Checked before any lock is taken, as insertAudit would: a record that cannot be written waits for no one.
    millis(audit.at, "at");
    canonicalDetails(audit.details);
    return this.transaction(
      `remove audit records ${plan.firstSeq} to ${plan.lastSeq} (archived)`,
      async (client): Promise<AuditArchive> => {
        // Appends and other archives wait from here to the commit; each statement after it (READ
        // COMMITTED) sees what they committed before.
        await this.query(client, "SELECT one FROM audit_append_lock FOR UPDATE", []);
        const start = await this.chainStart(client);
        if (start.seq !== plan.firstSeq - 1 || start.hash !== plan.prevHash) {
          throw new Error(
            `the audit log changed since the archive was planned: the ledger's chain now starts after record ${start.seq}, ` +
              `not ${plan.firstSeq - 1}; nothing was removed`,
          );
        }
        const [held] = await this.query<{ count: Int }>(client, "SELECT count(*) AS count FROM audit WHERE seq <= $1", [plan.lastSeq]);
        const heldCount = held === undefined ? 0 : int(held.count);
        const headHash = await this.auditHashAt(client, plan.lastSeq);
        if (heldCount !== plan.count || headHash !== plan.headHash) {
          throw new Error(
            `the audit records ${plan.firstSeq} to ${plan.lastSeq} are not the ones the archive holds ` +
              `(${heldCount} in the ledger, ${plan.count} archived; head hash ${headHash === plan.headHash ? "matches" : "differs"}); nothing was removed`,
          );
        }
        await this.query(
          client,
          `INSERT INTO audit_archives (last_seq, first_seq, count, prev_hash, head_hash, cut_before, archived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [plan.lastSeq, plan.firstSeq, plan.count, plan.prevHash, plan.headHash, before, archivedAt],
        );
        // The only DELETE of audit rows: the trigger lets it through once the cut above is recorded.
        const [removed] = await this.query<{ count: Int }>(
          client,
          "WITH removed AS (DELETE FROM audit WHERE seq <= $1 RETURNING 1) SELECT count(*) AS count FROM removed",
          [plan.lastSeq],
        );
        const changes = removed === undefined ? 0 : int(removed.count);
        if (changes !== plan.count)
          throw new Error(`removing the archived audit records removed ${changes}, not ${plan.count}; nothing was removed`);
        await this.insertAudit(client, audit);
        return { ...plan, before: new Date(before), archivedAt: new Date(archivedAt) };
      },
    );
  }

  async listAuditArchives(): Promise<AuditArchive[]> {
    const rows = await this.read<ArchiveRow>("list audit archives", "SELECT * FROM audit_archives ORDER BY last_seq", []);
    return rows.map(toAuditArchive);
  }

  async recordDelivery(delivery: NewDelivery): Promise<{ created: boolean }> {
    const bytes = checkNewDelivery(delivery);
    const rows = await this.write<{ delivery_id: string }>(
      `record webhook delivery ${delivery.id}`,
      `INSERT INTO webhook_inbox (delivery_id, event, payload, bytes, received_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (delivery_id) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.received_at,
         finished_at = NULL, claimed_by = NULL, claim_expires_at = NULL
       WHERE webhook_inbox.state = 'dead'
       RETURNING delivery_id`,
      [delivery.id, delivery.event, delivery.payload, bytes, delivery.receivedAt.getTime()],
    );
    return { created: rows.length === 1 };
  }

  /**
   * One INSERT of every delivery (`unnest` of one array per column). An id given twice is sent
   * once (PostgreSQL refuses to update one row twice in a statement); its later copies are
   * `created: false`, as a second INSERT would have found it.
   */
  async recordDeliveries(deliveries: readonly NewDelivery[]): Promise<Array<{ created: boolean }>> {
    if (deliveries.length === 0) return [];
    const bytes = deliveries.map(checkNewDelivery);
    const first = new Map<string, number>();
    deliveries.forEach((delivery, i) => {
      if (!first.has(delivery.id)) first.set(delivery.id, i);
    });
    const rows = [...first.values()];
    const column = <T>(value: (i: number) => T): T[] => rows.map(value);
    const inserted = await this.write<{ delivery_id: string }>(
      `record ${deliveries.length} webhook deliveries`,
      `INSERT INTO webhook_inbox (delivery_id, event, payload, bytes, received_at, next_attempt_at)
       SELECT id, event, payload, bytes, received_at, received_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS d (id, event, payload, bytes, received_at)
       ON CONFLICT (delivery_id) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.received_at,
         finished_at = NULL, claimed_by = NULL, claim_expires_at = NULL
       WHERE webhook_inbox.state = 'dead'
       RETURNING delivery_id`,
      [
        column((i) => deliveries[i]!.id),
        column((i) => deliveries[i]!.event),
        column((i) => deliveries[i]!.payload),
        column((i) => bytes[i]!),
        column((i) => deliveries[i]!.receivedAt.getTime()),
      ],
    );
    const created = new Set(inserted.map((row) => row.delivery_id));
    return deliveries.map((delivery, i) => ({ created: first.get(delivery.id) === i && created.has(delivery.id) }));
  }

  /** Entries another transaction is claiming are skipped (SKIP LOCKED), never waited for nor claimed twice. */
  async claimDeliveries(claim: InboxClaim): Promise<InboxEntry[]> {
    checkClaim(claim);
    const now = claim.now.getTime();
    return this.transaction("claim webhook deliveries", async (client) => {
      await this.query(
        client,
        `UPDATE webhook_inbox SET state = 'dead', finished_at = $1, claimed_by = NULL, claim_expires_at = NULL,
           last_error = $3 || coalesce(' (last error: ' || last_error || ')', '')
         WHERE delivery_id IN (
           SELECT delivery_id FROM webhook_inbox
           WHERE state = 'pending' AND claim_expires_at IS NOT NULL AND claim_expires_at <= $1 AND attempts >= $2
           FOR UPDATE SKIP LOCKED)`,
        [now, claim.maxAttempts, abandonedError(claim.maxAttempts)],
      );
      const rows = await this.query<InboxRow>(
        client,
        `UPDATE webhook_inbox SET claimed_by = $1, claim_expires_at = $2, attempts = attempts + 1
         WHERE delivery_id IN (
           SELECT delivery_id FROM webhook_inbox
           WHERE state = 'pending' AND next_attempt_at <= $3 AND (claim_expires_at IS NULL OR claim_expires_at <= $3)
           ORDER BY received_at, delivery_id LIMIT $4
           FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [claim.owner, now + claim.leaseMs, now, claim.limit],
      );
      return rows.map(toInboxEntry).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.id < b.id ? -1 : 1));
    });
  }

  async completeDelivery(id: string, owner: string, at: Date): Promise<boolean> {
    const rows = await this.write(
      `mark webhook delivery ${id} processed`,
      `UPDATE webhook_inbox SET state = 'done', finished_at = $3, claimed_by = NULL, claim_expires_at = NULL
       WHERE delivery_id = $1 AND state = 'pending' AND claimed_by = $2 RETURNING delivery_id`,
      [id, owner, checkTime(at, "at")],
    );
    return rows.length === 1;
  }

  async failDelivery(id: string, owner: string, error: string, at: Date, retryAt: Date | null): Promise<boolean> {
    const rows =
      retryAt === null
        ? await this.write(
            `record the failure of webhook delivery ${id}`,
            `UPDATE webhook_inbox SET state = 'dead', finished_at = $4, last_error = $3, claimed_by = NULL, claim_expires_at = NULL
             WHERE delivery_id = $1 AND state = 'pending' AND claimed_by = $2 RETURNING delivery_id`,
            [id, owner, shortError(error), checkTime(at, "at")],
          )
        : await this.write(
            `record the failure of webhook delivery ${id}`,
            `UPDATE webhook_inbox SET next_attempt_at = $4, last_error = $3, claimed_by = NULL, claim_expires_at = NULL
             WHERE delivery_id = $1 AND state = 'pending' AND claimed_by = $2 RETURNING delivery_id`,
            [id, owner, shortError(error), checkTime(retryAt, "retryAt")],
          );
    return rows.length === 1;
  }

  async releaseDeliveries(owner: string): Promise<number> {
    const rows = await this.write(
      "release claimed webhook deliveries",
      `UPDATE webhook_inbox SET claimed_by = NULL, claim_expires_at = NULL, attempts = greatest(attempts - 1, 0)
       WHERE state = 'pending' AND claimed_by = $1 RETURNING delivery_id`,
      [owner],
    );
    return rows.length;
  }

  async getDelivery(id: string): Promise<InboxEntry | null> {
    const rows = await this.read<InboxRow>(`read webhook delivery ${id}`, "SELECT * FROM webhook_inbox WHERE delivery_id = $1", [id]);
    return rows[0] === undefined ? null : toInboxEntry(rows[0]);
  }

  async listDeliveries(state: InboxState, limit: number): Promise<InboxEntry[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`listDeliveries: limit must be a positive whole number, got ${limit}`);
    const rows = await this.read<InboxRow>(
      `list ${state} webhook deliveries`,
      "SELECT * FROM webhook_inbox WHERE state = $1 ORDER BY received_at, delivery_id LIMIT $2",
      [state, limit],
    );
    return rows.map(toInboxEntry);
  }

  async countDeliveries(): Promise<InboxCounts> {
    const rows = await this.read<{ state: InboxState; n: string }>(
      "count webhook deliveries",
      "SELECT state, count(*) AS n FROM webhook_inbox GROUP BY state",
      [],
    );
    const counts: InboxCounts = { pending: 0, done: 0, dead: 0 };
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }

  async pruneDeliveries(before: Date): Promise<number> {
    const rows = await this.write(
      "delete processed webhook deliveries",
      "DELETE FROM webhook_inbox WHERE state = 'done' AND finished_at < $1 RETURNING delivery_id",
      [checkTime(before, "before")],
    );
    return rows.length;
  }

  async recordRedelivery(guid: string, deliveryId: number, at: Date): Promise<boolean> {
    if (guid.length === 0 || guid.length > 200) throw new Error("a redelivery needs the delivery's guid");
    if (!Number.isSafeInteger(deliveryId)) throw new Error(`a redelivery needs the delivery log entry's id, got ${deliveryId}`);
    const rows = await this.write(
      `record the redelivery of ${guid}`,
      `INSERT INTO hook_redeliveries (guid, delivery_id, requested_at) VALUES ($1, $2, $3)
       ON CONFLICT (guid) DO NOTHING RETURNING guid`,
      [guid, deliveryId, checkTime(at, "at")],
    );
    return rows.length === 1;
  }

  /**
   * Refuses new calls, lets the calls under way finish, then ends the pool (every connection
   * closed), so the process can exit. (The pool itself would strand a call still waiting for a
   * connection when it ends.)
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#ended ??= Promise.allSettled([...this.#underWay]).then(async () => {
      await this.pool.end();
      if (this.#lockPool !== this.pool) await this.#lockPool.end();
    });
    await this.#ended;
  }

  /**
   * One state change and its audit record, in one transaction: the row as `applyChange` says,
   * or an `IllegalTransitionError` and nothing written.
   */
  protected async change(id: string, change: GrantChange, audit: AuditInput | undefined): Promise<Grant> {
    const attempted = describeChange(change);
    return this.transaction(`update grant ${id} (${attempted})`, async (client) => {
      const [row] = await this.query<GrantRow>(client, `SELECT ${GRANT_COLUMNS} FROM grants WHERE id = $1 FOR NO KEY UPDATE`, [id]);
      if (row === undefined) throw new Error(`grant ${id} is not in the ledger; cannot ${attempted}`);
      const next = applyChange(toGrant(row), change);
      const [updated] = await this.query<GrantRow>(
        client,
        `UPDATE grants SET state = $3, granted_at = $4, expires_at = $5, ended_at = $6, end_reason = $7, revoke_attempts = $8,
           next_attempt_at = $9, last_error = $10, pending_end = $11, write_uncertain_at = $12,
           secret_write = $13, secret_updated_at = $14
         WHERE id = $1 AND state = $2
         RETURNING ${GRANT_COLUMNS}`,
        [
          id,
          row.state,
          next.state,
          next.grantedAt === null ? null : millis(next.grantedAt, "grantedAt"),
          millis(next.expiresAt, "expiresAt"),
          next.endedAt === null ? null : millis(next.endedAt, "endedAt"),
          next.endReason,
          next.revokeAttempts,
          next.nextAttemptAt === null ? null : millis(next.nextAttemptAt, "nextAttemptAt"),
          next.lastError,
          next.pendingEnd === null ? null : JSON.stringify(next.pendingEnd),
          next.writeUncertainAt === null ? null : millis(next.writeUncertainAt, "writeUncertainAt"),
          next.secretWrite,
          next.secretUpdatedAt === null ? null : millis(next.secretUpdatedAt, "secretUpdatedAt"),
        ],
      );
      // Cannot happen while the row is locked; refuse rather than write on a stale read.
      if (updated === undefined) throw new Error(`grant ${id} changed while it was being updated; cannot ${attempted}`);
      if (audit !== undefined) await this.insertAudit(client, auditForGrant(audit, id));
      return toGrant(updated);
    });
  }

  /** The gate decision for `key` with its answer, inside the caller's transaction. */
  private async gateDecision(client: PoolClient, key: GateKey): Promise<GateDecision | null> {
    const [row] = await this.query<GateRow>(
      client,
      `SELECT d.run_id, d.run_attempt, d.environment, d.installation_id, d.repository_id, d.owner, d.repo, d.state, d.reason,
         d.comment, d.grant_id, d.actor, d.triggering_actor, d.workflow_path, d.ref, d.head_sha, d.event, d.run_started_at,
         d.decided_at, a.outcome, a.answered_at
       FROM gate_decisions d
       LEFT JOIN gate_answers a USING (run_id, run_attempt, environment_key)
       WHERE d.run_id = $1 AND d.run_attempt = $2 AND d.environment_key = $3`,
      [key.runId, key.runAttempt, asciiLower(key.environment)],
    );
    return row === undefined ? null : toGateDecision(row);
  }

  /** Appends one record at the head of the hash chain, inside the caller's transaction, taking turns with every other appender. */
  private async insertAudit(client: PoolClient, event: AuditInput): Promise<void> {
    // Computed before any lock is taken: a record that cannot be hashed waits for no one.
    const at = millis(event.at, "at");
    const details = canonicalDetails(event.details);
    await this.query(client, "SELECT one FROM audit_append_lock FOR UPDATE", []);
    const [row] = await this.query<{ seq: Int; hash: string }>(client, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", []);
    // After an archive that left no record, the chain goes on from the archive's head.
    const head = row === undefined ? await this.chainStart(client) : { seq: int(row.seq), hash: row.hash };
    const seq = head.seq + 1;
    const prevHash = head.hash;
    const hash = auditHash(seq, prevHash, event);
    await this.query(
      client,
      `INSERT INTO audit (seq, at, action, actor, owner, repo, pr_number, grant_id, environment, secret, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        seq,
        at,
        event.action,
        event.actor,
        event.owner,
        event.repo,
        event.prNumber ?? null,
        event.grantId ?? null,
        event.environment ?? null,
        event.secret ?? null,
        details,
        prevHash,
        hash,
      ],
    );
  }

  /** Where the chain of the records the ledger holds starts: the last archived record, or the genesis. */
  private async chainStart(client: PoolClient): Promise<ChainStart> {
    const [last] = await this.query<{ last_seq: Int; head_hash: string }>(
      client,
      "SELECT last_seq, head_hash FROM audit_archives ORDER BY last_seq DESC LIMIT 1",
      [],
    );
    return last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: int(last.last_seq), hash: last.head_hash };
  }

  /** The hash of audit record `seq`, inside the caller's transaction; undefined when the ledger does not hold it. */
  private async auditHashAt(client: PoolClient, seq: number): Promise<string | undefined> {
    const [row] = await this.query<{ hash: string }>(client, "SELECT hash FROM audit WHERE seq = $1", [seq]);
    return row?.hash;
  }

  /** One statement that writes, in a transaction of its own (READ ONLY when the store is). */
  private async write<Row extends QueryResultRow>(operation: string, sql: string, params: Param[]): Promise<Row[]> {
    return this.transaction(operation, (client) => this.query<Row>(client, sql, params));
  }

  /** One statement outside a transaction (a read: it sees one snapshot by itself). */
  private async read<Row extends QueryResultRow>(operation: string, sql: string, params: Param[]): Promise<Row[]> {
    return this.run(operation, async () => {
      const client = await this.connect();
      try {
        return await this.query<Row>(client, sql, params);
      } finally {
        client.release();
      }
    });
  }

  /**
   * Runs `body` in one transaction on one connection: committed when it resolves, rolled back
   * when it rejects (the caller gets the body's error). A connection whose rollback failed is
   * discarded rather than returned to the pool.
   */
  private async transaction<T>(operation: string, body: (client: PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
    return this.run(operation, async () => {
      const client = await this.connect();
      let broken: Error | undefined;
      try {
        await this.query(client, this.#readonly && begin === "BEGIN" ? "BEGIN READ ONLY" : begin, []);
        const result = await body(client);
        await this.query(client, "COMMIT", []);
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  private async connect(): Promise<PoolClient> {
    return this.connectTo(this.pool);
  }

  private async connectTo(pool: Pool): Promise<PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw this.#tagged(error);
    }
  }

  private async query<Row extends QueryResultRow>(client: PoolClient, sql: string, params: Param[]): Promise<Row[]> {
    try {
      return (await client.query<Row>(sql, params)).rows;
    } catch (error) {
      throw this.#tagged(error);
    }
  }

  #tagged(error: unknown): unknown {
    if (typeof error === "object" && error !== null) this.#fromDatabase.add(error);
    return error;
  }

  /**
   * Runs one ledger operation: refused once the ledger is closed; a database error becomes a
   * LedgerStorageError that says what failed and how to fix it, with the driver's error as its cause. The caller's own mistakes (an illegal transition, an invalid
   * date) pass through as they are.
   */
  private async run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new LedgerClosedError(operation);
    const work = body();
    this.#underWay.add(work);
    try {
      return await work;
    } catch (error) {
      if (typeof error !== "object" || error === null || !this.#fromDatabase.has(error)) throw error;
      throw new LedgerStorageError(`the ledger could not ${operation}: ${databaseErrorMessage(error)}${postgresHint(error)}`, {
        cause: error,
      });
    } finally {
      this.#underWay.delete(work);
    }
  }
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    installationId: int(row.installation_id),
    repositoryId: intOrNull(row.repository_id),
    owner: row.owner,
    repo: row.repo,
    environment: row.environment,
    secret: row.secret,
    requester: parsePerson(row.requester, row.id),
    prNumber: int(row.pr_number),
    headSha: row.head_sha,
    mergeBaseSha: row.merge_base_sha,
    requestDigest: row.request_digest,
    approvers: parseArray(row.approvers, row.id).map((value) => parsePerson(value, row.id)),
    approverPermissions: parseApproverPermissions(row.approver_permissions, row.id),
    reason: row.reason,
    durationMs: int(row.duration_ms),
    requestKey: row.request_key,
    createdAt: new Date(int(row.created_at)),
    grantedAt: dateOrNull(row.granted_at),
    expiresAt: new Date(int(row.expires_at)),
    endedAt: dateOrNull(row.ended_at),
    state: row.state,
    endReason: row.end_reason,
    revokeAttempts: int(row.revoke_attempts),
    nextAttemptAt: dateOrNull(row.next_attempt_at),
    lastError: row.last_error,
    pendingEnd: row.pending_end === null ? null : (row.pending_end as PendingEnd),
    writeUncertainAt: dateOrNull(row.write_uncertain_at),
    secretWrite: row.secret_write,
    secretUpdatedAt: dateOrNull(row.secret_updated_at),
    breakGlass: row.break_glass,
    breakGlassReview:
      row.reviewed_at === null ? null : { reviewer: parsePerson(row.reviewed_by, row.id), at: new Date(int(row.reviewed_at)) },
  };
}

function toAuditEvent(row: AuditRow): AuditEvent {
  const seq = int(row.seq);
  const event: AuditEvent = {
    seq,
    at: new Date(int(row.at)),
    action: row.action,
    actor: row.actor,
    owner: row.owner,
    repo: row.repo,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.pr_number !== null) event.prNumber = int(row.pr_number);
  if (row.grant_id !== null) event.grantId = row.grant_id;
  if (row.environment !== null) event.environment = row.environment;
  if (row.secret !== null) event.secret = row.secret;
  if (row.details !== null) event.details = parseRecord(row.details, seq);
  return event;
}

function toAuditArchive(row: ArchiveRow): AuditArchive {
  return {
    firstSeq: int(row.first_seq),
    lastSeq: int(row.last_seq),
    count: int(row.count),
    prevHash: row.prev_hash,
    headHash: row.head_hash,
    before: new Date(int(row.cut_before)),
    archivedAt: new Date(int(row.archived_at)),
  };
}

/** A row for the chain verifier: the record, or why it cannot be read. */
function chainEntry(row: AuditRow): ChainEntry {
  try {
    return toAuditEvent(row);
  } catch (error) {
    return { seq: int(row.seq), unreadable: `it cannot be read: ${errorMessage(error)}` };
  }
}

function int(value: Int): number {
  return typeof value === "number" ? value : Number(value);
}

function intOrNull(value: Int | null): number | null {
  return value === null ? null : int(value);
}

function dateOrNull(value: Int | null): Date | null {
  return value === null ? null : new Date(int(value));
}

function millis(date: Date, field: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new Error(`ledger: ${field} is not a valid date`);
  return ms;
}

/**
 * What node-postgres or the server said. A connection refused on every address a host name
 * resolves to is an AggregateError with no message of its own: its errors' messages say it.
 */
export function databaseErrorMessage(error: unknown): string {
  // By shape, not instanceof: node's own errors may come from another realm (under test).
  if (typeof error !== "object" || error === null) return String(error);
  const message = "message" in error && typeof error.message === "string" ? error.message : "";
  if (message === "" && "errors" in error && Array.isArray(error.errors)) return error.errors.map(databaseErrorMessage).join("; ");
  if (message !== "") return message;
  return "name" in error && typeof error.name === "string" && error.name !== "" ? error.name : "unknown error";
}

/** What to check, by the server's SQLSTATE or the connection's error code. */
const HINTS: ReadonlyArray<[code: string, hint: string]> = [
  ["25006", "the database refuses writes (a standby, or default_transaction_read_only): point DATABASE_URL at the primary"],
  ["53100", "the database server's disk is full: free space on the volume that holds PostgreSQL's data"],
  ["53300", "the server has no connection left: lower the number of replicas, or raise max_connections"],
  ["57P01", "the server was shut down: the next call reconnects once it is back"],
  ["57P03", "the server is starting up or shutting down: retry once it is up"],
  ["28P01", "the server refused the password: check the credentials in DATABASE_URL"],
  ["28000", "the server refused the login: check the user in DATABASE_URL and pg_hba.conf"],
  ["3D000", "the database named in DATABASE_URL does not exist: create it, or fix the name"],
  [
    "42P01",
    "the ledger's tables are missing: check the schema DATABASE_URL selects, and open it once without readonly so that it is migrated",
  ],
  ["ECONNREFUSED", "nothing listens at the host and port in DATABASE_URL: check them and that PostgreSQL is running"],
  ["ENOTFOUND", "the host in DATABASE_URL does not resolve: check it"],
  ["ETIMEDOUT", "the server did not answer: check the host and port in DATABASE_URL and the network"],
];

/** " (what to do)" for a database error, or "". */
export function postgresHint(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const timedOut = /timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(
    databaseErrorMessage(error),
  );
  const hint = timedOut ? HINTS.find(([known]) => known === "ETIMEDOUT")?.[1] : HINTS.find(([known]) => known === code)?.[1];
  return hint === undefined ? "" : ` (${hint})`;
}
