import type { Context } from "probot";
import type { LifecycleDeps } from "./deps.js";
import { livePullRequestGrants } from "../ledger/pull-request-grants.js";
import { CLOSED_UNMERGED_REASON } from "../revoke/end-reasons.js";
import { revokeGrant } from "../revoke/revoke-grant.js";

export { CLOSED_UNMERGED_REASON };

/**
 * Closing a request PR without merging revokes its live grants at once. Merging keeps them
 * until they expire: the request was accepted.
 */
export function onPullRequestClosed(deps: LifecycleDeps) {
  return async (context: Context<"pull_request.closed">): Promise<void> => {
    const { repository, pull_request: pr } = context.payload;
    if (pr.merged) return;
    const log = context.log.child({ repository: repository.full_name, pr: pr.number, delivery: context.id });
    // Grants recorded before the ledger kept repository ids get this one, for next time.
    await deps.store.setRepositoryId(repository.owner.login, repository.name, repository.id);
    const live = await livePullRequestGrants(
      deps.store,
      { id: repository.id, owner: repository.owner.login, name: repository.name },
      pr.number,
    );
    // The event names the repository as it is now, with the installation that covers it: a
    // transferred repository's grants end there, not under the name and installation they recorded.
    const installationId = context.payload.installation?.id;
    const repositoryNow =
      installationId === undefined
        ? {}
        : { repositoryNow: { id: repository.id, installationId, owner: repository.owner.login, name: repository.name } };
    for (const grant of live) {
      await revokeGrant(
        deps,
        { grant, kind: "revoked", reason: CLOSED_UNMERGED_REASON, actor: context.payload.sender.login, ...repositoryNow },
        log,
      );
    }
    if (live.length > 0) log.info({ revoked: live.length }, "pull request closed without merging: grants revoked");
  };
}
