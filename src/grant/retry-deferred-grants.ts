import { awaitsWrite } from "../ledger/grant-states.js";
import type { Grant } from "../ledger/store.js";
import { locateRepository } from "../github/locate-repository.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { evaluatePullRequest } from "./evaluate-pull-request.js";
import { GRANT_RETRY_MS } from "./grant-requests.js";
import { errorSummary } from "../util/error-message.js";

/**
 * Grants that GitHub could not take (rate limit, server error) are written again: each one's PR
 * is evaluated afresh, so the write happens only while the approval on the same head still
 * stands. A grant whose PR no longer qualifies waits (and is revoked at its expiry like any
 * live grant), re-checked at the retry interval.
 *
 * This is the pass `jit-access sweep` runs over every deferred grant whose time has come; the
 * server retries each one on a timer of its own (ExpiryScheduler.retryLater), at the time the
 * PR was told.
 */
export async function retryDeferredGrants(deps: LifecycleDeps, log: Log, limit = 100): Promise<number> {
  const now = new Date(deps.clock.now());
  const waiting = await deps.store.grantsAwaitingRetry(now, limit);
  for (const grants of byPullRequest(waiting).values()) await retryPullRequest(deps, log, grants);
  return waiting.length;
}

/** Deferred grants grouped by their pull request (`pullRequestKey`). */
export function byPullRequest(grants: Grant[]): Map<string, Grant[]> {
  const prs = new Map<string, Grant[]>();
  for (const grant of grants) {
    const key = pullRequestKey(grant);
    prs.set(key, [...(prs.get(key) ?? []), grant]);
  }
  return prs;
}

export function pullRequestKey(grant: Pick<Grant, "installationId" | "owner" | "repo" | "prNumber">): string {
  return `${grant.installationId}/${grant.owner}/${grant.repo}#${grant.prNumber}`.toLowerCase();
}

/**
 * Evaluates the pull request of `waiting` (deferred grants of one PR) afresh. Any of them the
 * evaluation neither wrote nor deferred again (the PR no longer qualifies, or the evaluation
 * failed) is looked at again after the retry interval; `deps.onDeferred` hears of it.
 */
export async function retryPullRequest(deps: LifecycleDeps, log: Log, waiting: Grant[]): Promise<void> {
  const grant = waiting[0];
  if (grant === undefined) return;
  try {
    // The pull request of the repository the grant was made in, found by its id under its current
    // name and installation: never a pull request of the same number in a repository that took its old name.
    const { client, installationId } = await locateRepository(deps, grant);
    await evaluatePullRequest(deps, { installationId, client, prNumber: grant.prNumber, log, trigger: "retry" });
  } catch (error) {
    log.warn({ grant: grant.id, error: errorSummary(error) }, "retrying a deferred grant failed");
  }
  const later = new Date(deps.clock.now() + GRANT_RETRY_MS);
  for (const before of waiting) {
    const current = await deps.store.getGrant(before.id);
    // A grant the evaluation deferred again has a new retry time already.
    if (current && awaitsWrite(current) && current.nextAttemptAt?.getTime() === before.nextAttemptAt?.getTime()) {
      const deferred = await deps.store.deferGrant(before.id, current.lastError ?? "waiting for the approval to be confirmed", later);
      deps.onDeferred?.(deferred);
    }
  }
}
