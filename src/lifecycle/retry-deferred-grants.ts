import { RepoClient } from "../github/repo-client.js";
import type { LifecycleDeps, Log } from "./deps.js";
import { evaluatePullRequest } from "./evaluate-pull-request.js";
import { GRANT_RETRY_MS } from "./grant-requests.js";

/**
 * Grants that GitHub could not take (rate limit, server error) are written again: each one's PR
 * is evaluated afresh, so the write happens only while the approval on the same head still
 * stands. A grant whose PR no longer qualifies waits (and is revoked at its expiry like any
 * live grant), re-checked at the retry interval.
 */
export async function retryDeferredGrants(deps: LifecycleDeps, log: Log, limit = 100): Promise<number> {
  const now = new Date(deps.clock.now());
  const waiting = await deps.store.grantsAwaitingRetry(now, limit);
  const prs = new Map<string, (typeof waiting)[number]>();
  for (const grant of waiting) prs.set(`${grant.installationId}/${grant.owner}/${grant.repo}#${grant.prNumber}`, grant);
  for (const grant of prs.values()) {
    const prLog = log;
    try {
      const client = new RepoClient(await deps.octokitFor(grant.installationId), grant.owner, grant.repo);
      await evaluatePullRequest(deps, { installationId: grant.installationId, client, prNumber: grant.prNumber, log: prLog, trigger: "retry" });
    } catch (error) {
      prLog.warn({ grant: grant.id, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "retrying a deferred grant failed");
    }
  }
  // Anything still waiting is looked at again after the retry interval, not at every sweep.
  const later = new Date(deps.clock.now() + GRANT_RETRY_MS);
  for (const grant of waiting) {
    const current = await deps.store.getGrant(grant.id);
    if (current?.state === "granting" && current.nextAttemptAt && current.nextAttemptAt <= now) {
      await deps.store.deferGrant(grant.id, current.lastError ?? "waiting for the approval to be confirmed", later);
    }
  }
  return waiting.length;
}
