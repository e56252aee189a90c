import type { Grant, LedgerStore } from "./store.js";

/**
 * A pull request's live grants: by repository id, so that a renamed or transferred repository's
 * grants are found under its new name, and by name for grants recorded before the ledger kept the
 * id (a row with another repository's id under the same name is not this one's).
 */
export async function livePullRequestGrants(
  store: Pick<LedgerStore, "listGrants">,
  repository: { id: number; owner: string; name: string },
  prNumber: number,
): Promise<Grant[]> {
  const [byId, byName] = await Promise.all([
    store.listGrants({ repositoryId: repository.id, prNumber, liveOnly: true }),
    store.listGrants({ owner: repository.owner, repo: repository.name, prNumber, liveOnly: true }),
  ]);
  const mine = [...byId, ...byName].filter((g) => g.repositoryId === null || g.repositoryId === repository.id);
  return [...new Map(mine.map((g) => [g.id, g])).values()];
}
