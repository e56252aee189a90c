/**
 * What the app did, read back from the simulator and the ledger: the jit-access check run on a
 * pull request's head, the secret writes it made, and its grants.
 */
import type { CheckRunView, GitHubSimulator, RecordedRequest } from "../../../sim/index.js";
import { openLedger } from "../../../src/ledger/open-ledger.js";
import type { AuditEvent, Grant } from "../../../src/ledger/store.js";
import type { World } from "./e2e-world.js";

export const CHECK_NAME = "jit-access";
const SECRET_ROUTE = "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}";

/** Every jit-access check run on the pull request's current head, oldest first. */
export function headChecks(sim: GitHubSimulator, repo: string, pr: number): CheckRunView[] {
  return sim.checkRuns(repo, { headSha: sim.pullRequest(repo, pr).headSha, name: CHECK_NAME });
}

export function latestCheck(sim: GitHubSimulator, repo: string, pr: number): CheckRunView | undefined {
  return headChecks(sim, repo, pr).at(-1);
}

/** Waits until the latest jit-access check on the head satisfies `accept`. */
export function waitForCheck(
  sim: GitHubSimulator,
  repo: string,
  pr: number,
  accept: (check: CheckRunView) => boolean,
  description: string,
): Promise<CheckRunView> {
  return sim.waitFor(
    () => {
      const check = latestCheck(sim, repo, pr);
      return check && accept(check) ? check : null;
    },
    { description },
  );
}

/**
 * Submits a review and waits for the check run the app writes when it has evaluated the pull
 * request again (every evaluation of a request writes one), so a test can then assert what did
 * not happen.
 */
export async function reviewAndWaitForCheck(
  sim: GitHubSimulator,
  repo: string,
  pr: number,
  review: Parameters<GitHubSimulator["submitReview"]>[2],
): Promise<CheckRunView> {
  const before = headChecks(sim, repo, pr).length;
  await sim.submitReview(repo, pr, review);
  return sim.waitFor(() => (headChecks(sim, repo, pr).length > before ? latestCheck(sim, repo, pr) : null), {
    description: `the check run after ${review.reviewer}'s review`,
  });
}

/** The app's requests to one environment secret (or, without `secret`, to any secret of the repository). */
export function secretRequests(sim: GitHubSimulator, repo: string, method: "PUT" | "DELETE", secret?: string): RecordedRequest[] {
  return sim.requests.filter((r) => {
    if (r.method !== method || r.route !== `${method} ${SECRET_ROUTE}`) return false;
    const path = decodeURIComponent(r.path).toLowerCase();
    return (
      path.startsWith(`/repos/${repo.toLowerCase()}/environments/`) &&
      (secret === undefined || path.endsWith(`/secrets/${secret.toLowerCase()}`))
    );
  });
}

/** When the secret was deleted (204), in epoch ms, in order. */
export function deletionTimes(sim: GitHubSimulator, repo: string, secret: string): number[] {
  return secretRequests(sim, repo, "DELETE", secret)
    .filter((r) => r.status === 204)
    .map((r) => r.atMs);
}

/** Every grant (any state) the ledger holds for the repository, read through a read-only connection. */
export async function ledgerGrants(world: World, repo: string, prNumber?: number): Promise<Grant[]> {
  const [owner, name] = repo.split("/") as [string, string];
  const store = await openLedger(world.app.databaseUrl, { readonly: true });
  try {
    return await store.listGrants({ owner, repo: name, liveOnly: false, ...(prNumber === undefined ? {} : { prNumber }) });
  } finally {
    await store.close();
  }
}

/** Every grant (any state) the ledger holds for a repository by GitHub's id, which a rename or transfer keeps. */
export async function ledgerGrantsByRepositoryId(world: World, repositoryId: number, prNumber?: number): Promise<Grant[]> {
  const store = await openLedger(world.app.databaseUrl, { readonly: true });
  try {
    return await store.listGrants({ repositoryId, liveOnly: false, ...(prNumber === undefined ? {} : { prNumber }) });
  } finally {
    await store.close();
  }
}

/** The audit records about one grant, oldest first. */
export async function grantAudit(world: World, grantId: string): Promise<AuditEvent[]> {
  const store = await openLedger(world.app.databaseUrl, { readonly: true });
  try {
    return (await store.listAudit()).filter((event) => event.grantId === grantId);
  } finally {
    await store.close();
  }
}

/** One JSON log line of the app processes (pino), with the fields the lifecycle logs. */
export interface AppLogLine {
  level: number;
  msg: string;
  repository?: string;
  pr?: number;
  trigger?: string;
  outcome?: string;
  grant?: string;
  [field: string]: unknown;
}

/** Every JSON log line the world's app processes wrote so far. */
export function appLogLines(world: World): AppLogLine[] {
  return world
    .outputs()
    .join("\n")
    .split("\n")
    .flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as AppLogLine];
      } catch {
        return [];
      }
    });
}

/** The outcomes of the app's evaluations of a pull request ("pull request evaluated" lines), oldest first. */
export function evaluations(world: World, repo: string, pr: number): { trigger: string; outcome: string }[] {
  return appLogLines(world)
    .filter((line) => line.msg === "pull request evaluated" && line.repository === repo && line.pr === pr)
    .map((line) => ({ trigger: String(line.trigger), outcome: String(line.outcome) }));
}
