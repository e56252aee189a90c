import type { RecordedRequest } from "../../sim/index.js";

/** Reading the simulator's request log: times, counts by operation. */

export const ROUTES = {
  putSecret: "PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
  deleteSecret: "DELETE /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
  createCheckRun: "POST /repos/{owner}/{repo}/check-runs",
  installationToken: "POST /app/installations/{installation_id}/access_tokens",
  addLabels: "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
  setLabels: "PUT /repos/{owner}/{repo}/issues/{issue_number}/labels",
  createComment: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
} as const;

/** Requests by OpenAPI operation (e.g. "GET /repos/{owner}/{repo}"), most frequent first. */
export function countByRoute(requests: readonly RecordedRequest[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const request of requests) {
    const key = request.route ?? `${request.method} ${request.path} (unmatched)`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** `owner/repo` and the rest of a `/repos/{owner}/{repo}/…` path (decoded), or null. */
export function repoOf(path: string): { repo: string; rest: string } | null {
  const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  if (!match) return null;
  return { repo: `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`, rest: decodeURIComponent(match[3] ?? "") };
}

/** The secret a PUT or DELETE of an environment secret names: `owner/repo env NAME`. */
export function secretKeyOf(path: string): string | null {
  const parsed = repoOf(path);
  const match = parsed && /^\/environments\/([^/]+)\/secrets\/([^/]+)$/.exec(parsed.rest);
  if (!parsed || !match || match[2] === "public-key") return null;
  return secretKey(parsed.repo, match[1]!, match[2]!);
}

export function secretKey(repo: string, environment: string, secret: string): string {
  return `${repo.toLowerCase()} ${environment.toLowerCase()} ${secret.toUpperCase()}`;
}
