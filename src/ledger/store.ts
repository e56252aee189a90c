/**
 * The ledger: every grant, written before the secret is, and an append-only audit log.
 * The interface is asynchronous so that a PostgreSQL store can stand behind it;
 * `sqlite-store.ts` is the embedded default.
 */

export type GrantState = "granting" | "active" | "revoked" | "expired" | "failed";
export const LIVE_STATES: readonly GrantState[] = ["granting", "active"];

export interface Person {
  id: number;
  login: string;
}

export interface Grant {
  id: string;
  installationId: number;
  owner: string;
  repo: string;
  environment: string;
  /** The secret's name as GitHub stores it (upper case). */
  secret: string;
  requester: Person;
  prNumber: number;
  headSha: string;
  approvers: Person[];
  reason: string;
  durationMs: number;
  /** Idempotency key: one grant per (repository, PR, head commit, environment, secret). */
  requestKey: string;
  createdAt: Date;
  /** When the secret was written (state became active). */
  grantedAt: Date | null;
  /** Fixed when the row is written, before the secret is. */
  expiresAt: Date;
  endedAt: Date | null;
  state: GrantState;
  /** Why it ended or failed: "expired", "pull request closed", an operator's reason, an error summary. */
  endReason: string | null;
  /** Failed revocation attempts so far. */
  revokeAttempts: number;
  /** Earliest time the next revocation attempt may run (backoff); null when not backing off. */
  nextAttemptAt: Date | null;
  lastError: string | null;
  /**
   * Set when an early end (revoke, PR closed) failed to delete the secret: how the grant is to
   * end once the retry succeeds. Such a grant is due for the sweep from `nextAttemptAt`, before
   * its expiry.
   */
  pendingEnd: PendingEnd | null;
}

export interface PendingEnd {
  kind: "expired" | "revoked";
  reason: string;
  actor: string;
}

/** What the grant flow writes ahead of the secret; the ledger adds id, state and the rest. */
export type NewGrant = Pick<
  Grant,
  | "installationId"
  | "owner"
  | "repo"
  | "environment"
  | "secret"
  | "requester"
  | "prNumber"
  | "headSha"
  | "approvers"
  | "reason"
  | "durationMs"
  | "requestKey"
  | "createdAt"
  | "expiresAt"
>;

export type AuditAction =
  | "validated"
  | "rejected"
  | "approved"
  | "granting"
  | "granted"
  | "failed"
  | "revoked"
  | "expired"
  | "revoke_failed"
  | "reconciled";

export interface AuditInput {
  at: Date;
  action: AuditAction;
  /** Login of the person, or `jit-access` for the app itself, or `operator:<name>` for the CLI. */
  actor: string;
  owner: string;
  repo: string;
  prNumber?: number;
  grantId?: string;
  environment?: string;
  secret?: string;
  /** Free-form details; never a secret value. */
  details?: Record<string, unknown>;
}

export interface AuditEvent extends AuditInput {
  seq: number;
}

export interface GrantFilter {
  owner?: string;
  repo?: string;
  prNumber?: number;
  environment?: string;
  secret?: string;
  /** Only `granting`/`active` when true (the default); every state when false. */
  liveOnly?: boolean;
}

/**
 * State changes are guarded: `markActive` and `markFailed` only from `granting`; `markEnded` and
 * `recordRevokeFailure` only from a live state. Any other change rejects with an error naming the
 * grant, its state and the attempted change (so a double revoke is detected, never applied twice).
 * Owner, repository, environment and secret names compare case-insensitively, as GitHub's do.
 */
export interface LedgerStore {
  /**
   * Writes the grant in state `granting`, unless a grant with the same `requestKey` exists:
   * then returns that one with `created: false` and writes nothing.
   */
  beginGrant(grant: NewGrant): Promise<{ grant: Grant; created: boolean }>;
  /**
   * The secret was written at `at`: state `active`, `grantedAt = at`, and the expiry moves to
   * `at + durationMs` (access lasts as long as requested, counted from the grant). Only from `granting`.
   */
  markActive(id: string, at: Date): Promise<Grant>;
  /** The write failed: nothing is live. State `failed`, with the reason. Only from `granting`. */
  markFailed(id: string, reason: string, at: Date): Promise<Grant>;
  /** The grant ended: state `expired` or `revoked`, with the reason; clears `nextAttemptAt`. Only from a live state. */
  markEnded(id: string, state: "expired" | "revoked", reason: string, at: Date): Promise<Grant>;
  /**
   * A revocation attempt failed; the grant stays live and due, next attempt not before
   * `nextAttemptAt`. `pendingEnd` records how it is to end when that was not its expiry, so
   * that the sweep retries it before the expiry comes.
   */
  recordRevokeFailure(id: string, error: string, nextAttemptAt: Date, pendingEnd?: PendingEnd): Promise<Grant>;
  /**
   * GitHub could not take the write now (rate limit, server error) and nothing was written:
   * the grant stays `granting`, to be written again from `nextAttemptAt` while it has not
   * expired (see `grantsAwaitingRetry`). Only from `granting`.
   */
  deferGrant(id: string, error: string, nextAttemptAt: Date): Promise<Grant>;
  /** `granting` grants deferred by `deferGrant` whose retry time has come and that have not expired. */
  grantsAwaitingRetry(now: Date, limit: number): Promise<Grant[]>;
  getGrant(id: string): Promise<Grant | null>;
  listGrants(filter?: GrantFilter): Promise<Grant[]>;
  /** Live grants for the same secret in the same environment, other than `excludeId`. */
  countOtherLive(owner: string, repo: string, environment: string, secret: string, excludeId: string): Promise<number>;
  /**
   * Live grants whose expiry is at or before `now`, or whose early end is pending (`pendingEnd`),
   * and whose backoff (if any) has passed,
   * oldest expiry first, at most `limit`, after the grant id `after` in that order when given
   * (keyset pagination).
   */
  dueGrants(now: Date, limit: number, after?: { expiresAt: Date; id: string }): Promise<Grant[]>;
  /** Live grants expiring at or before `until` (for exact timers). */
  expiringBy(until: Date): Promise<Grant[]>;
  appendAudit(event: AuditInput): Promise<void>;
  listAudit(options?: { since?: Date }): Promise<AuditEvent[]>;
  close(): Promise<void>;
}
