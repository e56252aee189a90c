import type { Grant, GrantFilter, LedgerStore } from "./store.js";

/**
 * A repository's live grants that match `where` (a pull request, an environment): by repository
 * id, so that a renamed or transferred repository's grants are found under its new name, and by
 * name for grants recorded before the ledger kept the id (a row with another repository's id
 * under the same name is not this one's).
 */
export async function liveRepositoryGrants(
  store: Pick<LedgerStore, "listGrants">,
  repository: { id: number; owner: string; name: string },
  where: Pick<GrantFilter, "prNumber" | "environment">,
): Promise<Grant[]> {
  const [byId, byName] = await Promise.all([
    store.listGrants({ ...where, repositoryId: repository.id, liveOnly: true }),
    store.listGrants({ ...where, owner: repository.owner, repo: repository.name, liveOnly: true }),
  ]);
  const mine = [...byId, ...byName].filter((g) => g.repositoryId === null || g.repositoryId === repository.id);
  return [...new Map(mine.map((g) => [g.id, g])).values()];
}

/** A pull request's live grants (see `liveRepositoryGrants`). */
export function livePullRequestGrants(
  store: Pick<LedgerStore, "listGrants">,
  repository: { id: number; owner: string; name: string },
  prNumber: number,
): Promise<Grant[]> {
  return liveRepositoryGrants(store, repository, { prNumber });
}
