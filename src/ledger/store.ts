/**
 * The ledger: every grant, written before the secret is, and an append-only audit log.
 * The interface is asynchronous so that a PostgreSQL store can stand behind it:
 * `sqlite-store.ts` is the embedded default, `pg-store.ts` the store several processes share. The rules every store keeps (states, transitions,
 * expiry) are in `grant-states.ts`; the audit hash chain is in `audit-chain.ts`; what a store
 * must do is `test/ledger/ledger-contract.ts`.
 */
import type { AuditVerification } from "./audit-chain.js";
import type { GateAnswer, GateDecision, GateKey, NewGateDecision } from "./gate-decisions.js";
import type { GrantState, SecretWrite } from "./grant-states.js";
import type { NewNotification, NewRequestHead, Notification, RequestHead, RequestHeadKey } from "./notify-rows.js";
import type { InboxClaim, InboxCounts, InboxEntry, InboxState, NewDelivery } from "./inbox-entries.js";

export { LIVE_STATES, IllegalTransitionError, holdsSecret, type GrantState, type SecretWrite } from "./grant-states.js";
export type { AuditVerification } from "./audit-chain.js";
export type { GateAnswer, GateDecision, GateKey, GateState, NewGateDecision } from "./gate-decisions.js";
export type { NewNotification, NewRequestHead, Notification, RequestHead, RequestHeadKey } from "./notify-rows.js";
export type { InboxClaim, InboxCounts, InboxEntry, InboxState, NewDelivery } from "./inbox-entries.js";

/**
 * Every call on a ledger after `close()` rejects with this, naming what was asked. Work that
 * races a shutdown (a sweep, an exact timer) expects it and stops quietly: the grants it did not
 * finish stay due in the ledger for the next start.
 */
export class LedgerClosedError extends Error {
  override name = "LedgerClosedError";
  constructor(readonly operation: string) {
    super(`the ledger is closed; cannot ${operation}`);
  }
}

/**
 * The ledger's storage failed (SQLite refused a write, a disk is full, a connection to the
 * database was lost). Stores wrap their driver's errors in it, with the message saying what
 * failed and how to fix it and the driver's error as the cause.
 */
export class LedgerStorageError extends Error {
  override name = "LedgerStorageError";
}

/**
 * `withSecretLock` waited longer than its timeout for another process (or call) that holds the
 * lock of the same secret: nothing was done. The caller retries later (a revocation stays due).
 */
export class SecretLockTimeoutError extends Error {
  override name = "SecretLockTimeoutError";
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(
      `another process held the lock of secret ${key.replaceAll("\u0000", " ")} for more than ${timeoutMs} ms; nothing was done, try again later`,
    );
  }
}

/** Who claims due grants (`claimDueGrants`, `claimGrant`), and until when the claim holds (its lease). */
export interface GrantClaim {
  /** The claimer: one per process (see `processClaimOwner` in revoke/sweep.ts). */
  owner: string;
  /** The end of the lease: from then another claimer may take the grant. */
  until: Date;
}

/** How long `withSecretLock` waits for another holder of the same lock by default. */
export const SECRET_LOCK_TIMEOUT_MS = 120_000;

/**
 * The installation's write slot, shared by every process that writes for it (`reserveWriteSlot`):
 * times are epoch milliseconds of the callers' wall clocks.
 */
export interface WriteSlotRequest {
  installation: string;
  /** A notifying write (a comment): it also needs `notifyGapMs` since the last notifying write. */
  notify: boolean;
  /** How urgent the write is: 0 for a secret DELETE, then PUT, check run, the rest (see write-scheduler.ts). */
  priority: number;
  /** For `finishWriteSlot`: how urgent the next write this process has waiting for the installation is, if any. */
  nextPriority?: number;
  now: number;
  writeGapMs: number;
  notifyGapMs: number;
}

/** Stores whose write slots several processes share (PostgreSQL). */
export interface WriteSlotStore {
  /**
   * Takes the installation's write slot at `now` when it is free (at least `writeGapMs` after the
   * previous write, and for a notifying write `notifyGapMs` after the previous one): resolves to 0,
   * and the next write of the installation, by any process, waits its gap from `now`. Otherwise
   * takes nothing and resolves to the milliseconds until the slot frees (and, when this write is
   * the most urgent waiting, keeps the slot for it: a less urgent write of another process that
   * finds the slot free leaves it to this one, until a gap after it freed). Atomic across processes.
   */
  reserveWriteSlot(request: WriteSlotRequest): Promise<number>;
  /**
   * The write that took the slot finished at `now`: the next one waits its gap from then (a slot
   * never moves earlier). A `nextPriority` more urgent than what waits already marks it waiting.
   */
  finishWriteSlot(request: WriteSlotRequest): Promise<void>;
}

export function isWriteSlotStore(store: object): store is WriteSlotStore {
  return "reserveWriteSlot" in store && typeof store.reserveWriteSlot === "function";
}

export interface Person {
  id: number;
  login: string;
}

/** The permissions that let a code owner's approval count: write access or more. */
export type WritePermission = "admin" | "maintain" | "write";

/**
 * A counted approver as the approval stood when the grant was recorded: their permission on the
 * repository then, and the CODEOWNERS entry they owned the requests file through (`@login`, or
 * the team `@org/team` they are a member of).
 */
export interface ApproverPermission extends Person {
  permission: WritePermission;
  via: string;
}

export interface Grant {
  id: string;
  installationId: number;
  /**
   * GitHub's id of the repository: it survives a rename or a transfer, when owner and repo no
   * longer name it. Null on grants written before the ledger recorded it, until
   * `setRepositoryId` fills it in.
   */
  repositoryId: number | null;
  owner: string;
  repo: string;
  environment: string;
  /** The secret's name as GitHub stores it (upper case). */
  secret: string;
  requester: Person;
  prNumber: number;
  headSha: string;
  /** The merge base of base and head the request set was measured from; null on older grants. */
  mergeBaseSha: string | null;
  /** SHA-256 (lower-case hex) of the approved request set; null on older grants. */
  requestDigest: string | null;
  approvers: Person[];
  /**
   * Each approver's permission on the repository when the grant was recorded, and the CODEOWNERS
   * entry they owned through; one per approver, empty for break-glass. Null when not recorded
   * (grants written before the ledger kept it, schema version 13). Absent is null.
   */
  approverPermissions?: ApproverPermission[] | null;
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
  /**
   * When a PUT whose outcome was unknown was sent (it may have landed): the expiry counts from
   * then, and a later confirmed write never moves it later. Null when no write was uncertain.
   */
  writeUncertainAt: Date | null;
  /**
   * What of this grant's own may be in the environment (see `SecretWrite` in grant-states.ts):
   * only a live grant whose secret is `written` holds it for others.
   */
  secretWrite: SecretWrite;
  /**
   * The secret's `updated_at` as GitHub reported it right after this grant's PUT: the app's mark
   * on what it wrote. A secret whose metadata matches no mark is not the app's (`findWriteMark`).
   * Null until the grant's write is confirmed and read back.
   */
  secretUpdatedAt: Date | null;
  /** Granted by break-glass: at once, without approval, to be reviewed by a code owner afterwards. False unless set. */
  breakGlass?: boolean;
  /** The code owner whose approval afterwards reviewed a break-glass grant, and when; null until then. */
  breakGlassReview?: { reviewer: Person; at: Date } | null;
}

export interface PendingEnd {
  /** `failed`: the grant could not be written, and what an earlier attempt may have left is still to be deleted. */
  kind: "expired" | "revoked" | "failed";
  reason: string;
  actor: string;
}

/**
 * What the grant flow writes ahead of the secret; the ledger adds id, state and the rest.
 * `repositoryId`, `mergeBaseSha` and `requestDigest` are optional for now (stored as null when
 * absent); they are checked for form (a positive whole number, a commit SHA, a SHA-256 digest).
 */
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
> & {
  repositoryId?: number;
  mergeBaseSha?: string;
  requestDigest?: string;
  /** Break-glass: granted without approval (`approvers` empty). */
  breakGlass?: boolean;
  /** One per approver, naming exactly `approvers` (by id); stored as null (not recorded) when absent. */
  approverPermissions?: ApproverPermission[];
};

export type AuditAction =
  | "validated"
  | "rejected"
  | "approved"
  | "granting"
  | "granted"
  /** GitHub could not take the write now; it is tried again while the approval stands. */
  | "deferred"
  /** A grant whose first write was interrupted (the process died) is written again: its approval stands on the same head and request set. */
  | "resumed"
  | "failed"
  | "revoked"
  | "expired"
  | "revoke_failed"
  | "reconciled"
  /** The workflow gate let a job through (jit-access as a deployment protection rule). */
  | "gate_approved"
  /** The workflow gate stopped a job. */
  | "gate_rejected"
  /** A deployment_protection_rule delivery the gate would not act on (a callback URL for another repository). */
  | "gate_refused"
  /** A `/jit` comment command on a request PR: what was asked, by whom, and what the app did (or why not). */
  | "command"
  /** `/jit extend` moved a grant's expiry. */
  | "extended"
  /** The reminder before a grant's expiry was sent. */
  | "reminded"
  /** Records before an instant were moved to an archive file and removed from the ledger. */
  | "archived"
  /** A request head did not gather its approvals within its request_ttl: nothing is granted for it. */
  | "lapsed"
  /** Break-glass access was granted without approval (the grant's own records follow). */
  | "break_glass"
  /** A code owner approved a break-glass grant's pull request afterwards: the review it awaited. */
  | "break_glass_reviewed";

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

/** An audit record about one grant: where it was made comes from the grant itself. */
export function grantAudit(
  grant: Pick<Grant, "id" | "owner" | "repo" | "prNumber" | "environment" | "secret">,
  record: { at: Date; action: AuditAction; actor: string; details?: Record<string, unknown> },
): AuditInput {
  return {
    ...record,
    owner: grant.owner,
    repo: grant.repo,
    prNumber: grant.prNumber,
    grantId: grant.id,
    environment: grant.environment,
    secret: grant.secret,
  };
}

/** A stored audit record: its place in the log and in the hash chain (see `audit-chain.ts`). */
export interface AuditEvent extends AuditInput {
  seq: number;
  /** The previous record's `hash`; 64 zeros for the first record. */
  prevHash: string;
  /** SHA-256 over this record's content and `prevHash`, lower-case hex. */
  hash: string;
}

/** What happened to a live grant after it was written: its extensions and its reminder (`followUp`). */
export interface GrantFollowUp {
  /** How many times `/jit extend` moved its expiry. */
  extensions: number;
  /** When the reminder before its expiry was recorded as sent; null until then. */
  remindedAt: Date | null;
}

/** Which audit records `listAudit` returns, oldest first. */
export interface AuditQuery {
  /** Only records at or after this instant. */
  since?: Date;
  /** Only records after this seq: the last seq of the page before (keyset pagination). */
  afterSeq?: number;
  /** At most this many (a positive whole number); all of them when absent. */
  limit?: number;
}

/**
 * A cut of the audit log to move to an archive file: records `firstSeq` to `lastSeq`, the
 * oldest ones still in the ledger. A cut is always the start of what the ledger holds, so the
 * records it leaves still form one chain, which starts from `headHash`.
 */
export interface AuditArchivePlan {
  /** The first record to archive: the one after the previous archive's last (1 when none). */
  firstSeq: number;
  lastSeq: number;
  /** How many records the cut holds (`lastSeq - firstSeq + 1` unless records are missing). */
  count: number;
  /** The hash the first record chains from: the previous archive's `headHash`, or 64 zeros. */
  prevHash: string;
  /** The hash of record `lastSeq`: the head of the archived chain, where the ledger's chain now starts. */
  headHash: string;
  /** The instant asked for: every record in the cut is before it. */
  before: Date;
}

/** A cut the ledger removed, as it keeps it: the link between the archive file and the records left. */
export interface AuditArchive extends AuditArchivePlan {
  archivedAt: Date;
}

export interface GrantFilter {
  /** GitHub's repository id (grants written before it was recorded have none: see `setRepositoryId`). */
  repositoryId?: number;
  owner?: string;
  repo?: string;
  prNumber?: number;
  environment?: string;
  secret?: string;
  /** Only `granting`/`active` when true (the default); every state when false. */
  liveOnly?: boolean;
}

/** Which grants `grantsInPeriod` returns: those whose life overlaps `[from, until)`. */
export interface GrantPeriod {
  /** Grants that had not ended before this instant (live grants always have not). */
  from: Date;
  /** Grants written (`createdAt`) before this instant. */
  until: Date;
  /** Only grants of this secret (compared case-insensitively). */
  secret?: string;
}

/**
 * State changes are guarded (the rules are `grant-states.ts`): `markActive`, `markFailed`,
 * `markWriting` and `deferGrant` only from `granting`; `markEnded` and `recordRevokeFailure`
 * only from a live state; `recordWriteMark` from any state. Any other change rejects with an
 * `IllegalTransitionError` naming the grant, its state and the attempted change (so a double
 * revoke is detected, never applied twice).
 *
 * Every state change takes an optional `audit`: the audit record of that change, appended in the
 * same transaction, so the change and its record are written together or not at all (a failed
 * audit write rolls the change back and rejects). Its `grantId` is the changed grant's id: filled
 * in when absent; a different one is refused and nothing is written.
 *
 * Owner, repository, environment and secret names compare case-insensitively, as GitHub's do.
 */
export interface LedgerStore {
  /**
   * Writes the grant in state `granting` (and `audit`, when given), unless a grant with the same
   * `requestKey` exists: then returns that one with `created: false` and writes nothing, not
   * even `audit`.
   */
  beginGrant(grant: NewGrant, audit?: AuditInput): Promise<{ grant: Grant; created: boolean }>;
  /**
   * The secret was written at `at`: state `active`, `grantedAt = at`, and the expiry moves to
   * `at + durationMs` (access lasts as long as requested, counted from the grant; see
   * `expiryFromWrite`). Its secret is `written` from then. Only from `granting`.
   */
  markActive(id: string, at: Date, audit?: AuditInput): Promise<Grant>;
  /**
   * A PUT for the grant is about to be sent: its write becomes `uncertain` (write-ahead, so a
   * crash after the PUT still leaves a grant whose end deletes the secret). Only from `granting`:
   * a grant ended meanwhile (by another process) rejects, and nothing may be sent for it.
   */
  markWriting(id: string, audit?: AuditInput): Promise<Grant>;
  /**
   * GitHub reported `updatedAt` for the secret right after the grant's PUT: recorded as the
   * grant's `secretUpdatedAt`, in any state (a write that landed after its grant ended is the
   * app's all the same).
   */
  recordWriteMark(id: string, updatedAt: Date, audit?: AuditInput): Promise<Grant>;
  /** The write failed: nothing is live. State `failed`, with the reason. Only from `granting`. */
  markFailed(id: string, reason: string, at: Date, audit?: AuditInput): Promise<Grant>;
  /** The grant ended: state `expired` or `revoked`, with the reason; clears `nextAttemptAt`. Only from a live state. */
  markEnded(id: string, state: "expired" | "revoked", reason: string, at: Date, audit?: AuditInput): Promise<Grant>;
  /**
   * A revocation attempt failed; the grant stays live and due, next attempt not before
   * `nextAttemptAt`. `pendingEnd` records how it is to end when that was not its expiry, so
   * that the sweep retries it before the expiry comes (an earlier `pendingEnd` stays when none is given).
   */
  recordRevokeFailure(id: string, error: string, nextAttemptAt: Date, pendingEnd?: PendingEnd, audit?: AuditInput): Promise<Grant>;
  /**
   * GitHub could not take the write now (rate limit, server error) and nothing was written:
   * the grant stays `granting`, to be written again from `nextAttemptAt` while it has not
   * expired (see `grantsAwaitingRetry`). Only from `granting`. `writeUncertainAt`: a PUT whose
   * outcome is unknown was sent then. `secretWrite`: what of the grant's own may be in the
   * environment now (`none` once an uncertain write was undone); unchanged when not given.
   */
  deferGrant(
    id: string,
    error: string,
    nextAttemptAt: Date,
    audit?: AuditInput,
    options?: { writeUncertainAt?: Date; secretWrite?: Exclude<SecretWrite, "written"> },
  ): Promise<Grant>;
  /**
   * `granting` grants deferred by `deferGrant` whose retry time has come and that have not
   * expired; not those whose end is pending (a failed grant whose secret is still to be deleted).
   */
  grantsAwaitingRetry(now: Date, limit: number): Promise<Grant[]>;
  getGrant(id: string): Promise<Grant | null>;
  listGrants(filter?: GrantFilter): Promise<Grant[]>;
  /**
   * Records GitHub's id of the repository now named `owner`/`repo` on that repository's grants
   * that have none yet (written before the ledger recorded ids); resolves to how many it filled.
   * Grants that already have an id keep it, even another one (a repository renamed or
   * transferred away, whose name is now someone else's).
   */
  setRepositoryId(owner: string, repo: string, repositoryId: number): Promise<number>;
  /**
   * Grants other than `excludeId` that hold the same secret in the same environment
   * (`holdsSecret`: live, and their secret written). A grant that was never written does not
   * count: it keeps nothing in the environment.
   */
  countOtherWritten(owner: string, repo: string, environment: string, secret: string, excludeId: string): Promise<number>;
  /**
   * The grant, in any state, whose write left the secret with this `updated_at`
   * (`secretUpdatedAt`, compared to the millisecond), or null: the secret is then not the app's.
   * The earliest such grant when several recorded the same mark.
   */
  findWriteMark(owner: string, repo: string, environment: string, secret: string, updatedAt: Date): Promise<Grant | null>;
  /**
   * Live grants whose expiry is at or before `now`, or whose early end is pending (`pendingEnd`),
   * and whose backoff (if any) has passed,
   * oldest expiry first, at most `limit`, after the grant id `after` in that order when given
   * (keyset pagination).
   */
  dueGrants(now: Date, limit: number, after?: { expiresAt: Date; id: string }): Promise<Grant[]>;
  /**
   * Claims due grants for `claim.owner` until `claim.until`: the grants `dueGrants` would list
   * (same order, same `after`) that no other claim holds (none, or its lease ended by `now`), at
   * most `limit`, each claimed in the same transaction that reads it (PostgreSQL: `FOR UPDATE
   * SKIP LOCKED`; SQLite: one IMMEDIATE transaction). Two claimers never get the same grant while
   * a lease holds; a grant whose claimer died is free again once its lease ends.
   */
  claimDueGrants(now: Date, limit: number, claim: GrantClaim, after?: { expiresAt: Date; id: string }): Promise<Grant[]>;
  /**
   * Claims one live grant for `claim.owner` until `claim.until`, unless another claimer's lease
   * still holds it at `now` (the owner's own claim is renewed): resolves to the grant as it is
   * now, or null when it is not live or another process holds it. An exact timer claims the grant
   * it is about to revoke, so that no sweep elsewhere revokes it meanwhile.
   */
  claimGrant(id: string, now: Date, claim: GrantClaim): Promise<Grant | null>;
  /**
   * Claims grants whose first write may have been interrupted (`isInterrupted`: `granting`, no
   * retry time, no end pending) for `claim.owner` until `claim.until`: those recorded at or before
   * `createdBefore` that have not expired by `now` (an expired one is the sweep's to end) and that
   * no other claim holds, oldest first, at most `limit`, each claimed in the transaction that
   * reads it (as `claimDueGrants`). Two claimers never get the same grant while a lease holds.
   * Whether a live process is still writing one is for the caller to find out (its secret's lock).
   */
  claimInterruptedGrants(now: Date, createdBefore: Date, limit: number, claim: GrantClaim): Promise<Grant[]>;
  /** Ends `owner`'s claim on the grant (revoked, failed or skipped); resolves to false when `owner` held no claim on it. */
  releaseClaim(id: string, owner: string): Promise<boolean>;
  /**
   * Runs `body` holding the lock of one secret (`key`: see `secretLockKey`) across every process
   * that shares the ledger: the server, its replicas and the CLI. "Count the other live grants,
   * then DELETE" and "PUT" of one secret never interleave. Waits at most `timeoutMs` (default
   * `SECRET_LOCK_TIMEOUT_MS`) for another holder, then rejects with `SecretLockTimeoutError`
   * and runs nothing. A holder that dies loses the lock (PostgreSQL: its connection closes;
   * SQLite: its lease row expires). Not re-entrant: never nest two locks of one key.
   */
  withSecretLock<T>(key: string, body: () => Promise<T>, options?: { timeoutMs?: number }): Promise<T>;
  /**
   * Grants of every state whose life overlaps the period (an access review): written before
   * `until` and not ended before `from`, by (`createdAt`, id), at most `limit`, after the grant
   * `after` names in that order when given (keyset pagination), so a long period is read a page
   * at a time.
   */
  grantsInPeriod(period: GrantPeriod, limit: number, after?: { createdAt: Date; id: string }): Promise<Grant[]>;
  /** Live grants expiring at or before `until` (for exact timers). */
  expiringBy(until: Date): Promise<Grant[]>;
  /** The grant's extensions and reminder; null when no grant has that id. */
  followUp(id: string): Promise<GrantFollowUp | null>;
  /**
   * `/jit extend`: moves an `active` grant's expiry to `expiresAt` and counts the extension,
   * with `audit` in the same transaction, unless the grant was extended `maxTimes` times
   * already: then resolves to null and writes nothing. A grant that is not `active` (ended, or
   * not written yet) rejects with an `IllegalTransitionError`; an `expiresAt` not later than
   * the grant's expiry is refused and nothing is written.
   */
  extendGrant(id: string, expiresAt: Date, maxTimes: number, audit?: AuditInput): Promise<Grant | null>;
  /**
   * Records that the reminder before the expiry of an `active` grant is sent, once: true when
   * this call recorded it (and `audit` with it), false when it was recorded before or the
   * grant is not active (nothing written). Whoever gets true sends the reminder.
   */
  recordReminder(id: string, at: Date, audit?: AuditInput): Promise<boolean>;
  /** `active` grants with no reminder recorded that expire at or before `until`, soonest first, at most `limit`. */
  awaitingReminder(until: Date, limit: number): Promise<Grant[]>;
  /**
   * Records the workflow gate's decision on one job (`audit` in the same transaction), unless a
   * decision is recorded for the same run, attempt and environment: then returns that one with
   * `created: false` and writes nothing, not even `audit`. Decisions are never changed.
   */
  recordGateDecision(decision: NewGateDecision, audit?: AuditInput): Promise<{ decision: GateDecision; created: boolean }>;
  /**
   * Records GitHub's reply to the decision's answer, once: when one is recorded already, writes
   * nothing and resolves to the decision with the first. Rejects when no decision is recorded.
   */
  recordGateAnswer(key: GateKey, answer: GateAnswer): Promise<GateDecision>;
  /** The decision for one run attempt's job in one environment, with its answer; null when none. */
  getGateDecision(key: GateKey): Promise<GateDecision | null>;
  /** Appends one record at the end of the hash chain. */
  appendAudit(event: AuditInput): Promise<void>;
  /**
   * The audit records the query selects, in seq order. Callers that may meet many records read
   * them in pages (`afterSeq` and `limit`; see `readAuditPages`), so memory stays flat.
   */
  listAudit(options?: AuditQuery): Promise<AuditEvent[]>;
  /**
   * Checks the audit hash chain the ledger holds, oldest first, and says where it first breaks:
   * from the last archive's `headHash` when records were archived, else from the genesis hash.
   * Resolves (never rejects) for a broken chain, including a record the store cannot read.
   */
  verifyAudit(): Promise<AuditVerification>;
  /**
   * The cut `archiveAudit` would remove for `before`: the records before that instant, in seq
   * order up to the first record at or after it (a record whose clock stepped back stays with
   * those after it), or null when the oldest record the ledger holds is not before it.
   * Reads only.
   */
  planAuditArchive(before: Date): Promise<AuditArchivePlan | null>;
  /**
   * Removes the records of `plan` (written to an archive file and synced to disk beforehand),
   * records the cut (`listAuditArchives`) and appends `audit` at the head of the chain, all in
   * one transaction. Rejects and changes nothing when the ledger no longer matches the plan
   * (another archive ran, or records are missing). The only way audit records ever leave the ledger.
   */
  archiveAudit(plan: AuditArchivePlan, at: Date, audit: AuditInput): Promise<AuditArchive>;
  /** Every cut removed so far, oldest first; each one's `prevHash` is the `headHash` of the one before. */
  listAuditArchives(): Promise<AuditArchive[]>;
  /**
   * Records a code owner's review of a break-glass grant (`audit` in the same transaction), once:
   * `recorded` is false, and nothing is written, when the grant is not break-glass or was
   * reviewed already. Rejects when there is no such grant. Any state: an ended grant is reviewed too.
   */
  recordBreakGlassReview(id: string, reviewer: Person, at: Date, audit?: AuditInput): Promise<{ grant: Grant; recorded: boolean }>;
  /** Break-glass grants no code owner has reviewed yet, in any state, oldest first. */
  unreviewedBreakGlass(): Promise<Grant[]>;
  /** Queues notifications for the background worker, all in one transaction, each due at once. */
  enqueueNotifications(notifications: NewNotification[]): Promise<Notification[]>;
  /** Notifications neither delivered nor abandoned whose next attempt is at or before `now`, oldest first, at most `limit`. */
  dueNotifications(now: Date, limit: number): Promise<Notification[]>;
  /** The notification was delivered; a later attempt changes nothing. */
  recordNotificationDelivered(id: string, at: Date): Promise<void>;
  /**
   * An attempt failed: one more attempt is counted, and the next is not before `nextAttemptAt`;
   * `null` gives up on it (`abandonedAt = at`). A delivered notification stays delivered.
   */
  recordNotificationFailure(id: string, error: string, at: Date, nextAttemptAt: Date | null): Promise<Notification>;
  /** Every notification queued at or after `since` (all of them without), oldest first: diagnostics and tests. */
  listNotifications(since?: Date): Promise<Notification[]>;
  /**
   * Records the first evaluation of a request head, unless it is recorded already: then the
   * first one stands (a later evaluation never moves the lapse). Resolves to the stored row.
   */
  recordRequestHead(head: NewRequestHead): Promise<RequestHead>;
  getRequestHead(key: RequestHeadKey): Promise<RequestHead | null>;
  /** Heads neither lapsed nor approved whose `lapsesAt` is at or before `now`, soonest first, at most `limit`. */
  lapsingRequestHeads(now: Date, limit: number): Promise<RequestHead[]>;
  /**
   * Settles a head once: `lapsed` or `approved` at `at`, only when it is neither yet (the first
   * settlement stands). Resolves to the stored row and whether this call settled it; null when
   * the head was never recorded.
   */
  settleRequestHead(key: RequestHeadKey, outcome: "lapsed" | "approved", at: Date): Promise<{ head: RequestHead; settled: boolean } | null>;
  /**
   * The webhook inbox (see `inbox-entries.ts`). Records a verified delivery, pending and due at
   * once, unless one with the same id is recorded: then resolves `created: false` and writes
   * nothing (a redelivery, or the same delivery sent to two processes), unless that entry is
   * dead: a redelivery of a delivery given up (an operator's, once the cause is fixed) makes it
   * pending again, its attempts counted from zero (`created: true`). Refuses a payload over
   * `MAX_INBOX_PAYLOAD_BYTES` or one that is not a JSON object.
   */
  recordDelivery(delivery: NewDelivery): Promise<{ created: boolean }>;
  /**
   * Records several verified deliveries in one transaction (a group commit: one write to disk
   * for all of them), each as `recordDelivery` records it, and resolves to each one's result in
   * order. All or nothing: when any of them is refused, or the write fails, it rejects and none
   * is recorded. An id given twice is recorded once; its later copies resolve `created: false`.
   */
  recordDeliveries(deliveries: readonly NewDelivery[]): Promise<Array<{ created: boolean }>>;
  /**
   * Claims at most `limit` pending entries whose retry time has come and that no live lease
   * holds, oldest first, for `owner` until `now + leaseMs`; each claim counts one attempt. Two
   * processes never claim the same entry while its lease lasts. An entry whose lease ran out
   * after `maxAttempts` claims (its process died each time) is marked dead instead, with an error
   * that says so.
   */
  claimDeliveries(claim: InboxClaim): Promise<InboxEntry[]>;
  /** `owner` processed the entry: done. Resolves false, writing nothing, when `owner` no longer holds it. */
  completeDelivery(id: string, owner: string, at: Date): Promise<boolean>;
  /**
   * `owner`'s attempt failed: pending again from `retryAt`, or dead (kept, with the error) when
   * `retryAt` is null. Resolves false, writing nothing, when `owner` no longer holds it.
   */
  failDelivery(id: string, owner: string, error: string, at: Date, retryAt: Date | null): Promise<boolean>;
  /** Gives back every claim `owner` holds (a stop): pending and claimable at once, the attempt not counted. */
  releaseDeliveries(owner: string): Promise<number>;
  getDelivery(id: string): Promise<InboxEntry | null>;
  /** Entries in `state`, oldest first, at most `limit`. */
  listDeliveries(state: InboxState, limit: number): Promise<InboxEntry[]>;
  countDeliveries(): Promise<InboxCounts>;
  /** Deletes processed (done) entries finished before `before`; resolves to how many. Dead entries stay. */
  pruneDeliveries(before: Date): Promise<number>;
  /**
   * Records that the app asked GitHub to redeliver the delivery `guid` (its log entry
   * `deliveryId`); resolves false, writing nothing, when it was asked already.
   */
  recordRedelivery(guid: string, deliveryId: number, at: Date): Promise<boolean>;
  /** Closes the ledger; closing twice is harmless. Every later call rejects with `LedgerClosedError`. */
  close(): Promise<void>;
}
