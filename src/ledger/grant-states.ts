/**
 * The ledger's rules for a grant's life, in one place for every store: the states, which change
 * may start from which state, what each change writes (including "expiry counts from the
 * write"), and what a new grant must look like. A store reads the row, asks `applyChange` for
 * the row it must write, and writes it in the same transaction; it never restates these rules
 * in its own dialect.
 *
 *   granting ──markActive──► active ──markEnded──► expired | revoked
 *      │  ▲                    │ ▲
 *      │  └─deferGrant         │ └─recordRevokeFailure
 *      │  └─markWriting        │
 *      ├──markFailed──► failed │
 *      └──markEnded──► expired | revoked (a crash before the secret was written)
 *
 * Beside its state, a grant says what of its own may be in the environment (`SecretWrite`):
 * `none` until a PUT is about to be sent (`markWriting`, write-ahead), `uncertain` from then until
 * the PUT is confirmed (`markActive`: `written`) or known to have left nothing (`deferGrant` with
 * `secretWrite: "none"`). Only a live `written` grant holds the secret for others (`holdsSecret`).
 * `recordWriteMark` keeps the `updated_at` GitHub reported after the grant's PUT, in any state:
 * the ledger's evidence that the secret in the environment is the app's own.
 */
import type { Grant, NewGrant, PendingEnd } from "./store.js";
import { isWritePermission } from "./row-values.js";

export const GRANT_STATES = ["granting", "active", "revoked", "expired", "failed"] as const;
export type GrantState = (typeof GRANT_STATES)[number];

/** A live grant may have its secret in an environment: it must still end. */
export const LIVE_STATES: readonly GrantState[] = ["granting", "active"];

export function isLive(state: GrantState): boolean {
  return LIVE_STATES.includes(state);
}

/**
 * The grant's write was deferred and is to be tried again (`grantsAwaitingRetry`): it is
 * `granting` with a retry time, and no end is pending (a failed grant whose secret is still being
 * deleted has a retry time too, for its DELETE, and is never written again).
 */
export function awaitsWrite(grant: Pick<Grant, "state" | "nextAttemptAt" | "pendingEnd">): boolean {
  return grant.state === "granting" && grant.nextAttemptAt !== null && grant.pendingEnd === null;
}

/**
 * The grant's first write was cut off: it is `granting` with no retry time and no end pending.
 * A grant is like this only while its writer runs, and its writer holds the secret's lock
 * (`SecretLocks`) from the row's creation until the grant is active, failed, deferred or ended.
 * So a grant read in this shape by a holder of that lock was interrupted: its writer died (or
 * lost the ledger) between the row and the PUT's answer, and nothing resumes it but a fresh
 * evaluation of its pull request (`resumeInterruptedGrants`, or a new approval).
 */
export function isInterrupted(grant: Pick<Grant, "state" | "nextAttemptAt" | "pendingEnd">): boolean {
  return grant.state === "granting" && grant.nextAttemptAt === null && grant.pendingEnd === null;
}

export const SECRET_WRITES = ["none", "uncertain", "written"] as const;
/**
 * What of a grant's own may be in the environment: `none` (no PUT was sent for it, or what was
 * sent is known to have left nothing), `uncertain` (a PUT was sent and its outcome is unknown,
 * or it landed and the grant was not yet marked), `written` (its PUT was confirmed, or it took
 * over the value a written grant held).
 */
export type SecretWrite = (typeof SECRET_WRITES)[number];

/**
 * The grant keeps the secret in its environment for its grantee: it is live and its secret was
 * written. Another grant's end deletes the secret only when no grant holds it. A grant that was
 * never written (deferred, or crashed before its PUT) holds nothing.
 */
export function holdsSecret(grant: Pick<Grant, "state" | "secretWrite">): boolean {
  return isLive(grant.state) && grant.secretWrite === "written";
}

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

/** One state change, as the `LedgerStore` methods of the same name ask for it. */
export type GrantChange =
  /** The secret was written at `at`. */
  | { kind: "markActive"; at: Date }
  /** The write failed; nothing is live. */
  | { kind: "markFailed"; reason: string; at: Date }
  /** The grant ended (its secret deleted, or kept for another live grant). */
  | { kind: "markEnded"; state: "expired" | "revoked"; reason: string; at: Date }
  /** A revocation attempt failed; retried from `nextAttemptAt`. */
  | { kind: "recordRevokeFailure"; error: string; nextAttemptAt: Date; pendingEnd?: PendingEnd | undefined }
  /** GitHub could not take the write now; written again from `nextAttemptAt`. */
  | {
      kind: "deferGrant";
      error: string;
      nextAttemptAt: Date;
      writeUncertainAt?: Date | undefined;
      secretWrite?: Exclude<SecretWrite, "written"> | undefined;
    }
  /** A PUT for the grant is about to be sent (write-ahead): its write is `uncertain` until confirmed. */
  | { kind: "markWriting" }
  /** GitHub reported this `updated_at` for the secret after the grant's PUT. */
  | { kind: "recordWriteMark"; updatedAt: Date };

export type GrantChangeKind = GrantChange["kind"];

/** Which states each change may start from. */
export const ALLOWED_FROM: Readonly<Record<GrantChangeKind, readonly GrantState[]>> = {
  markActive: ["granting"],
  markFailed: ["granting"],
  markEnded: LIVE_STATES,
  recordRevokeFailure: LIVE_STATES,
  deferGrant: ["granting"],
  markWriting: ["granting"],
  // A write that landed is the app's, whatever became of the grant meanwhile.
  recordWriteMark: GRANT_STATES,
};

/** How a change reads in an error: "grant … is revoked; cannot mark it revoked". */
export function describeChange(change: GrantChange): string {
  switch (change.kind) {
    case "markActive":
      return "mark it active";
    case "markFailed":
      return "mark it failed";
    case "markEnded":
      return `mark it ${change.state}`;
    case "recordRevokeFailure":
      return "record a failed revocation for it";
    case "deferGrant":
      return "defer its write";
    case "markWriting":
      return "mark its write as sent";
    case "recordWriteMark":
      return "record its write's mark";
  }
}

/**
 * The expiry of a grant whose secret was written at `at`: access lasts as long as requested,
 * counted from the write. The write-ahead expiry (fixed in `beginGrant`) was an upper bound for
 * the time before it, and stays in force when the process dies before the write is recorded.
 */
export function expiryFromWrite(grant: Pick<Grant, "durationMs">, at: Date): Date {
  return new Date(checkedTime(at, "at") + grant.durationMs);
}

/**
 * The grant as it is after `change`, or an `IllegalTransitionError` when the change may not
 * start from the grant's state. Pure: the store writes what this returns.
 */
export function applyChange(grant: Grant, change: GrantChange): Grant {
  const allowedFrom = ALLOWED_FROM[change.kind];
  if (!allowedFrom.includes(grant.state)) {
    throw new IllegalTransitionError(grant.id, grant.state, describeChange(change), allowedFrom);
  }
  switch (change.kind) {
    case "markActive": {
      // A write that may already have landed earlier (its answer lost) started the clock then.
      const from = grant.writeUncertainAt !== null && grant.writeUncertainAt < change.at ? grant.writeUncertainAt : change.at;
      return {
        ...grant,
        state: "active",
        grantedAt: checkedDate(from, "at"),
        expiresAt: expiryFromWrite(grant, from),
        nextAttemptAt: null,
        lastError: null,
        secretWrite: "written",
      };
    }
    case "markFailed":
      return { ...grant, state: "failed", endReason: change.reason, endedAt: checkedDate(change.at, "at") };
    case "markEnded":
      return { ...grant, state: change.state, endReason: change.reason, endedAt: checkedDate(change.at, "at"), nextAttemptAt: null };
    case "recordRevokeFailure":
      return {
        ...grant,
        revokeAttempts: grant.revokeAttempts + 1,
        lastError: change.error,
        nextAttemptAt: checkedDate(change.nextAttemptAt, "nextAttemptAt"),
        pendingEnd: change.pendingEnd ?? grant.pendingEnd,
      };
    case "deferGrant": {
      // The first uncertain write fixes the expiry for good: a retry never moves it later.
      const writeUncertainAt =
        grant.writeUncertainAt ?? (change.writeUncertainAt === undefined ? null : checkedDate(change.writeUncertainAt, "writeUncertainAt"));
      return {
        ...grant,
        lastError: change.error,
        nextAttemptAt: checkedDate(change.nextAttemptAt, "nextAttemptAt"),
        writeUncertainAt,
        expiresAt: writeUncertainAt === null ? grant.expiresAt : expiryFromWrite(grant, writeUncertainAt),
        secretWrite: change.secretWrite ?? grant.secretWrite,
      };
    }
    case "markWriting":
      return { ...grant, secretWrite: "uncertain" };
    case "recordWriteMark":
      return { ...grant, secretUpdatedAt: checkedDate(change.updatedAt, "updatedAt") };
  }
}

/** Lower-case hex of a Git commit: SHA-1 (40 digits) or SHA-256 (64). */
const COMMIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Lower-case hex of a SHA-256 digest. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What a new grant must look like before any store writes it; an error names the field and
 * what is wrong, and nothing is written. Checks only what a store cannot check by itself.
 */
export function checkNewGrant(grant: NewGrant): void {
  checkedTime(grant.createdAt, "createdAt");
  checkedTime(grant.expiresAt, "expiresAt");
  if (grant.repositoryId !== undefined) checkRepositoryId(grant.repositoryId);
  if (grant.mergeBaseSha !== undefined && !COMMIT_SHA.test(grant.mergeBaseSha)) {
    throw new Error(
      `ledger: mergeBaseSha must be a commit SHA in lower-case hex (40 or 64 digits); got ${JSON.stringify(grant.mergeBaseSha)}`,
    );
  }
  if (grant.requestDigest !== undefined && !SHA256_HEX.test(grant.requestDigest)) {
    throw new Error(
      `ledger: requestDigest must be a SHA-256 digest in lower-case hex (64 digits); got ${JSON.stringify(grant.requestDigest)}`,
    );
  }
  if (grant.approverPermissions !== undefined) checkApproverPermissions(grant);
}

/** One entry per approver, by id, each with a permission that lets an approval count and its CODEOWNERS entry. */
function checkApproverPermissions(grant: NewGrant): void {
  const entries = grant.approverPermissions ?? [];
  for (const entry of entries) {
    if (!isWritePermission(entry.permission)) {
      throw new Error(
        `ledger: approverPermissions: ${entry.login}'s permission must be write, maintain or admin (only these count); got ${JSON.stringify(entry.permission)}`,
      );
    }
    if (typeof entry.via !== "string" || entry.via === "") {
      throw new Error(`ledger: approverPermissions: ${entry.login} needs the CODEOWNERS entry they own through (via)`);
    }
  }
  const ids = (people: readonly { id: number }[]) => JSON.stringify(people.map((p) => p.id).sort((a, b) => a - b));
  if (ids(entries) !== ids(grant.approvers)) {
    throw new Error("ledger: approverPermissions must name exactly the grant's approvers, one entry each");
  }
}

/** A repository id as `setRepositoryId` and `GrantFilter.repositoryId` take it. */
export function checkRepositoryId(repositoryId: number): void {
  if (!Number.isSafeInteger(repositoryId) || repositoryId <= 0) {
    throw new Error(`ledger: repositoryId must be GitHub's repository id, a positive whole number; got ${String(repositoryId)}`);
  }
}

function checkedTime(date: Date, field: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new Error(`ledger: ${field} is not a valid date`);
  return ms;
}

function checkedDate(date: Date, field: string): Date {
  return new Date(checkedTime(date, field));
}

/**
 * The audit record of a change to grant `grantId`: it names that grant. A record naming another
 * grant is a caller's mistake, refused before anything is written.
 */
export function auditForGrant<T extends { grantId?: string | undefined }>(audit: T, grantId: string): T & { grantId: string } {
  if (audit.grantId !== undefined && audit.grantId !== grantId) {
    throw new Error(`ledger: the audit record of a change to grant ${grantId} names grant ${audit.grantId}; nothing was written`);
  }
  return { ...audit, grantId };
}
