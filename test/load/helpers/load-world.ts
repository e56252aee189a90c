import Database from "better-sqlite3";
import type { GitHubSimulator } from "../../../sim/index.js";
import { openLedger } from "../../../src/ledger/open-ledger.js";
import { configureConnection, sqliteFilename } from "../../../src/ledger/sqlite-open.js";
import { SqliteStore } from "../../../src/ledger/sqlite-store.js";
import type { Grant } from "../../../src/ledger/store.js";
import { createRequestRepo, OWNER, REQUESTER, requestsFile } from "../../faults/helpers/request-prs.js";

/**
 * Many repositories spread over many installations, for the load tests: GitHub paces writes
 * per installation (one a second, comments three seconds apart), so spreading the work is what
 * keeps a realistic load within the test's time.
 */
export interface LoadRepo {
  fullName: string;
  installationId: number;
}

/** `JIT_LOAD=full` runs the sizes of the hardening issue; otherwise a smaller version of each. */
export const FULL = process.env.JIT_LOAD === "full";

export function scaled<T>(small: T, full: T): T {
  return FULL ? full : small;
}

/** `repos` repositories in `installations` installations (round robin), named load-<installation>/r<n>. */
export function createRepos(sim: GitHubSimulator, repos: number, installations: number): LoadRepo[] {
  return Array.from({ length: repos }, (_, n) => {
    const installationId = 1000 + (n % installations);
    const fullName = `load-${installationId}/r${n}`;
    createRequestRepo(sim, fullName, { installationId });
    return { fullName, installationId };
  });
}

/** Opens a request PR for each listed secret name without delivering the webhook (for seeded grants). */
export async function openQuietPullRequest(
  sim: GitHubSimulator,
  repo: string,
  branch: string,
  secrets: string[],
): Promise<{ number: number; headSha: string }> {
  const headSha = sim.commit(
    repo,
    branch,
    { "jit-requests.yml": requestsFile(secrets.map((secret) => ({ secret, duration: "1h" }))) },
    { from: "main", author: REQUESTER },
  );
  const number = await sim.openPullRequest(repo, { head: branch, author: REQUESTER, deliver: false });
  return { number, headSha };
}

export interface SeedGrant {
  repo: LoadRepo;
  prNumber: number;
  headSha: string;
  secret: string;
  grantedAt: number;
  durationMs: number;
}

/**
 * Writes active grants straight into a ledger file, as an earlier run of the app would have left
 * them, through the store's own API (one seeding connection without fsync per row, so that ten
 * thousand rows take seconds, not minutes).
 */
export async function seedLedger(databaseUrl: string, seeds: SeedGrant[]): Promise<void> {
  await (await openLedger(databaseUrl)).close();
  const db = new Database(sqliteFilename(databaseUrl));
  configureConnection(db, { readonly: false });
  db.pragma("synchronous = OFF");
  const store = new SqliteStore(db);
  try {
    for (const [i, seed] of seeds.entries()) {
      const [owner, name] = seed.repo.fullName.split("/") as [string, string];
      const { grant } = await store.beginGrant({
        installationId: seed.repo.installationId,
        owner,
        repo: name,
        environment: "production",
        secret: seed.secret,
        requester: { id: 1, login: REQUESTER },
        prNumber: seed.prNumber,
        headSha: seed.headSha,
        approvers: [{ id: 2, login: OWNER }],
        reason: `INC-${i}: load`,
        durationMs: seed.durationMs,
        requestKey: `seed-${i}`,
        createdAt: new Date(seed.grantedAt),
        expiresAt: new Date(seed.grantedAt + seed.durationMs),
      });
      await store.markActive(grant.id, new Date(seed.grantedAt));
    }
  } finally {
    await store.close();
  }
}

/**
 * Counts the simulator's successful requests for an OpenAPI route, looking only at requests
 * recorded since the last call: cheap enough to ask after every step of a long run.
 */
export function successCounter(sim: GitHubSimulator, route: string | readonly string[]): () => number {
  const routes: readonly string[] = typeof route === "string" ? [route] : route;
  let seen = 0;
  let count = 0;
  return () => {
    for (; seen < sim.requests.length; seen++) {
      const request = sim.requests[seen]!;
      if (request.route !== null && routes.includes(request.route) && request.status >= 200 && request.status < 300) count++;
    }
    return count;
  };
}

export const ADD_LABELS = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels";
/**
 * A grant's end labels its PR once: "add labels" while another grant of the PR is live, "set
 * labels" (taking `jit:granted` off) after the last.
 */
export const END_LABELS = [ADD_LABELS, "PUT /repos/{owner}/{repo}/issues/{issue_number}/labels"] as const;
export const CREATE_COMMENT = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";

/** Lateness of each grant's end: how long after its expiry (or `from`, if later) it ended. */
export function lateness(grants: Grant[], from: number): number[] {
  return grants.map((g) => g.endedAt!.getTime() - Math.max(g.expiresAt.getTime(), from));
}

export function summary(values: number[]): { max: number; p50: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { max: sorted.at(-1) ?? 0, p50: at(0.5), p95: at(0.95) };
}

/** Prints one result line of a load test (kept to the point: what ran, how long, the bounds). */
export function report(title: string, lines: Record<string, string | number>): void {
  const body = Object.entries(lines)
    .map(([key, value]) => `  ${key}: ${value}`)
    .join("\n");
  process.stdout.write(`\n[load] ${title}\n${body}\n`);
}
