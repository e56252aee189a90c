import type { Context } from "probot";
import type { LifecycleDeps } from "../lifecycle/deps.js";
import { revokeGrant } from "../lifecycle/revoke-grant.js";

export const CLOSED_UNMERGED_REASON = "pull request closed without merging";

/**
 * Closing a request PR without merging revokes its live grants at once. Merging keeps them
 * until they expire: the request was accepted.
 */
export function onPullRequestClosed(deps: LifecycleDeps) {
  return async (context: Context<"pull_request.closed">): Promise<void> => {
    const { repository, pull_request: pr } = context.payload;
    if (pr.merged) return;
    const log = context.log.child({ repository: repository.full_name, pr: pr.number, delivery: context.id });
    // By repository id, so a renamed or transferred repository's grants are found; by name too,
    // for grants recorded before the ledger kept the id, which this fills in for next time.
    await deps.store.setRepositoryId(repository.owner.login, repository.name, repository.id);
    const [byId, byName] = await Promise.all([
      deps.store.listGrants({ repositoryId: repository.id, prNumber: pr.number, liveOnly: true }),
      deps.store.listGrants({ owner: repository.owner.login, repo: repository.name, prNumber: pr.number, liveOnly: true }),
    ]);
    const live = [...new Map([...byId, ...byName].filter((g) => g.repositoryId === null || g.repositoryId === repository.id).map((g) => [g.id, g])).values()];
    for (const grant of live) {
      await revokeGrant(deps, { grant, kind: "revoked", reason: CLOSED_UNMERGED_REASON, actor: context.payload.sender.login }, log);
    }
    if (live.length > 0) log.info({ revoked: live.length }, "pull request closed without merging: grants revoked");
  };
}
