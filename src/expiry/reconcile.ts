/**
 * Fail closed after a lost or restored ledger: a catalog-managed secret that is present in an
 * environment without a live grant in the ledger is deleted.
 *
 * Walks every installation of the app and every repository each one can see. Only catalog
 * secrets that the catalog allows for that repository, in environments the catalog allows them
 * in, are looked at: a secret the catalog does not manage is never touched. Gather (GitHub and
 * the ledger) → decide (no live grant) → apply (DELETE and an audit row); a dry run stops
 * before apply and reports what it would delete.
 */
import { RepoClient, statusOf, type AppOctokit } from "../github/repo-client.js";
import { sameName } from "../util/ascii-case.js";
import type { LedgerStore } from "../ledger/store.js";
import { secretLockKey, type LifecycleDeps, type Log } from "../lifecycle/deps.js";
import type { Catalog } from "../policy/catalog.js";
import { repositoryAllowed } from "../policy/repo-glob.js";

export interface ReconcileDeps extends Pick<LifecycleDeps, "store" | "catalog" | "clock" | "locks" | "octokitFor"> {
  /** The app itself (JWT): lists the installations. */
  appOctokit(): Promise<AppOctokit>;
}

export interface ReconcileOptions {
  /** Report what would be deleted; change nothing. */
  dryRun: boolean;
  /** The audit row's actor, e.g. `operator:dana`. */
  actor: string;
}

export type OrphanOutcome =
  /** Dry run: it would be deleted. */
  | "would-delete"
  | "deleted"
  /** Gone by the time of the DELETE (404): nothing left to delete. */
  | "absent"
  /** A live grant was recorded between the check and the delete: left alone. */
  | "kept"
  | "failed";

/** A catalog-managed secret found in an environment without a live grant. */
export interface Orphan {
  installationId: number;
  owner: string;
  repo: string;
  environment: string;
  secret: string;
  outcome: OrphanOutcome;
  /** Why the delete failed (`failed` only). */
  error?: string;
}

export interface ReconcileReport {
  installations: number;
  repositories: number;
  /** Catalog-managed secrets found present in an environment, with or without a live grant. */
  checked: number;
  orphans: Orphan[];
  /** Installations or repositories that could not be read; nothing in them was changed. */
  unreadable: { what: string; error: string }[];
}

export const NO_LIVE_GRANT = "no live grant";

/**
 * Which catalog secrets are managed in which of a repository's environments: for each existing
 * environment (its name as GitHub spells it), the upper-case names of the catalog secrets that
 * may be granted there. Environment names compare case-insensitively, as GitHub's do. Pure.
 */
export function managedSecrets(
  catalog: Catalog,
  fullName: string,
  environments: readonly string[],
): { environment: string; secrets: Set<string> }[] {
  const allowed = [...catalog.secrets.entries()].filter(([, secret]) => repositoryAllowed(secret.repositories, fullName));
  return environments
    .map((environment) => ({
      environment,
      secrets: new Set(
        allowed
          .filter(([, secret]) => secret.environments.some((name) => sameName(name, environment)))
          .map(([key]) => key),
      ),
    }))
    .filter(({ secrets }) => secrets.size > 0);
}

export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions, log: Log): Promise<ReconcileReport> {
  const report: ReconcileReport = { installations: 0, repositories: 0, checked: 0, orphans: [], unreadable: [] };
  let installations: number[];
  try {
    installations = await listInstallationIds(await deps.appOctokit());
  } catch (error) {
    const hint = statusOf(error) === 401 ? "; check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH)" : "";
    throw new Error(`could not list the app's installations: ${shortMessage(error)}${hint}`, { cause: error });
  }
  report.installations = installations.length;
  for (const installationId of installations) {
    let octokit: AppOctokit;
    let repositories: { owner: string; repo: string }[];
    try {
      octokit = await deps.octokitFor(installationId);
      repositories = await listInstallationRepositories(octokit);
    } catch (error) {
      report.unreadable.push({ what: `installation ${installationId}`, error: shortMessage(error) });
      log.warn({ installation: installationId, error: shortMessage(error) }, "reconcile could not list the installation's repositories");
      continue;
    }
    report.repositories += repositories.length;
    for (const { owner, repo } of repositories) {
      const client = new RepoClient(octokit, owner, repo);
      try {
        await reconcileRepository(deps, options, client, installationId, report, log);
      } catch (error) {
        report.unreadable.push({ what: client.fullName, error: shortMessage(error) });
        log.warn({ repository: client.fullName, error: shortMessage(error) }, "reconcile could not read the repository; nothing in it was changed");
      }
    }
  }
  return report;
}

async function reconcileRepository(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  client: RepoClient,
  installationId: number,
  report: ReconcileReport,
  log: Log,
): Promise<void> {
  const mayHaveAny = [...deps.catalog.secrets.values()].some((secret) => repositoryAllowed(secret.repositories, client.fullName));
  if (!mayHaveAny) return;
  for (const { environment, secrets } of managedSecrets(deps.catalog, client.fullName, await client.environments())) {
    for (const secret of await client.environmentSecretNames(environment)) {
      if (!secrets.has(secret.toUpperCase())) continue;
      report.checked++;
      if (await hasLiveGrant(deps.store, client, environment, secret)) continue;
      const found = { installationId, owner: client.owner, repo: client.repo, environment, secret };
      report.orphans.push(options.dryRun ? { ...found, outcome: "would-delete" } : await deleteOrphan(deps, options, client, found, log));
    }
  }
}

/**
 * Deletes one orphan under the secret's lock, after checking the ledger once more: a grant
 * recorded meanwhile (the ledger is written before the secret) keeps it.
 */
async function deleteOrphan(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  client: RepoClient,
  found: Omit<Orphan, "outcome">,
  log: Log,
): Promise<Orphan> {
  const { environment, secret } = found;
  return deps.locks.run(secretLockKey(client.owner, client.repo, environment, secret), async (): Promise<Orphan> => {
    if (await hasLiveGrant(deps.store, client, environment, secret)) return { ...found, outcome: "kept" };
    let outcome: "deleted" | "absent";
    try {
      outcome = await client.deleteEnvironmentSecret(environment, secret);
    } catch (error) {
      log.warn({ repository: client.fullName, environment, secret, error: shortMessage(error) }, "reconcile could not delete a secret without a live grant");
      return { ...found, outcome: "failed", error: shortMessage(error) };
    }
    await deps.store.appendAudit({
      at: new Date(deps.clock.now()),
      action: "reconciled",
      actor: options.actor,
      owner: client.owner,
      repo: client.repo,
      environment,
      secret,
      details: { reason: NO_LIVE_GRANT, secretDeleted: outcome === "deleted", installationId: found.installationId },
    });
    log.info({ repository: client.fullName, environment, secret, outcome }, "reconcile deleted a secret without a live grant");
    return { ...found, outcome };
  });
}

async function hasLiveGrant(store: LedgerStore, client: RepoClient, environment: string, secret: string): Promise<boolean> {
  const live = await store.listGrants({ owner: client.owner, repo: client.repo, environment, secret, liveOnly: true });
  return live.length > 0;
}

/** Every installation of the app (`GET /app/installations`, all pages). */
async function listInstallationIds(app: AppOctokit): Promise<number[]> {
  const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  return installations.map((installation) => installation.id);
}

/** Every repository one installation can see (`GET /installation/repositories`, all pages). */
async function listInstallationRepositories(octokit: AppOctokit): Promise<{ owner: string; repo: string }[]> {
  const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
  return repositories.map((repository) => ({ owner: repository.owner.login, repo: repository.name }));
}

function shortMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);
}
