/**
 * The embedded ledger: grants and the audit log in one SQLite file (better-sqlite3).
 * Expects a connection that `openLedger` has configured and migrated. Calls are synchronous
 * underneath; the async methods turn every SQLite error into a rejection, so a read-only
 * database or a full disk stops the caller before anything is written to GitHub.
 *
 * The rules are not SQL: a state change reads the row, asks `applyChange` (grant-states.ts) for
 * the row to write, and writes it, with its audit record, in one IMMEDIATE transaction (SQLite
 * lets one writer at a time in, so nothing changes the row in between; the UPDATE still
 * compares the state it read, as a second line of defence).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type Database from "better-sqlite3";
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
import { approverPermission, parseApproverPermissions, parseArray, parsePerson, parseRecord, person } from "./row-values.js";
import { SqliteGateDecisions } from "./sqlite-gate.js";
import { SqliteNotify } from "./sqlite-notify.js";
import { SqliteInbox } from "./sqlite-inbox.js";
import { LedgerClosedError, LedgerStorageError, SECRET_LOCK_TIMEOUT_MS, SecretLockTimeoutError, type GrantClaim } from "./store.js";
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
  InboxClaim,
  InboxCounts,
  InboxEntry,
  InboxState,
  LedgerStore,
  NewDelivery,
  NewGateDecision,
  NewGrant,
  NewNotification,
  NewRequestHead,
  Notification,
  PendingEnd,
  Person,
  RequestHead,
  RequestHeadKey,
} from "./store.js";
import { errorMessage } from "../util/error-message.js";
import { GrantTransitions } from "./grant-transitions.js";

const LIVE_SQL = sqlList(LIVE_STATES);
/**
 * How long a secret's lease row holds without renewal: a process that died holding it frees the
 * secret after at most this long. The holder renews it every third of it while its work runs.
 */
export const SECRET_LEASE_MS = 60_000;
/** Audit rows removed per DELETE statement while archiving (all in one transaction). */
const ARCHIVE_DELETE_SLICE = 10_000;
/** `listGrants` filter fields and the columns they compare (names compare case-insensitively: NOCASE columns). */
const LIST_FILTERS = [
  ["repositoryId", "repository_id"],
  ["owner", "owner"],
  ["repo", "repo"],
  ["prNumber", "pr_number"],
  ["environment", "environment"],
  ["secret", "secret"],
] as const satisfies readonly (readonly [keyof GrantFilter, string])[];

interface GrantRow {
  id: string;
  installation_id: number;
  repository_id: number | null;
  owner: string;
  repo: string;
  environment: string;
  secret: string;
  requester: string;
  pr_number: number;
  head_sha: string;
  merge_base_sha: string | null;
  request_digest: string | null;
  approvers: string;
  approver_permissions: string | null;
  reason: string;
  duration_ms: number;
  request_key: string;
  created_at: number;
  granted_at: number | null;
  expires_at: number;
  ended_at: number | null;
  state: GrantState;
  end_reason: string | null;
  revoke_attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  pending_end: string | null;
  write_uncertain_at: number | null;
  secret_write: SecretWrite;
  secret_updated_at: number | null;
  break_glass: number;
  reviewed_by: string | null;
  reviewed_at: number | null;
}

interface AuditRow {
  seq: number;
  at: number;
  action: AuditAction;
  actor: string;
  owner: string;
  repo: string;
  pr_number: number | null;
  grant_id: string | null;
  environment: string | null;
  secret: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

interface ArchiveRow {
  last_seq: number;
  first_seq: number;
  count: number;
  prev_hash: string;
  head_hash: string;
  cut_before: number;
  archived_at: number;
}

type Params = Record<string, string | number | null>;

export class SqliteStore extends GrantTransitions implements LedgerStore {
  private readonly statements;
  private readonly listStatements = new Map<string, Database.Statement<[Params], GrantRow>>();
  private readonly gate: SqliteGateDecisions;
  private readonly notify: SqliteNotify;
  private readonly inbox: SqliteInbox;
  private closed = false;
  /** Who holds the secret locks this store takes (one per store: a process's ledger). */
  readonly #lockOwner = `${hostname()}:${process.pid}:${randomUUID()}`;

  constructor(private readonly db: Database.Database) {
    super();
    this.gate = new SqliteGateDecisions(db);
    this.notify = new SqliteNotify(db);
    this.inbox = new SqliteInbox(db);
    this.statements = {
      insertGrant: db.prepare<Params>(
        `INSERT INTO grants (id, installation_id, repository_id, owner, repo, environment, secret, requester, pr_number,
           head_sha, merge_base_sha, request_digest, approvers, approver_permissions, reason, duration_ms, request_key, created_at, expires_at,
           state, break_glass)
         VALUES (@id, @installationId, @repositoryId, @owner, @repo, @environment, @secret, @requester, @prNumber,
           @headSha, @mergeBaseSha, @requestDigest, @approvers, @approverPermissions, @reason, @durationMs, @requestKey, @createdAt, @expiresAt,
           @state, @breakGlass)
         ON CONFLICT (request_key) DO NOTHING`,
      ),
      grantById: db.prepare<[string], GrantRow>("SELECT * FROM grants WHERE id = ?"),
      grantByRequestKey: db.prepare<[string], GrantRow>("SELECT * FROM grants WHERE request_key = ?"),
      // Writes every field a state change may change, as `applyChange` computed it; only if the
      // row is still in the state that was read.
      updateGrant: db.prepare<Params, GrantRow>(
        `UPDATE grants SET state = @state, granted_at = @grantedAt, expires_at = @expiresAt, ended_at = @endedAt,
           end_reason = @endReason, revoke_attempts = @revokeAttempts, next_attempt_at = @nextAttemptAt,
           last_error = @lastError, pending_end = @pendingEnd, write_uncertain_at = @writeUncertainAt,
           secret_write = @secretWrite, secret_updated_at = @secretUpdatedAt
         WHERE id = @id AND state = @fromState
         RETURNING *`,
      ),
      grantsAwaitingRetry: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state = 'granting' AND next_attempt_at IS NOT NULL AND next_attempt_at <= @now AND expires_at > @now
           AND pending_end IS NULL
         ORDER BY next_attempt_at, id LIMIT @limit`,
      ),
      setRepositoryId: db.prepare<Params>(
        "UPDATE grants SET repository_id = @repositoryId WHERE owner = @owner AND repo = @repo AND repository_id IS NULL",
      ),
      // holdsSecret (grant-states.ts): live, and its secret written.
      countOtherWritten: db
        .prepare<Params, number>(
          `SELECT count(*) FROM grants
           WHERE owner = @owner AND repo = @repo AND environment = @environment AND secret = @secret
             AND state IN (${LIVE_SQL}) AND secret_write = 'written' AND id <> @excludeId`,
        )
        .pluck(),
      findWriteMark: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE owner = @owner AND repo = @repo AND environment = @environment AND secret = @secret
           AND secret_updated_at = @updatedAt
         ORDER BY created_at, id LIMIT 1`,
      ),
      dueGrants: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state IN (${LIVE_SQL}) AND (expires_at <= @now OR pending_end IS NOT NULL)
           AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
         ORDER BY expires_at, id LIMIT @limit`,
      ),
      dueGrantsAfter: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state IN (${LIVE_SQL}) AND (expires_at <= @now OR pending_end IS NOT NULL)
           AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
           AND (expires_at, id) > (@afterExpiresAt, @afterId)
         ORDER BY expires_at, id LIMIT @limit`,
      ),
      claimableDue: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state IN (${LIVE_SQL}) AND (expires_at <= @now OR pending_end IS NOT NULL)
           AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
           AND (claim_owner IS NULL OR claim_expires_at <= @now)
           AND (expires_at, id) > (@afterExpiresAt, @afterId)
         ORDER BY expires_at, id LIMIT @limit`,
      ),
      claimableInterrupted: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state = 'granting' AND next_attempt_at IS NULL AND pending_end IS NULL
           AND created_at <= @createdBefore AND expires_at > @now
           AND (claim_owner IS NULL OR claim_expires_at <= @now)
         ORDER BY created_at, id LIMIT @limit`,
      ),
      claim: db.prepare<Params>("UPDATE grants SET claim_owner = @owner, claim_expires_at = @until WHERE id = @id"),
      claimOne: db.prepare<Params, GrantRow>(
        `UPDATE grants SET claim_owner = @owner, claim_expires_at = @until
         WHERE id = @id AND state IN (${LIVE_SQL}) AND (claim_owner IS NULL OR claim_expires_at <= @now OR claim_owner = @owner)
         RETURNING *`,
      ),
      releaseClaim: db.prepare<Params>(
        "UPDATE grants SET claim_owner = NULL, claim_expires_at = NULL WHERE id = @id AND claim_owner = @owner",
      ),
      freeExpiredLock: db.prepare<Params>("DELETE FROM secret_locks WHERE lock_key = @key AND expires_at <= @now"),
      lockHolder: db.prepare<Params, string>("SELECT owner FROM secret_locks WHERE lock_key = @key").pluck(),
      freeLockOf: db.prepare<Params>("DELETE FROM secret_locks WHERE lock_key = @key AND owner = @owner"),
      takeLock: db.prepare<Params>("INSERT OR IGNORE INTO secret_locks (lock_key, owner, expires_at) VALUES (@key, @owner, @until)"),
      renewLock: db.prepare<Params>("UPDATE secret_locks SET expires_at = @until WHERE lock_key = @key AND owner = @owner"),
      releaseLock: db.prepare<Params>("DELETE FROM secret_locks WHERE lock_key = @key AND owner = @owner"),
      grantsInPeriod: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE created_at < @until AND (ended_at IS NULL OR ended_at >= @from)
           AND (@secret IS NULL OR secret = @secret)
           AND (created_at, id) > (@afterCreatedAt, @afterId)
         ORDER BY created_at, id LIMIT @limit`,
      ),
      followUp: db.prepare<[string], { extensions: number; reminded_at: number | null }>(
        "SELECT extensions, reminded_at FROM grants WHERE id = ?",
      ),
      extendGrant: db.prepare<Params>(
        `UPDATE grants SET expires_at = @expiresAt, extensions = extensions + 1
         WHERE id = @id AND state = 'active' AND extensions < @maxTimes AND expires_at < @expiresAt`,
      ),
      recordReminder: db.prepare<Params>("UPDATE grants SET reminded_at = @at WHERE id = @id AND state = 'active' AND reminded_at IS NULL"),
      awaitingReminder: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants WHERE state = 'active' AND reminded_at IS NULL AND expires_at <= @until
         ORDER BY expires_at, id LIMIT @limit`,
      ),
      expiringBy: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants WHERE state IN (${LIVE_SQL}) AND expires_at <= @until ORDER BY expires_at, id`,
      ),
      reviewBreakGlass: db.prepare<Params>(
        "UPDATE grants SET reviewed_by = @reviewer, reviewed_at = @at WHERE id = @id AND break_glass = 1 AND reviewed_at IS NULL",
      ),
      unreviewedBreakGlass: db.prepare<[], GrantRow>(
        "SELECT * FROM grants WHERE break_glass = 1 AND reviewed_at IS NULL ORDER BY created_at, id",
      ),
      auditHead: db.prepare<[], Pick<AuditRow, "seq" | "hash">>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"),
      insertAudit: db.prepare<Params>(
        `INSERT INTO audit (seq, at, action, actor, owner, repo, pr_number, grant_id, environment, secret, details, prev_hash, hash)
         VALUES (@seq, @at, @action, @actor, @owner, @repo, @prNumber, @grantId, @environment, @secret, @details, @prevHash, @hash)`,
      ),
      // LIMIT -1 is no limit.
      listAudit: db.prepare<Params, AuditRow>(
        "SELECT * FROM audit WHERE seq > @afterSeq AND (@since IS NULL OR at >= @since) ORDER BY seq LIMIT @limit",
      ),
      everyAuditRow: db.prepare<[], AuditRow>("SELECT * FROM audit ORDER BY seq"),
      lastArchive: db.prepare<[], ArchiveRow>("SELECT * FROM audit_archives ORDER BY last_seq DESC LIMIT 1"),
      everyArchive: db.prepare<[], ArchiveRow>("SELECT * FROM audit_archives ORDER BY last_seq"),
      firstAuditAtOrAfter: db.prepare<Params, number>("SELECT seq FROM audit WHERE at >= @before ORDER BY seq LIMIT 1").pluck(),
      auditBefore: db.prepare<Params, { count: number; lastSeq: number | null }>(
        "SELECT count(*) AS count, max(seq) AS lastSeq FROM audit WHERE seq < @untilSeq",
      ),
      auditThrough: db.prepare<Params, { count: number; firstSeq: number | null }>(
        "SELECT count(*) AS count, min(seq) AS firstSeq FROM audit WHERE seq <= @lastSeq",
      ),
      auditHash: db.prepare<Params, string>("SELECT hash FROM audit WHERE seq = @seq").pluck(),
      insertArchive: db.prepare<Params>(
        `INSERT INTO audit_archives (last_seq, first_seq, count, prev_hash, head_hash, cut_before, archived_at)
         VALUES (@lastSeq, @firstSeq, @count, @prevHash, @headHash, @before, @archivedAt)`,
      ),
      // The only DELETE of audit rows: the trigger lets it through once the cut above is recorded.
      removeArchived: db.prepare<Params>("DELETE FROM audit WHERE seq > @afterSeq AND seq <= @throughSeq"),
    };
  }

  async beginGrant(grant: NewGrant, audit?: AuditInput): Promise<{ grant: Grant; created: boolean }> {
    checkNewGrant(grant);
    return this.run(`record grant ${grant.requestKey}`, () =>
      this.db
        .transaction(() => {
          const state: GrantState = "granting";
          const { changes } = this.statements.insertGrant.run({
            id: randomUUID(),
            installationId: grant.installationId,
            repositoryId: grant.repositoryId ?? null,
            owner: grant.owner,
            repo: grant.repo,
            environment: grant.environment,
            secret: grant.secret,
            requester: JSON.stringify(person(grant.requester)),
            prNumber: grant.prNumber,
            headSha: grant.headSha,
            mergeBaseSha: grant.mergeBaseSha ?? null,
            requestDigest: grant.requestDigest ?? null,
            approvers: JSON.stringify(grant.approvers.map(person)),
            approverPermissions:
              grant.approverPermissions === undefined ? null : JSON.stringify(grant.approverPermissions.map(approverPermission)),
            reason: grant.reason,
            durationMs: grant.durationMs,
            requestKey: grant.requestKey,
            createdAt: millis(grant.createdAt, "createdAt"),
            expiresAt: millis(grant.expiresAt, "expiresAt"),
            state,
            breakGlass: grant.breakGlass === true ? 1 : 0,
          });
          const row = this.statements.grantByRequestKey.get(grant.requestKey);
          if (row === undefined) throw new Error(`grant ${grant.requestKey} was not found right after it was written`);
          const created = changes === 1;
          if (created && audit !== undefined) this.insertAudit(auditForGrant(audit, row.id));
          return { grant: toGrant(row), created };
        })
        .immediate(),
    );
  }

  async grantsAwaitingRetry(now: Date, limit: number): Promise<Grant[]> {
    return this.run("list grants awaiting a retry", () =>
      this.statements.grantsAwaitingRetry.all({ now: millis(now, "now"), limit }).map(toGrant),
    );
  }

  async getGrant(id: string): Promise<Grant | null> {
    return this.run(`read grant ${id}`, () => {
      const row = this.statements.grantById.get(id);
      return row === undefined ? null : toGrant(row);
    });
  }

  /**
   * Only the conditions the filter sets are in the query, so SQLite can use an index (a PR's
   * grants, read at every revocation, are found by `grants_by_pull_request` instead of a scan of
   * every grant ever recorded). One prepared statement per combination of filters.
   */
  async listGrants(filter: GrantFilter = {}): Promise<Grant[]> {
    if (filter.repositoryId !== undefined) checkRepositoryId(filter.repositoryId);
    return this.run("list grants", () => {
      const conditions: string[] = [];
      const params: Params = {};
      for (const [key, column] of LIST_FILTERS) {
        const value = filter[key];
        if (value === undefined) continue;
        conditions.push(`${column} = @${key}`);
        params[key] = value;
      }
      if (filter.liveOnly !== false) conditions.push(`state IN (${LIVE_SQL})`);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
      let statement = this.listStatements.get(where);
      if (!statement) {
        statement = this.db.prepare<Params, GrantRow>(`SELECT * FROM grants ${where} ORDER BY created_at, id`);
        this.listStatements.set(where, statement);
      }
      return statement.all(params).map(toGrant);
    });
  }

  async setRepositoryId(owner: string, repo: string, repositoryId: number): Promise<number> {
    checkRepositoryId(repositoryId);
    return this.run(`record the repository id of ${owner}/${repo}`, () => {
      const { changes } = this.statements.setRepositoryId.run({ owner, repo, repositoryId });
      return changes;
    });
  }

  async countOtherWritten(owner: string, repo: string, environment: string, secret: string, excludeId: string): Promise<number> {
    return this.run("count the grants that hold a secret", () => {
      const count = this.statements.countOtherWritten.get({ owner, repo, environment, secret, excludeId });
      return count ?? 0;
    });
  }

  async findWriteMark(owner: string, repo: string, environment: string, secret: string, updatedAt: Date): Promise<Grant | null> {
    const mark = millis(updatedAt, "updatedAt");
    return this.run("look up a write the app recorded", () => {
      const row = this.statements.findWriteMark.get({ owner, repo, environment, secret, updatedAt: mark });
      return row === undefined ? null : toGrant(row);
    });
  }

  async dueGrants(now: Date, limit: number, after?: { expiresAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`dueGrants needs a positive whole limit, got ${limit}`);
    return this.run("list due grants", () => {
      const params = { now: millis(now, "now"), limit };
      const rows =
        after === undefined
          ? this.statements.dueGrants.all(params)
          : this.statements.dueGrantsAfter.all({
              ...params,
              afterExpiresAt: millis(after.expiresAt, "after.expiresAt"),
              afterId: after.id,
            });
      return rows.map(toGrant);
    });
  }

  async claimDueGrants(now: Date, limit: number, claim: GrantClaim, after?: { expiresAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`claimDueGrants needs a positive whole limit, got ${limit}`);
    const params = {
      now: millis(now, "now"),
      limit,
      afterExpiresAt: after === undefined ? Number.MIN_SAFE_INTEGER : millis(after.expiresAt, "after.expiresAt"),
      afterId: after?.id ?? "",
    };
    const until = millis(claim.until, "claim.until");
    return this.run("claim due grants", () =>
      this.db
        .transaction(() => {
          const rows = this.statements.claimableDue.all(params);
          for (const row of rows) this.statements.claim.run({ id: row.id, owner: claim.owner, until });
          return rows.map(toGrant);
        })
        .immediate(),
    );
  }

  async claimGrant(id: string, now: Date, claim: GrantClaim): Promise<Grant | null> {
    const params = { id, now: millis(now, "now"), owner: claim.owner, until: millis(claim.until, "claim.until") };
    return this.run(`claim grant ${id}`, () => {
      const row = this.statements.claimOne.get(params);
      return row === undefined ? null : toGrant(row);
    });
  }

  async claimInterruptedGrants(now: Date, createdBefore: Date, limit: number, claim: GrantClaim): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`claimInterruptedGrants needs a positive whole limit, got ${limit}`);
    const params = { now: millis(now, "now"), createdBefore: millis(createdBefore, "createdBefore"), limit };
    const until = millis(claim.until, "claim.until");
    return this.run("claim interrupted grants", () =>
      this.db
        .transaction(() => {
          const rows = this.statements.claimableInterrupted.all(params);
          for (const row of rows) this.statements.claim.run({ id: row.id, owner: claim.owner, until });
          return rows.map(toGrant);
        })
        .immediate(),
    );
  }

  async releaseClaim(id: string, owner: string): Promise<boolean> {
    return this.run(`release the claim on grant ${id}`, () => this.statements.releaseClaim.run({ id, owner }).changes === 1);
  }

  /**
   * A lease row per secret (`secret_locks`): taken in an IMMEDIATE transaction when absent or
   * expired, renewed while `body` runs, deleted after it. Another process (the CLI beside the
   * server) polls until the row is gone or its lease ran out. A row whose holder was a process of
   * this host that no longer runs (killed, crashed) is taken over at once, without waiting for
   * its lease: the holder names its host and process id.
   */
  async withSecretLock<T>(key: string, body: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? SECRET_LOCK_TIMEOUT_MS;
    const lockKey = key.replaceAll("\u0000", "\u0001");
    const deadline = Date.now() + timeoutMs;
    const take = (): boolean =>
      this.run("lock a secret", () =>
        this.db
          .transaction(() => {
            const now = Date.now();
            this.statements.freeExpiredLock.run({ key: lockKey, now });
            const holder = this.statements.lockHolder.get({ key: lockKey });
            if (holder !== undefined && holderIsGone(holder)) this.statements.freeLockOf.run({ key: lockKey, owner: holder });
            return this.statements.takeLock.run({ key: lockKey, owner: this.#lockOwner, until: now + SECRET_LEASE_MS }).changes === 1;
          })
          .immediate(),
      );
    for (let pause = 10; !take(); pause = Math.min(pause * 2, 500)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new SecretLockTimeoutError(key, timeoutMs);
      await sleep(Math.min(pause, left));
    }
    const renew = setInterval(() => {
      try {
        if (!this.closed && this.db.open)
          this.statements.renewLock.run({ key: lockKey, owner: this.#lockOwner, until: Date.now() + SECRET_LEASE_MS });
      } catch {
        // A renewal that failed leaves the lease to run out: the lock is lost no later than that.
      }
    }, SECRET_LEASE_MS / 3);
    renew.unref();
    try {
      return await body();
    } finally {
      clearInterval(renew);
      try {
        if (!this.closed && this.db.open) this.statements.releaseLock.run({ key: lockKey, owner: this.#lockOwner });
      } catch {
        // The lease runs out by itself.
      }
    }
  }

  async grantsInPeriod(period: GrantPeriod, limit: number, after?: { createdAt: Date; id: string }): Promise<Grant[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`grantsInPeriod needs a positive whole limit, got ${limit}`);
    return this.run("list the grants of a period", () =>
      this.statements.grantsInPeriod
        .all({
          from: millis(period.from, "from"),
          until: millis(period.until, "until"),
          secret: period.secret ?? null,
          // Before every grant when no page came before: created_at is never negative.
          afterCreatedAt: after === undefined ? -1 : millis(after.createdAt, "after.createdAt"),
          afterId: after?.id ?? "",
          limit,
        })
        .map(toGrant),
    );
  }

  async expiringBy(until: Date): Promise<Grant[]> {
    return this.run("list expiring grants", () => this.statements.expiringBy.all({ until: millis(until, "until") }).map(toGrant));
  }

  async followUp(id: string): Promise<GrantFollowUp | null> {
    return this.run(`read grant ${id}'s follow-up`, () => {
      const row = this.statements.followUp.get(id);
      return row === undefined ? null : { extensions: row.extensions, remindedAt: dateOrNull(row.reminded_at) };
    });
  }

  async extendGrant(id: string, expiresAt: Date, maxTimes: number, audit?: AuditInput): Promise<Grant | null> {
    const until = millis(expiresAt, "expiresAt");
    return this.run(`extend grant ${id}`, () =>
      this.db
        .transaction(() => {
          const row = this.statements.grantById.get(id);
          if (row === undefined) throw new Error(`grant ${id} is not in the ledger; cannot extend it`);
          if (row.state !== "active") throw new IllegalTransitionError(id, row.state, "extend it", ["active"]);
          if (until <= row.expires_at) throw new Error(`ledger: an extension must move grant ${id}'s expiry later; nothing was written`);
          if (this.statements.extendGrant.run({ id, expiresAt: until, maxTimes }).changes === 0) return null;
          if (audit !== undefined) this.insertAudit(auditForGrant(audit, id));
          return toGrant(this.statements.grantById.get(id)!);
        })
        .immediate(),
    );
  }

  async recordReminder(id: string, at: Date, audit?: AuditInput): Promise<boolean> {
    const when = millis(at, "at");
    return this.run(`record grant ${id}'s reminder`, () =>
      this.db
        .transaction(() => {
          if (this.statements.recordReminder.run({ id, at: when }).changes === 0) return false;
          if (audit !== undefined) this.insertAudit(auditForGrant(audit, id));
          return true;
        })
        .immediate(),
    );
  }

  async awaitingReminder(until: Date, limit: number): Promise<Grant[]> {
    return this.run("list grants awaiting their reminder", () =>
      this.statements.awaitingReminder.all({ until: millis(until, "until"), limit }).map(toGrant),
    );
  }

  async recordGateDecision(decision: NewGateDecision, audit?: AuditInput): Promise<{ decision: GateDecision; created: boolean }> {
    return this.run(`record the gate decision for run ${decision.runId}`, () =>
      this.db
        .transaction(() => {
          const result = this.gate.insert(decision);
          if (result.created && audit !== undefined) this.insertAudit(audit);
          return result;
        })
        .immediate(),
    );
  }

  async recordGateAnswer(key: GateKey, answer: GateAnswer): Promise<GateDecision> {
    return this.run(`record the gate answer for run ${key.runId}`, () =>
      this.db.transaction(() => this.gate.answer(key, answer)).immediate(),
    );
  }

  async getGateDecision(key: GateKey): Promise<GateDecision | null> {
    return this.run(`read the gate decision for run ${key.runId}`, () => this.gate.get(key));
  }

  async recordBreakGlassReview(id: string, reviewer: Person, at: Date, audit?: AuditInput): Promise<{ grant: Grant; recorded: boolean }> {
    return this.run(`record the review of break-glass grant ${id}`, () =>
      this.db
        .transaction(() => {
          const { changes } = this.statements.reviewBreakGlass.run({
            id,
            reviewer: JSON.stringify(person(reviewer)),
            at: millis(at, "at"),
          });
          const row = this.statements.grantById.get(id);
          if (row === undefined) throw new Error(`no grant ${id} in the ledger`);
          if (changes === 1 && audit !== undefined) this.insertAudit(auditForGrant(audit, id));
          return { grant: toGrant(row), recorded: changes === 1 };
        })
        .immediate(),
    );
  }

  async unreviewedBreakGlass(): Promise<Grant[]> {
    return this.run("list unreviewed break-glass grants", () => this.statements.unreviewedBreakGlass.all().map(toGrant));
  }

  async enqueueNotifications(notifications: NewNotification[]): Promise<Notification[]> {
    return this.run("queue notifications", () => this.db.transaction(() => this.notify.enqueue(notifications)).immediate());
  }

  async dueNotifications(now: Date, limit: number): Promise<Notification[]> {
    return this.run("list due notifications", () => this.notify.due(now, limit));
  }

  async recordNotificationDelivered(id: string, at: Date): Promise<void> {
    this.run(`record notification ${id} delivered`, () => this.notify.delivered(id, at));
  }

  async recordNotificationFailure(id: string, error: string, at: Date, nextAttemptAt: Date | null): Promise<Notification> {
    return this.run(`record a failed delivery of notification ${id}`, () => this.notify.failed(id, error, at, nextAttemptAt));
  }

  async listNotifications(since?: Date): Promise<Notification[]> {
    return this.run("list notifications", () => this.notify.list(since));
  }

  async recordRequestHead(head: NewRequestHead): Promise<RequestHead> {
    return this.run(`record request head ${head.headSha.slice(0, 12)}`, () => this.notify.recordHead(head));
  }

  async getRequestHead(key: RequestHeadKey): Promise<RequestHead | null> {
    return this.run(`read request head ${key.headSha.slice(0, 12)}`, () => this.notify.head(key));
  }

  async lapsingRequestHeads(now: Date, limit: number): Promise<RequestHead[]> {
    return this.run("list lapsing request heads", () => this.notify.lapsing(now, limit));
  }

  async settleRequestHead(
    key: RequestHeadKey,
    outcome: "lapsed" | "approved",
    at: Date,
  ): Promise<{ head: RequestHead; settled: boolean } | null> {
    return this.run(`settle request head ${key.headSha.slice(0, 12)}`, () => this.notify.settle(key, outcome, at));
  }

  async appendAudit(event: AuditInput): Promise<void> {
    this.run(`append audit record "${event.action}"`, () => {
      this.db.transaction(() => this.insertAudit(event)).immediate();
    });
  }

  async listAudit(options: AuditQuery = {}): Promise<AuditEvent[]> {
    const { afterSeq = 0, limit } = options;
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new Error(`listAudit: afterSeq must be a whole number, got ${afterSeq}`);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
      throw new Error(`listAudit: limit must be a positive whole number, got ${limit}`);
    return this.run("list audit records", () =>
      this.statements.listAudit
        .all({ since: options.since === undefined ? null : millis(options.since, "since"), afterSeq, limit: limit ?? -1 })
        .map(toAuditEvent),
    );
  }

  async verifyAudit(): Promise<AuditVerification> {
    return this.run("read the audit log", () =>
      // A read transaction: the chain's start and its records from one snapshot, even while an
      // archive runs in another process.
      this.db.transaction(() => {
        const verifier = new AuditChainVerifier(this.chainStart());
        // The verifier runs no statement while the iterator is open.
        for (const row of this.statements.everyAuditRow.iterate()) {
          if (!verifier.add(chainEntry(row))) break;
        }
        return verifier.result();
      })(),
    );
  }

  async planAuditArchive(before: Date): Promise<AuditArchivePlan | null> {
    const beforeMs = millis(before, "before");
    return this.run("plan an audit archive", () =>
      this.db.transaction((): AuditArchivePlan | null => {
        const start = this.chainStart();
        const untilSeq = this.statements.firstAuditAtOrAfter.get({ before: beforeMs }) ?? Number.MAX_SAFE_INTEGER;
        const cut = this.statements.auditBefore.get({ untilSeq });
        if (cut === undefined || cut.count === 0 || cut.lastSeq === null) return null;
        const headHash = this.statements.auditHash.get({ seq: cut.lastSeq });
        if (headHash === undefined) throw new Error(`audit record ${cut.lastSeq} was not found while planning the archive`);
        return {
          firstSeq: start.seq + 1,
          lastSeq: cut.lastSeq,
          count: cut.count,
          prevHash: start.hash,
          headHash,
          before: new Date(beforeMs),
        };
      })(),
    );
  }

  async archiveAudit(plan: AuditArchivePlan, at: Date, audit: AuditInput): Promise<AuditArchive> {
    checkArchivePlan(plan);
    const archivedAt = millis(at, "at");
    return this.run(`remove audit records ${plan.firstSeq} to ${plan.lastSeq} (archived)`, () =>
      this.db
        .transaction((): AuditArchive => {
          const start = this.chainStart();
          if (start.seq !== plan.firstSeq - 1 || start.hash !== plan.prevHash) {
            throw new Error(
              `the audit log changed since the archive was planned: the ledger's chain now starts after record ${start.seq}, ` +
                `not ${plan.firstSeq - 1}; nothing was removed`,
            );
          }
          const held = this.statements.auditThrough.get({ lastSeq: plan.lastSeq });
          const headHash = this.statements.auditHash.get({ seq: plan.lastSeq });
          if (held?.count !== plan.count || headHash !== plan.headHash) {
            throw new Error(
              `the audit records ${plan.firstSeq} to ${plan.lastSeq} are not the ones the archive holds ` +
                `(${held?.count ?? 0} in the ledger, ${plan.count} archived; head hash ${headHash === plan.headHash ? "matches" : "differs"}); nothing was removed`,
            );
          }
          this.statements.insertArchive.run({
            lastSeq: plan.lastSeq,
            firstSeq: plan.firstSeq,
            count: plan.count,
            prevHash: plan.prevHash,
            headHash: plan.headHash,
            before: millis(plan.before, "before"),
            archivedAt,
          });
          // In slices: SQLite gathers the rows a DELETE with a trigger removes before it removes
          // them, so one statement over a long cut would hold them all in memory.
          let changes = 0;
          for (let afterSeq = plan.firstSeq - 1; afterSeq < plan.lastSeq; afterSeq += ARCHIVE_DELETE_SLICE) {
            changes += this.statements.removeArchived.run({
              afterSeq,
              throughSeq: Math.min(afterSeq + ARCHIVE_DELETE_SLICE, plan.lastSeq),
            }).changes;
          }
          if (changes !== plan.count)
            throw new Error(`removing the archived audit records removed ${changes}, not ${plan.count}; nothing was removed`);
          this.insertAudit(audit);
          return { ...plan, before: new Date(plan.before.getTime()), archivedAt: new Date(archivedAt) };
        })
        .immediate(),
    );
  }

  async listAuditArchives(): Promise<AuditArchive[]> {
    return this.run("list audit archives", () => this.statements.everyArchive.all().map(toAuditArchive));
  }

  async recordDelivery(delivery: NewDelivery): Promise<{ created: boolean }> {
    return this.run(`record webhook delivery ${delivery.id}`, () => this.inbox.record(delivery));
  }

  async recordDeliveries(deliveries: readonly NewDelivery[]): Promise<Array<{ created: boolean }>> {
    if (deliveries.length === 0) return [];
    return this.run(`record ${deliveries.length} webhook deliveries`, () => this.inbox.recordMany(deliveries));
  }

  async claimDeliveries(claim: InboxClaim): Promise<InboxEntry[]> {
    return this.run("claim webhook deliveries", () => this.inbox.claim(claim));
  }

  async completeDelivery(id: string, owner: string, at: Date): Promise<boolean> {
    return this.run(`mark webhook delivery ${id} processed`, () => this.inbox.complete(id, owner, at));
  }

  async failDelivery(id: string, owner: string, error: string, at: Date, retryAt: Date | null): Promise<boolean> {
    return this.run(`record the failure of webhook delivery ${id}`, () => this.inbox.fail(id, owner, error, at, retryAt));
  }

  async releaseDeliveries(owner: string): Promise<number> {
    return this.run("release claimed webhook deliveries", () => this.inbox.release(owner));
  }

  async getDelivery(id: string): Promise<InboxEntry | null> {
    return this.run(`read webhook delivery ${id}`, () => this.inbox.get(id));
  }

  async listDeliveries(state: InboxState, limit: number): Promise<InboxEntry[]> {
    return this.run(`list ${state} webhook deliveries`, () => this.inbox.list(state, limit));
  }

  async countDeliveries(): Promise<InboxCounts> {
    return this.run("count webhook deliveries", () => this.inbox.counts());
  }

  async pruneDeliveries(before: Date): Promise<number> {
    return this.run("delete processed webhook deliveries", () => this.inbox.prune(before));
  }

  async recordRedelivery(guid: string, deliveryId: number, at: Date): Promise<boolean> {
    return this.run(`record the redelivery of ${guid}`, () => this.inbox.recordRedelivery(guid, deliveryId, at));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.db.open) this.db.close();
  }

  /**
   * One state change and its audit record, in one transaction: the row as `applyChange` says,
   * or an `IllegalTransitionError` and nothing written.
   */
  protected change(id: string, change: GrantChange, audit: AuditInput | undefined): Grant {
    const attempted = describeChange(change);
    return this.run(`update grant ${id} (${attempted})`, () =>
      this.db
        .transaction(() => {
          const row = this.statements.grantById.get(id);
          if (row === undefined) throw new Error(`grant ${id} is not in the ledger; cannot ${attempted}`);
          const next = applyChange(toGrant(row), change);
          const updated = this.statements.updateGrant.get({
            id,
            fromState: row.state,
            state: next.state,
            grantedAt: next.grantedAt === null ? null : millis(next.grantedAt, "grantedAt"),
            expiresAt: millis(next.expiresAt, "expiresAt"),
            endedAt: next.endedAt === null ? null : millis(next.endedAt, "endedAt"),
            endReason: next.endReason,
            revokeAttempts: next.revokeAttempts,
            nextAttemptAt: next.nextAttemptAt === null ? null : millis(next.nextAttemptAt, "nextAttemptAt"),
            lastError: next.lastError,
            pendingEnd: next.pendingEnd === null ? null : JSON.stringify(next.pendingEnd),
            writeUncertainAt: next.writeUncertainAt === null ? null : millis(next.writeUncertainAt, "writeUncertainAt"),
            secretWrite: next.secretWrite,
            secretUpdatedAt: next.secretUpdatedAt === null ? null : millis(next.secretUpdatedAt, "secretUpdatedAt"),
          });
          // Cannot happen inside an IMMEDIATE transaction; refuse rather than write on a stale read.
          if (updated === undefined) throw new Error(`grant ${id} changed while it was being updated; cannot ${attempted}`);
          if (audit !== undefined) this.insertAudit(auditForGrant(audit, id));
          return toGrant(updated);
        })
        .immediate(),
    );
  }

  /** Appends one record at the head of the hash chain. Runs inside the caller's transaction. */
  private insertAudit(event: AuditInput): void {
    // After an archive that left no record, the chain goes on from the archive's head.
    const head = this.statements.auditHead.get() ?? this.chainStart();
    const seq = head.seq + 1;
    const prevHash = head.hash;
    const hash = auditHash(seq, prevHash, event);
    this.statements.insertAudit.run({
      seq,
      at: millis(event.at, "at"),
      action: event.action,
      actor: event.actor,
      owner: event.owner,
      repo: event.repo,
      prNumber: event.prNumber ?? null,
      grantId: event.grantId ?? null,
      environment: event.environment ?? null,
      secret: event.secret ?? null,
      details: canonicalDetails(event.details),
      prevHash,
      hash,
    });
  }

  /** Where the chain of the records the ledger holds starts: the last archived record, or the genesis. */
  private chainStart(): ChainStart {
    const last = this.statements.lastArchive.get();
    return last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: last.last_seq, hash: last.head_hash };
  }

  /** Runs one ledger operation, adding what failed and how to fix it to SQLite's errors. */
  private run<T>(operation: string, body: () => T): T {
    // better-sqlite3 throws a bare TypeError on a closed connection; callers get a typed error.
    if (this.closed || !this.db.open) throw new LedgerClosedError(operation);
    try {
      return body();
    } catch (error) {
      if (!isSqliteError(error)) throw error;
      throw new LedgerStorageError(`the ledger could not ${operation}: ${error.message}${hintFor(error.code)}`, { cause: error });
    }
  }
}

/** A lock holder (`host:pid:uuid`) that was a process of this host which no longer runs. */
function holderIsGone(holder: string): boolean {
  const [host, pidText] = holder.split(":");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process runs, under another user.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    installationId: row.installation_id,
    repositoryId: row.repository_id,
    owner: row.owner,
    repo: row.repo,
    environment: row.environment,
    secret: row.secret,
    requester: parsePerson(JSON.parse(row.requester), row.id),
    prNumber: row.pr_number,
    headSha: row.head_sha,
    mergeBaseSha: row.merge_base_sha,
    requestDigest: row.request_digest,
    approvers: parseArray(JSON.parse(row.approvers), row.id).map((value) => parsePerson(value, row.id)),
    approverPermissions: parseApproverPermissions(row.approver_permissions === null ? null : JSON.parse(row.approver_permissions), row.id),
    reason: row.reason,
    durationMs: row.duration_ms,
    requestKey: row.request_key,
    createdAt: new Date(row.created_at),
    grantedAt: dateOrNull(row.granted_at),
    expiresAt: new Date(row.expires_at),
    endedAt: dateOrNull(row.ended_at),
    state: row.state,
    endReason: row.end_reason,
    revokeAttempts: row.revoke_attempts,
    nextAttemptAt: dateOrNull(row.next_attempt_at),
    lastError: row.last_error,
    pendingEnd: row.pending_end === null ? null : (JSON.parse(row.pending_end) as PendingEnd),
    writeUncertainAt: dateOrNull(row.write_uncertain_at),
    secretWrite: row.secret_write,
    secretUpdatedAt: dateOrNull(row.secret_updated_at),
    breakGlass: row.break_glass === 1,
    breakGlassReview:
      row.reviewed_at === null
        ? null
        : { reviewer: parsePerson(JSON.parse(row.reviewed_by ?? "null"), row.id), at: new Date(row.reviewed_at) },
  };
}

function toAuditEvent(row: AuditRow): AuditEvent {
  const event: AuditEvent = {
    seq: row.seq,
    at: new Date(row.at),
    action: row.action,
    actor: row.actor,
    owner: row.owner,
    repo: row.repo,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.pr_number !== null) event.prNumber = row.pr_number;
  if (row.grant_id !== null) event.grantId = row.grant_id;
  if (row.environment !== null) event.environment = row.environment;
  if (row.secret !== null) event.secret = row.secret;
  if (row.details !== null) event.details = parseRecord(JSON.parse(row.details), row.seq);
  return event;
}

function toAuditArchive(row: ArchiveRow): AuditArchive {
  return {
    firstSeq: row.first_seq,
    lastSeq: row.last_seq,
    count: row.count,
    prevHash: row.prev_hash,
    headHash: row.head_hash,
    before: new Date(row.cut_before),
    archivedAt: new Date(row.archived_at),
  };
}

/** A row for the chain verifier: the record, or why it cannot be read. */
function chainEntry(row: AuditRow): ChainEntry {
  try {
    return toAuditEvent(row);
  } catch (error) {
    return { seq: row.seq, unreadable: `it cannot be read: ${errorMessage(error)}` };
  }
}

function millis(date: Date, field: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new Error(`ledger: ${field} is not a valid date`);
  return ms;
}

function dateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

/** `'granting', 'active'`: our own constants, never user input. */
function sqlList(states: readonly GrantState[]): string {
  return states.map((state) => `'${state}'`).join(", ");
}

/** better-sqlite3's SqliteError, recognised by shape (it may come from another realm under test). */
function isSqliteError(error: unknown): error is Error & { code: string } {
  return (
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    typeof error.code === "string" &&
    error.code.startsWith("SQLITE_") &&
    "message" in error
  );
}

const HINTS: ReadonlyArray<[prefix: string, hint: string]> = [
  ["SQLITE_READONLY", "the database is read-only: check the file's and directory's permissions and DATABASE_URL"],
  ["SQLITE_FULL", "the disk is full: free space on the volume that holds the ledger"],
  ["SQLITE_IOERR", "the disk reported an I/O error: check the volume that holds the ledger"],
  ["SQLITE_BUSY", "another process held the ledger locked for too long: check for a stuck jit-access process"],
  ["SQLITE_CORRUPT", "the database file is damaged: restore it from a backup, then run `jit-access reconcile`"],
];

function hintFor(code: string): string {
  const hint = HINTS.find(([prefix]) => code.startsWith(prefix))?.[1];
  return hint === undefined ? "" : ` (${hint})`;
}
