/**
 * Interrupted grants: a process died (or lost its ledger) between a grant's ledger row and its
 * PUT's answer, so the grant is `granting` with no retry time and no end pending
 * (`isInterrupted`), and its secret may or may not be in the environment. Nothing else picks it
 * up: it is not deferred, and not due before its write-ahead expiry.
 *
 * This pass (the server's start-up sweep and every sweep after it, and `jit-access sweep`) finds
 * such grants, claims each for this process, and evaluates its pull request afresh:
 *
 * - the approval still stands on the same head and request set: the evaluation writes the grant
 *   (grant-requests.ts resumes it, audited `resumed`), and the PR gets the grant comment;
 * - it no longer does (the PR was closed, its head moved, the approval was withdrawn, the request
 *   changed): the grant is ended now through the normal revocation, which deletes what its write
 *   may have left (per-secret lock, secret-ownership rules) and tells the PR why;
 * - the evaluation failed (GitHub or the repository could not be reached): the grant stays as it
 *   is, and the next sweep tries again.
 *
 * When is a `granting` row interrupted rather than being written right now? Its writer holds the
 * secret's lock (`SecretLocks`, across every process sharing the ledger) from the row's creation
 * until the grant is active, failed, deferred or ended. A row still in that shape when read under
 * that lock has no live writer. The pass reads each claimed row again under the lock before it
 * evaluates anything, and ends a row only while it is still in that shape under the lock. To keep
 * sweeps from waiting on writes under way, the rows it claims are older than
 * `INTERRUPTED_AFTER_MS`, or older than this process (a row recorded before the server started
 * was never this process's, so a restart resumes at once what the crash left).
 *
 * Claims (`claimInterruptedGrants`, a lease like the sweep's) keep two replicas, or the CLI
 * beside the server, from resuming one row twice at once; a claimer that dies loses its claims
 * when their lease ends.
 */
import { isInterrupted } from "../ledger/grant-states.js";
import type { Grant } from "../ledger/store.js";
import { locateRepository } from "../github/locate-repository.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { secretLockKey } from "../ledger/secret-locks.js";
import { revokeGrant } from "../revoke/revoke-grant.js";
import { CLAIM_LEASE_MS, PROCESS_CLAIM_OWNER } from "../revoke/sweep.js";
import { errorSummary } from "../util/error-message.js";
import { evaluatePullRequest, type Evaluation } from "./evaluate-pull-request.js";
import { byPullRequest } from "./retry-deferred-grants.js";

/**
 * How old a `granting` row must be before a sweep looks at it as possibly interrupted (unless it
 * is older than the process): longer than a grant's write takes (a few GitHub requests of at most
 * `DEFAULT_REQUEST_TIMEOUT_MS` each, paced behind other writes), so that sweeps do not wait on
 * writes under way. The secret's lock, not this time, is what tells an interrupted row.
 */
export const INTERRUPTED_AFTER_MS = 5 * 60_000;

/** The start of the reason an interrupted grant is ended with; the rest says what changed. */
export const INTERRUPTED_NO_LONGER_APPROVED =
  "its write was interrupted, and its approval no longer stands on the same head and request set";

export interface ResumeOptions {
  /** Rows recorded before this time (epoch ms; the server's start) are looked at however young. */
  startedAt?: number;
  /** Who claims the rows (default: this process, `PROCESS_CLAIM_OWNER`). */
  claimOwner?: string;
  /** How long a claim holds (default `CLAIM_LEASE_MS`). */
  claimLeaseMs?: number;
  /** Rows claimed per pass. */
  limit?: number;
  /** Once aborted (the server is stopping), no further pull request is evaluated. */
  signal?: AbortSignal;
}

export interface ResumeResult {
  /** Interrupted rows claimed. */
  found: number;
  /** Written now: active. */
  completed: number;
  /** Ended now (their approval no longer stands), or failed. */
  ended: number;
  /** Still `granting`: being written by a live process, deferred again, or the evaluation failed (the next sweep tries again). */
  left: number;
}

/** The pass as the sweep runs it after the expiries (`SweepOptions.alsoRun`). */
export function resumePass(deps: LifecycleDeps, log: Log, options: ResumeOptions = {}): { what: string; run(): Promise<ResumeResult> } {
  return { what: "interrupted grants", run: () => resumeInterruptedGrants(deps, log, options) };
}

/**
 * One pass over the interrupted grants (see the module's comment). Revoke-only (the catalog
 * failed to load), nothing can be confirmed, so nothing is resumed: the grants keep their
 * write-ahead expiry, as deferred grants do, until the catalog is back.
 */
export async function resumeInterruptedGrants(deps: LifecycleDeps, log: Log, options: ResumeOptions = {}): Promise<ResumeResult> {
  const result: ResumeResult = { found: 0, completed: 0, ended: 0, left: 0 };
  if (deps.revokeOnly !== undefined) return result;
  const now = deps.clock.now();
  const owner = options.claimOwner ?? PROCESS_CLAIM_OWNER;
  // Recorded strictly before the start: one recorded in the start's millisecond may be this process's own.
  const createdBefore = new Date(Math.max(now - INTERRUPTED_AFTER_MS, (options.startedAt ?? Number.MIN_SAFE_INTEGER) - 1));
  const claimed = await deps.store.claimInterruptedGrants(new Date(now), createdBefore, options.limit ?? 100, {
    owner,
    until: new Date(now + (options.claimLeaseMs ?? CLAIM_LEASE_MS)),
  });
  result.found = claimed.length;
  try {
    for (const grants of byPullRequest(claimed).values()) {
      if (options.signal?.aborted === true) {
        result.left += grants.length;
        continue;
      }
      await resumePullRequest(deps, log, grants, result);
    }
  } finally {
    // A claim that cannot be released (the ledger closed or failed) ends with its lease.
    await Promise.all(claimed.map((grant) => deps.store.releaseClaim(grant.id, owner).catch(() => false)));
  }
  if (result.found > 0) log.info({ ...result }, "looked at interrupted grants");
  return result;
}

/** The interrupted grants of one pull request: confirmed under their locks, then the PR evaluated, then what it left ended. */
async function resumePullRequest(deps: LifecycleDeps, log: Log, claimed: Grant[], result: ResumeResult): Promise<void> {
  const interrupted: Grant[] = [];
  for (const grant of claimed) {
    try {
      // Waits for a live writer, if any, to finish with the row: then it is no longer interrupted.
      const current = await deps.locks.run(secretLockKey(grant.owner, grant.repo, grant.environment, grant.secret), () =>
        deps.store.getGrant(grant.id),
      );
      if (current !== null && isInterrupted(current)) interrupted.push(current);
      else if (current?.state === "granting") result.left++;
    } catch (error) {
      result.left++;
      log.warn({ grant: grant.id, error: errorSummary(error) }, "could not look at an interrupted grant; the next sweep tries again");
    }
  }
  const first = interrupted[0];
  if (first === undefined) return;
  log.warn(
    { grants: interrupted.map((g) => g.id), repository: `${first.owner}/${first.repo}`, pr: first.prNumber },
    "found grants whose write was interrupted; evaluating their pull request again",
  );
  let evaluation: Evaluation;
  try {
    // The pull request of the repository the grant was made in, found by its id (as a deferred grant's retry does).
    const { client, installationId } = await locateRepository(deps, first);
    evaluation = await evaluatePullRequest(deps, { installationId, client, prNumber: first.prNumber, log, trigger: "resume" });
  } catch (error) {
    result.left += interrupted.length;
    log.warn(
      { grants: interrupted.map((g) => g.id), error: errorSummary(error) },
      "could not evaluate the pull request of an interrupted grant; the next sweep tries again",
    );
    return;
  }
  for (const grant of interrupted) {
    try {
      const current = (await deps.store.getGrant(grant.id)) ?? grant;
      if (!isInterrupted(current)) {
        count(result, current);
        continue;
      }
      // The evaluation left it as it was: its approval does not stand on its head and request set.
      const outcome = await revokeGrant(
        deps,
        { grant: current, kind: "revoked", reason: endReason(evaluation), actor: "jit-access", onlyIf: isInterrupted },
        log,
      );
      count(result, outcome.grant);
    } catch (error) {
      result.left++;
      log.error({ grant: grant.id, error: errorSummary(error) }, "could not end an interrupted grant; the next sweep tries again");
    }
  }
}

function count(result: ResumeResult, grant: Grant): void {
  if (grant.state === "active") result.completed++;
  else if (grant.state === "granting") result.left++;
  else result.ended++;
}

/** Why an interrupted grant ends, from what the fresh evaluation of its pull request found. */
export function endReason(evaluation: Evaluation): string {
  const what = ((): string => {
    switch (evaluation.kind) {
      case "closed":
        return "the pull request is closed";
      case "untouched":
      case "removal-only":
        return "the pull request no longer requests it";
      case "policy-error":
        return "the repository config cannot be read";
      case "refused":
        return "the catalog failed to load";
      case "invalid":
        return "the request has problems now";
      case "waiting":
        return "the approvals it needs are missing or were withdrawn";
      case "lapsed":
        return "the request lapsed";
      case "granted":
      case "deferred":
      case "already-granted":
      case "grant-failed":
        return "the head or the requests changed since it was approved";
    }
  })();
  return `${INTERRUPTED_NO_LONGER_APPROVED}: ${what}`;
}
