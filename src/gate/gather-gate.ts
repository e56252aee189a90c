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
import { liveRepositoryGrants } from "../ledger/pull-request-grants.js";

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
 * The live grants in one environment of a repository, by id and, for grants recorded before the
 * ledger kept ids, by name (`liveRepositoryGrants`). Environment names compare case-insensitively
 * (the ledger's rule).
 */
export function liveEnvironmentGrants(
  store: Pick<LedgerStore, "listGrants">,
  repository: GateRepository,
  environment: string,
): Promise<Grant[]> {
  return liveRepositoryGrants(store, repository, { environment });
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
