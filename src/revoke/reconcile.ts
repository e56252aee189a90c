/**
 * Removes what the app left behind: a catalog-managed secret that is present in an environment
 * without a live grant in the ledger, and that the app wrote, is deleted. The app owns only what
 * it wrote: a secret whose metadata (`updated_at`) matches no write the ledger recorded was put
 * there by someone else, or rewritten since, and is listed as unmanaged and left alone (GitHub
 * never returns a value, so a deleted secret cannot be brought back).
 *
 * Walks every installation of the app and every repository each one can see. Only catalog
 * secrets that the catalog allows for that repository, in environments the catalog allows them
 * in, are looked at: a secret the catalog does not manage is never touched. Gather (GitHub and
 * the ledger) → decide (no live grant, a recorded write) → apply (DELETE and an audit row); a
 * dry run stops before apply and reports what it would delete and what it leaves alone.
 */
import { RepoClient, type AppOctokit, type SecretMetadata } from "../github/repo-client.js";
import { statusOf } from "../github/github-failure.js";
import { sameName } from "../util/ascii-case.js";
import type { LedgerStore } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { secretLockKey } from "../ledger/secret-locks.js";
import type { Catalog } from "../policy/catalog.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { errorSummary } from "../util/error-message.js";
import { appInstallations, installationRepositories, type InstalledRepository } from "../github/app-client.js";

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
  /** Gone by the time of the DELETE (404, or no longer there when read again): nothing left to delete. */
  | "absent"
  /** A live grant was recorded between the check and the delete: left alone. */
  | "kept"
  | "failed";

interface FoundSecret {
  installationId: number;
  owner: string;
  repo: string;
  environment: string;
  secret: string;
}

/** A catalog-managed secret the app wrote, found in an environment without a live grant. */
export interface Orphan extends FoundSecret {
  outcome: OrphanOutcome;
  /** The grant whose recorded write the secret's metadata matches. */
  writtenBy: string;
  /** Why the delete failed (`failed` only). */
  error?: string;
}

/** A catalog-named secret without a live grant that the app has no record of writing: left alone. */
export interface Unmanaged extends FoundSecret {
  /** The secret's `updated_at`, which matches no write mark in the ledger. */
  updatedAt: Date;
}

export interface ReconcileReport {
  installations: number;
  repositories: number;
  /** Catalog-managed secrets found present in an environment, with or without a live grant. */
  checked: number;
  orphans: Orphan[];
  /** Never deleted, in a dry run or not. */
  unmanaged: Unmanaged[];
  /** Installations or repositories that could not be read; nothing in them was changed. */
  unreadable: { what: string; error: string }[];
}

export const NO_LIVE_GRANT = "no live grant";
export const NOT_WRITTEN_BY_APP = "jit-access has no record of writing it";

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
      secrets: new Set(allowed.filter(([, secret]) => secret.environments.some((name) => sameName(name, environment))).map(([key]) => key)),
    }))
    .filter(({ secrets }) => secrets.size > 0);
}

export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions, log: Log): Promise<ReconcileReport> {
  const report: ReconcileReport = { installations: 0, repositories: 0, checked: 0, orphans: [], unmanaged: [], unreadable: [] };
  let installations: number[];
  try {
    installations = (await appInstallations(await deps.appOctokit())).map((installation) => installation.id);
  } catch (error) {
    const hint = statusOf(error) === 401 ? "; check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH)" : "";
    throw new Error(`could not list the app's installations: ${errorSummary(error)}${hint}`, { cause: error });
  }
  report.installations = installations.length;
  for (const installationId of installations) {
    let octokit: AppOctokit;
    let repositories: InstalledRepository[];
    try {
      octokit = await deps.octokitFor(installationId);
      repositories = await installationRepositories(octokit);
    } catch (error) {
      report.unreadable.push({ what: `installation ${installationId}`, error: errorSummary(error) });
      log.warn({ installation: installationId, error: errorSummary(error) }, "reconcile could not list the installation's repositories");
      continue;
    }
    report.repositories += repositories.length;
    for (const { owner, name } of repositories) {
      const client = new RepoClient(octokit, owner, name);
      try {
        await reconcileRepository(deps, options, client, installationId, report, log);
      } catch (error) {
        report.unreadable.push({ what: client.fullName, error: errorSummary(error) });
        log.warn(
          { repository: client.fullName, error: errorSummary(error) },
          "reconcile could not read the repository; nothing in it was changed",
        );
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
    for (const metadata of await client.environmentSecrets(environment)) {
      const secret = metadata.name;
      if (!secrets.has(secret.toUpperCase())) continue;
      report.checked++;
      if (await hasLiveGrant(deps.store, client, environment, secret)) continue;
      const found = { installationId, owner: client.owner, repo: client.repo, environment, secret };
      const writer = await recordedWriter(deps.store, client, environment, metadata);
      if (writer === null) {
        report.unmanaged.push({ ...found, updatedAt: metadata.updatedAt });
        continue;
      }
      if (options.dryRun) {
        report.orphans.push({ ...found, outcome: "would-delete", writtenBy: writer });
        continue;
      }
      const result = await deleteOrphan(deps, options, client, { ...found, writtenBy: writer }, log);
      if ("outcome" in result) report.orphans.push(result);
      else report.unmanaged.push(result);
    }
  }
}

/**
 * Deletes one orphan under the secret's lock, after checking the ledger and the secret once more:
 * a grant recorded meanwhile (the ledger is written before the secret) keeps it, and a secret
 * rewritten meanwhile by someone else is no longer the app's.
 */
async function deleteOrphan(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  client: RepoClient,
  found: FoundSecret & { writtenBy: string },
  log: Log,
): Promise<Orphan | Unmanaged> {
  const { installationId, owner, repo, environment, secret } = found;
  return deps.locks.run(secretLockKey(client.owner, client.repo, environment, secret), async (): Promise<Orphan | Unmanaged> => {
    if (await hasLiveGrant(deps.store, client, environment, secret)) return { ...found, outcome: "kept" };
    let now: SecretMetadata | null;
    let writtenBy: string | null;
    try {
      now = await client.environmentSecret(environment, secret);
      writtenBy = now === null ? null : await recordedWriter(deps.store, client, environment, now);
    } catch (error) {
      log.warn(
        { repository: client.fullName, environment, secret, error: errorSummary(error) },
        "reconcile could not read a secret again before deleting it",
      );
      return { ...found, outcome: "failed", error: errorSummary(error) };
    }
    if (now === null) return { ...found, outcome: "absent" };
    if (writtenBy === null) return { installationId, owner, repo, environment, secret, updatedAt: now.updatedAt };
    let outcome: "deleted" | "absent";
    try {
      outcome = await client.deleteEnvironmentSecret(environment, secret);
    } catch (error) {
      log.warn(
        { repository: client.fullName, environment, secret, error: errorSummary(error) },
        "reconcile could not delete a secret without a live grant",
      );
      return { ...found, outcome: "failed", writtenBy, error: errorSummary(error) };
    }
    await deps.store.appendAudit({
      at: new Date(deps.clock.now()),
      action: "reconciled",
      actor: options.actor,
      owner: client.owner,
      repo: client.repo,
      environment,
      secret,
      details: {
        reason: NO_LIVE_GRANT,
        secretDeleted: outcome === "deleted",
        installationId: found.installationId,
        writtenBy,
        secretUpdatedAt: now.updatedAt.toISOString(),
      },
    });
    log.info({ repository: client.fullName, environment, secret, outcome, writtenBy }, "reconcile deleted a secret without a live grant");
    return { ...found, outcome, writtenBy };
  });
}

/** The grant whose recorded write left the secret as `metadata` shows it, or null: not the app's. */
async function recordedWriter(
  store: LedgerStore,
  client: RepoClient,
  environment: string,
  metadata: SecretMetadata,
): Promise<string | null> {
  return (await store.findWriteMark(client.owner, client.repo, environment, metadata.name, metadata.updatedAt))?.id ?? null;
}

async function hasLiveGrant(store: LedgerStore, client: RepoClient, environment: string, secret: string): Promise<boolean> {
  const live = await store.listGrants({ owner: client.owner, repo: client.repo, environment, secret, liveOnly: true });
  return live.length > 0;
}
