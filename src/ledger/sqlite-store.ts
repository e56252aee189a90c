/**
 * The embedded ledger: grants and the audit log in one SQLite file (better-sqlite3).
 * Expects a connection that `openLedger` has configured and migrated. Calls are synchronous
 * underneath; the async methods turn every SQLite error into a rejection, so a read-only
 * database or a full disk stops the caller before anything is written to GitHub.
 */
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import {
  LIVE_STATES,
  type AuditAction,
  type AuditEvent,
  type AuditInput,
  type Grant,
  type GrantFilter,
  type GrantState,
  type LedgerStore,
  type NewGrant,
  type PendingEnd,
  type Person,
} from "./store.js";

/** A state change the lifecycle does not allow, e.g. revoking a grant that already ended. */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
  constructor(
    readonly grantId: string,
    readonly state: GrantState,
    readonly attempted: string,
    readonly allowedFrom: readonly GrantState[],
  ) {
    super(`grant ${grantId} is ${state}; cannot ${attempted} (allowed only from ${allowedFrom.join(" or ")})`);
  }
}

/** Which states each change may start from. */
const FROM_GRANTING: readonly GrantState[] = ["granting"];
const FROM_LIVE: readonly GrantState[] = LIVE_STATES;
const LIVE_SQL = sqlList(LIVE_STATES);
/** `listGrants` filter fields and the columns they compare (names compare case-insensitively: NOCASE columns). */
const LIST_FILTERS = [
  ["owner", "owner"],
  ["repo", "repo"],
  ["prNumber", "pr_number"],
  ["environment", "environment"],
  ["secret", "secret"],
] as const satisfies readonly (readonly [keyof GrantFilter, string])[];

interface GrantRow {
  id: string;
  installation_id: number;
  owner: string;
  repo: string;
  environment: string;
  secret: string;
  requester: string;
  pr_number: number;
  head_sha: string;
  approvers: string;
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
}

type Params = Record<string, string | number | null>;

export class SqliteStore implements LedgerStore {
  private readonly statements;
  private readonly listStatements = new Map<string, Database.Statement<[Params], GrantRow>>();

  constructor(private readonly db: Database.Database) {
    const transition = (target: string, from: readonly GrantState[]) =>
      db.prepare<Params, GrantRow>(`UPDATE grants SET ${target} WHERE id = @id AND state IN (${sqlList(from)}) RETURNING *`);
    this.statements = {
      insertGrant: db.prepare<Params>(
        `INSERT INTO grants (id, installation_id, owner, repo, environment, secret, requester, pr_number, head_sha,
           approvers, reason, duration_ms, request_key, created_at, expires_at, state)
         VALUES (@id, @installationId, @owner, @repo, @environment, @secret, @requester, @prNumber, @headSha,
           @approvers, @reason, @durationMs, @requestKey, @createdAt, @expiresAt, 'granting')
         ON CONFLICT (request_key) DO NOTHING`,
      ),
      grantById: db.prepare<[string], GrantRow>("SELECT * FROM grants WHERE id = ?"),
      grantByRequestKey: db.prepare<[string], GrantRow>("SELECT * FROM grants WHERE request_key = ?"),
      // Expiry counts from the moment the secret was written; the write-ahead expiry was an upper
      // bound for the time before it (a crash there leaves that earlier expiry in force).
      markActive: transition(
        "state = 'active', granted_at = @at, expires_at = @at + duration_ms, next_attempt_at = NULL, last_error = NULL",
        FROM_GRANTING,
      ),
      deferGrant: transition("last_error = @error, next_attempt_at = @nextAttemptAt", FROM_GRANTING),
      grantsAwaitingRetry: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants
         WHERE state = 'granting' AND next_attempt_at IS NOT NULL AND next_attempt_at <= @now AND expires_at > @now
         ORDER BY next_attempt_at, id LIMIT @limit`,
      ),
      markFailed: transition("state = 'failed', end_reason = @reason, ended_at = @at", FROM_GRANTING),
      markEnded: transition(
        "state = @state, end_reason = @reason, ended_at = @at, next_attempt_at = NULL",
        FROM_LIVE,
      ),
      recordRevokeFailure: transition(
        "revoke_attempts = revoke_attempts + 1, last_error = @error, next_attempt_at = @nextAttemptAt, pending_end = COALESCE(@pendingEnd, pending_end)",
        FROM_LIVE,
      ),
      countOtherLive: db
        .prepare<Params, number>(
          `SELECT count(*) FROM grants
           WHERE owner = @owner AND repo = @repo AND environment = @environment AND secret = @secret
             AND state IN (${LIVE_SQL}) AND id <> @excludeId`,
        )
        .pluck(),
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
      expiringBy: db.prepare<Params, GrantRow>(
        `SELECT * FROM grants WHERE state IN (${LIVE_SQL}) AND expires_at <= @until ORDER BY expires_at, id`,
      ),
      appendAudit: db.prepare<Params>(
        `INSERT INTO audit (at, action, actor, owner, repo, pr_number, grant_id, environment, secret, details)
         VALUES (@at, @action, @actor, @owner, @repo, @prNumber, @grantId, @environment, @secret, @details)`,
      ),
      listAudit: db.prepare<Params, AuditRow>(
        "SELECT * FROM audit WHERE (@since IS NULL OR at >= @since) ORDER BY seq",
      ),
    };
  }

  async beginGrant(grant: NewGrant): Promise<{ grant: Grant; created: boolean }> {
    return this.run(`record grant ${grant.requestKey}`, () =>
      this.db.transaction(() => {
        const { changes } = this.statements.insertGrant.run({
          id: randomUUID(),
          installationId: grant.installationId,
          owner: grant.owner,
          repo: grant.repo,
          environment: grant.environment,
          secret: grant.secret,
          requester: JSON.stringify(person(grant.requester)),
          prNumber: grant.prNumber,
          headSha: grant.headSha,
          approvers: JSON.stringify(grant.approvers.map(person)),
          reason: grant.reason,
          durationMs: grant.durationMs,
          requestKey: grant.requestKey,
          createdAt: millis(grant.createdAt, "createdAt"),
          expiresAt: millis(grant.expiresAt, "expiresAt"),
        });
        const row = this.statements.grantByRequestKey.get(grant.requestKey);
        if (row === undefined) throw new Error(`grant ${grant.requestKey} was not found right after it was written`);
        return { grant: toGrant(row), created: changes === 1 };
      }).immediate(),
    );
  }

  async markActive(id: string, at: Date): Promise<Grant> {
    return this.transition(id, "mark it active", FROM_GRANTING, this.statements.markActive, { at: millis(at, "at") });
  }

  async markFailed(id: string, reason: string, at: Date): Promise<Grant> {
    return this.transition(id, "mark it failed", FROM_GRANTING, this.statements.markFailed, {
      reason,
      at: millis(at, "at"),
    });
  }

  async markEnded(id: string, state: "expired" | "revoked", reason: string, at: Date): Promise<Grant> {
    return this.transition(id, `mark it ${state}`, FROM_LIVE, this.statements.markEnded, {
      state,
      reason,
      at: millis(at, "at"),
    });
  }

  async recordRevokeFailure(id: string, error: string, nextAttemptAt: Date, pendingEnd?: PendingEnd): Promise<Grant> {
    return this.transition(id, "record a failed revocation for it", FROM_LIVE, this.statements.recordRevokeFailure, {
      error,
      nextAttemptAt: millis(nextAttemptAt, "nextAttemptAt"),
      pendingEnd: pendingEnd ? JSON.stringify(pendingEnd) : null,
    });
  }

  async deferGrant(id: string, error: string, nextAttemptAt: Date): Promise<Grant> {
    return this.transition(id, "defer its write", FROM_GRANTING, this.statements.deferGrant, {
      error,
      nextAttemptAt: millis(nextAttemptAt, "nextAttemptAt"),
    });
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

  async countOtherLive(owner: string, repo: string, environment: string, secret: string, excludeId: string): Promise<number> {
    return this.run("count live grants", () => {
      const count = this.statements.countOtherLive.get({ owner, repo, environment, secret, excludeId });
      return count ?? 0;
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

  async expiringBy(until: Date): Promise<Grant[]> {
    return this.run("list expiring grants", () =>
      this.statements.expiringBy.all({ until: millis(until, "until") }).map(toGrant),
    );
  }

  async appendAudit(event: AuditInput): Promise<void> {
    this.run(`append audit record "${event.action}"`, () => {
      this.statements.appendAudit.run({
        at: millis(event.at, "at"),
        action: event.action,
        actor: event.actor,
        owner: event.owner,
        repo: event.repo,
        prNumber: event.prNumber ?? null,
        grantId: event.grantId ?? null,
        environment: event.environment ?? null,
        secret: event.secret ?? null,
        details: event.details === undefined ? null : JSON.stringify(event.details),
      });
    });
  }

  async listAudit(options: { since?: Date } = {}): Promise<AuditEvent[]> {
    return this.run("list audit records", () =>
      this.statements.listAudit
        .all({ since: options.since === undefined ? null : millis(options.since, "since") })
        .map(toAuditEvent),
    );
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private transition(
    id: string,
    attempted: string,
    allowedFrom: readonly GrantState[],
    statement: Database.Statement<[Params], GrantRow>,
    params: Params,
  ): Grant {
    return this.run(`update grant ${id} (${attempted})`, () =>
      this.db.transaction(() => {
        const updated = statement.get({ ...params, id });
        if (updated !== undefined) return toGrant(updated);
        const existing = this.statements.grantById.get(id);
        if (existing === undefined) throw new Error(`grant ${id} is not in the ledger; cannot ${attempted}`);
        throw new IllegalTransitionError(id, existing.state, attempted, allowedFrom);
      }).immediate(),
    );
  }

  /** Runs one ledger operation, adding what failed and how to fix it to SQLite's errors. */
  private run<T>(operation: string, body: () => T): T {
    try {
      return body();
    } catch (error) {
      if (!isSqliteError(error)) throw error;
      throw new Error(`the ledger could not ${operation}: ${error.message}${hintFor(error.code)}`, { cause: error });
    }
  }
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    installationId: row.installation_id,
    owner: row.owner,
    repo: row.repo,
    environment: row.environment,
    secret: row.secret,
    requester: parsePerson(JSON.parse(row.requester), row.id),
    prNumber: row.pr_number,
    headSha: row.head_sha,
    approvers: parseArray(JSON.parse(row.approvers), row.id).map((value) => parsePerson(value, row.id)),
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
  };
  if (row.pr_number !== null) event.prNumber = row.pr_number;
  if (row.grant_id !== null) event.grantId = row.grant_id;
  if (row.environment !== null) event.environment = row.environment;
  if (row.secret !== null) event.secret = row.secret;
  if (row.details !== null) event.details = parseRecord(JSON.parse(row.details), row.seq);
  return event;
}

/** Only the fields a Person has, so nothing else from a caller's object is stored. */
function person(value: Person): Person {
  return { id: value.id, login: value.login };
}

function parsePerson(value: unknown, grantId: string): Person {
  if (
    typeof value === "object" &&
    value !== null &&
    "id" in value &&
    typeof value.id === "number" &&
    "login" in value &&
    typeof value.login === "string"
  ) {
    return { id: value.id, login: value.login };
  }
  throw new Error(`the ledger row for grant ${grantId} holds a malformed person; restore the database from a backup`);
}

function parseArray(value: unknown, grantId: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Error(`the ledger row for grant ${grantId} holds malformed approvers; restore the database from a backup`);
}

function parseRecord(value: unknown, seq: number): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ...value };
  throw new Error(`audit record ${seq} holds malformed details; restore the database from a backup`);
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
