/**
 * Gather: what the gate's decision on one waiting job needs besides the run itself: the live
 * grants in the job's repository and environment (ledger), and the repository config's
 * `bind_to_requester` from the default branch, read only when a live grant's secret is not bound
 * by the catalog already.
 */
import type { RepoClient } from "../github/repo-client.js";
import type { Grant, LedgerStore } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { ConfigError } from "../policy/config-error.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { needsRepoBinding, type GateFacts, type GateRun, type RepoBinding } from "./decide-gate.js";

export interface GateRepository {
  /** GitHub's id: grants recorded by id are found under a new name after a rename. */
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
}

export interface GateSources {
  store: Pick<LedgerStore, "listGrants">;
  client: RepoClient;
  catalog: Catalog;
}

export async function gatherGate(sources: GateSources, repository: GateRepository, environment: string, run: GateRun): Promise<GateFacts> {
  const grants = await liveEnvironmentGrants(sources.store, repository, environment);
  if (!needsRepoBinding(grants, sources.catalog)) return { environment, run, grants };
  return { environment, run, grants, repoBinding: await repoBinding(sources.client, repository.defaultBranch) };
}

/**
 * The live grants in one environment of a repository: by repository id, and by name for grants
 * recorded before the ledger kept the id (a row with another repository's id under the same
 * name is not this one's). Environment names compare case-insensitively (the ledger's rule).
 */
export async function liveEnvironmentGrants(
  store: Pick<LedgerStore, "listGrants">,
  repository: GateRepository,
  environment: string,
): Promise<Grant[]> {
  const [byId, byName] = await Promise.all([
    store.listGrants({ repositoryId: repository.id, environment, liveOnly: true }),
    store.listGrants({ owner: repository.owner, repo: repository.name, environment, liveOnly: true }),
  ]);
  const mine = [...byId, ...byName].filter((grant) => grant.repositoryId === null || grant.repositoryId === repository.id);
  return [...new Map(mine.map((grant) => [grant.id, grant])).values()];
}

async function repoBinding(client: RepoClient, defaultBranch: string): Promise<RepoBinding> {
  try {
    const file = await client.file(REPO_CONFIG_PATH, defaultBranch);
    return { ok: true, bindToRequester: parseRepoConfig(file?.text ?? null).bindToRequester === true };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, message: error.message };
  }
}
