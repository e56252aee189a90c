import type { GitHubSimulator } from "../../sim/index.js";

/**
 * The repositories, catalog and request pull requests the scenarios run on. Every pull request
 * asks for one secret in environment `production`; within a repository each pull request asks
 * for a different secret, so a PUT or DELETE names the grant it belongs to.
 */
export const ENVIRONMENT = "production";
export const AUTHOR = "alice";
export const APPROVER = "bob";
const REQUESTS_FILE = "jit-requests.yml";

export function secretName(index: number): string {
  return `BENCH_SECRET_${String(index + 1).padStart(3, "0")}`;
}

/**
 * A catalog of `count` secrets, each from `env:<name>`, allowed everywhere in `production`, with
 * the approver as the one who may approve (a wildcard needs `approvers`).
 */
export function benchCatalog(count: number): string {
  const entries = Array.from({ length: count }, (_, i) => {
    const name = secretName(i);
    return `  ${name}:\n    source: env:${name}\n    repositories: ["*/*"]\n    approvers: ["@${APPROVER}"]\n    environments: [${ENVIRONMENT}]\n    max_duration: 8h\n    approvals: 1\n`;
  });
  return `secrets:\n${entries.join("")}`;
}

/** The values the app reads for the catalog's `env:` sources (benchmark-only, never real). */
export function benchSecretValues(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [secretName(i), `bench-only-value-${i + 1}-not-a-secret`]));
}

export function requestsFile(secret: string, duration: string): string {
  return `requests:\n  - secret: ${secret}\n    environment: ${ENVIRONMENT}\n    duration: ${duration}\n    reason: "INC-1: benchmark"\n`;
}

export interface Layout {
  /** One installation per owner. */
  owners: number;
  reposPerOwner: number;
  prsPerRepo: number;
  /** Owner name prefix, so two layouts in one simulator do not collide. */
  prefix?: string;
  /** Installation ids from this one up, one per owner; default: the simulator's own numbering. */
  installationIdBase?: number;
}

export interface BenchPull {
  repo: string;
  number: number;
  secret: string;
  installationId: number;
}

/** Creates the repositories of `layout` (CODEOWNERS: @bob owns the requests file). */
export function createRepos(sim: GitHubSimulator, layout: Layout): { repo: string; installationId: number }[] {
  sim.addUser(AUTHOR);
  sim.addUser(APPROVER);
  const repos: { repo: string; installationId: number }[] = [];
  for (let o = 0; o < layout.owners; o++) {
    for (let r = 0; r < layout.reposPerOwner; r++) {
      const name = `${layout.prefix ?? "org"}${String(o + 1).padStart(4, "0")}/svc-${r + 1}`;
      const created = sim.createRepo(name, {
        collaborators: { [AUTHOR]: "write", [APPROVER]: "write" },
        environments: [ENVIRONMENT],
        files: { ".github/CODEOWNERS": `${REQUESTS_FILE} @${APPROVER}\n`, [REQUESTS_FILE]: "requests: []\n" },
        ...(layout.installationIdBase === undefined ? {} : { installationId: layout.installationIdBase + o }),
      });
      repos.push({ repo: name, installationId: created.installationId! });
    }
  }
  return repos;
}

/**
 * Opens `prsPerRepo` request pull requests in every repository, pull request k asking for
 * secret k. With `deliver: false` the app does not see them open (their approval is then the
 * first event it gets, and evaluates everything from scratch as it always does).
 */
export async function openRequestPulls(
  sim: GitHubSimulator,
  repos: { repo: string; installationId: number }[],
  prsPerRepo: number,
  options: { duration: string; deliver: boolean },
): Promise<BenchPull[]> {
  const pulls: BenchPull[] = [];
  for (let k = 0; k < prsPerRepo; k++) {
    for (const { repo, installationId } of repos) {
      const secret = secretName(k);
      const branch = `request-${k + 1}`;
      sim.commit(repo, branch, { [REQUESTS_FILE]: requestsFile(secret, options.duration) }, { from: "main", author: AUTHOR });
      const number = await sim.openPullRequest(repo, {
        head: branch,
        base: "main",
        author: AUTHOR,
        title: `Access to ${secret}`,
        deliver: options.deliver,
      });
      pulls.push({ repo, number, secret, installationId });
    }
  }
  return pulls;
}
