import type { GitHubSimulator } from "../../../sim/index.js";

/**
 * Request pull requests in the simulator, as people make them: a repository whose CODEOWNERS
 * makes @bob the owner of jit-requests.yml, a branch by @alice that adds an entry, the PR, and
 * @bob's approval.
 */
export const REQUESTER = "alice";
export const OWNER = "bob";

export function requestsFile(entries: { secret?: string; environment?: string; duration: string; reason?: string }[]): string {
  const lines = entries.flatMap((e, i) => [
    `  - secret: ${e.secret ?? "PROD_DB_URL"}`,
    `    environment: ${e.environment ?? "production"}`,
    `    duration: ${e.duration}`,
    `    reason: "${e.reason ?? `INC-${4200 + i}: inspect stuck migrations`}"`,
  ]);
  return `requests:\n${lines.join("\n")}\n`;
}

export function createRequestRepo(
  sim: GitHubSimulator,
  fullName: string,
  options: { installationId?: number; environments?: string[] } = {},
): void {
  sim.addUser(REQUESTER);
  sim.addUser(OWNER);
  sim.createRepo(fullName, {
    ...(options.installationId === undefined ? {} : { installationId: options.installationId }),
    collaborators: { [REQUESTER]: "write", [OWNER]: "write" },
    environments: options.environments ?? ["production"],
    files: { ".github/CODEOWNERS": `jit-requests.yml @${OWNER}\n`, "jit-requests.yml": "requests: []\n" },
  });
}

let branches = 0;

/** Commits a requests file on a new branch and opens the PR (delivering `opened` unless told not to). */
export async function openRequest(
  sim: GitHubSimulator,
  repo: string,
  duration = "2h",
  options: { deliver?: boolean } = {},
): Promise<number> {
  branches += 1;
  const branch = `need-access-${branches}`;
  sim.commit(repo, branch, { "jit-requests.yml": requestsFile([{ duration }]) }, { from: "main", author: REQUESTER });
  return sim.openPullRequest(repo, {
    head: branch,
    base: "main",
    author: REQUESTER,
    title: "Access to PROD_DB_URL",
    deliver: options.deliver ?? true,
  });
}

/** @bob approves the PR's head; resolves when the app has answered the delivery. */
export function approve(sim: GitHubSimulator, repo: string, pr: number, options: { deliver?: boolean } = {}): Promise<number> {
  return sim.submitReview(repo, pr, { reviewer: OWNER, state: "APPROVED", deliver: options.deliver ?? true });
}

export const SECRET_PUT = "PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}";
export const SECRET_DELETE = "DELETE /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}";

/** How many requests the simulator saw for an OpenAPI route (e.g. SECRET_PUT), optionally only successful ones. */
export function countRoute(sim: GitHubSimulator, route: string, options: { ok?: boolean } = {}): number {
  return sim.requests.filter((r) => r.route === route && (!options.ok || (r.status >= 200 && r.status < 300))).length;
}
