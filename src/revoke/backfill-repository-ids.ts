import type { Grant } from "../ledger/store.js";
import { RepoClient } from "../github/repo-client.js";
import { statusOf } from "../github/github-failure.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { asciiLower, sameName } from "../util/ascii-case.js";
import { errorSummary } from "../util/error-message.js";

/**
 * Live grants recorded before the ledger kept repository ids get the id of their repository, so
 * that they too are found and ended by id after a later rename or transfer. The id is taken only
 * while the recorded name is still the repository's own, and it is the repository the grant was
 * made in: the grant's pull request, read under the recorded name, answers without a redirect
 * (same full name) and was opened by the grant's requester (same user id). Anything else (a 404,
 * a redirect, another author, an error) leaves the grant as it is for the next pass, addressed by
 * its recorded name. One read per pull request, at most `limit` a pass.
 */
export async function backfillRepositoryIds(deps: Pick<LifecycleDeps, "store" | "octokitFor">, log: Log, limit = 50): Promise<number> {
  const missing = (await deps.store.listGrants({ liveOnly: true })).filter((grant) => grant.repositoryId === null);
  const byPullRequest = new Map<string, Grant>();
  for (const grant of missing) {
    const key = asciiLower(`${grant.installationId}/${grant.owner}/${grant.repo}#${grant.prNumber}`);
    if (!byPullRequest.has(key)) byPullRequest.set(key, grant);
  }
  const done = new Set<string>();
  let filled = 0;
  for (const grant of [...byPullRequest.values()].slice(0, limit)) {
    const repository = asciiLower(`${grant.owner}/${grant.repo}`);
    if (done.has(repository)) continue;
    try {
      const client = new RepoClient(await deps.octokitFor(grant.installationId), grant.owner, grant.repo);
      const found = await client.pullRequestAndRepository(grant.prNumber);
      if (!sameName(found.repository.fullName, `${grant.owner}/${grant.repo}`) || found.pr.author.id !== grant.requester.id) continue;
      filled += await deps.store.setRepositoryId(grant.owner, grant.repo, found.repository.id);
      done.add(repository);
    } catch (error) {
      if (statusOf(error) !== 404) {
        log.warn(
          { grant: grant.id, repository: `${grant.owner}/${grant.repo}`, error: errorSummary(error) },
          "could not read a repository's id",
        );
      }
    }
  }
  if (filled > 0) log.info({ filled }, "recorded the repository id of grants written before the ledger kept it");
  return filled;
}

/** The sweep's periodic work item for repository ids (`SweepOptions.alsoRun`). */
export function repositoryIdPass(deps: LifecycleDeps, log: Log): { what: string; run(): Promise<number> } {
  return { what: "grants without a repository id", run: () => backfillRepositoryIds(deps, log) };
}
