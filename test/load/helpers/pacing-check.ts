import type { AppRequest } from "../../faults/helpers/request-tracker.js";

/**
 * Checks, from the app's own request log (stamped with the app's clock), that GitHub's pacing
 * rules held for every installation: writes at least `writeMs` apart, comments at least
 * `commentMs` apart, and after a rate-limit answer no write of that installation before the wait
 * GitHub named. Returns one line per breach (an empty list when all held).
 */
export interface PacingRules {
  writeMs: number;
  commentMs: number;
  /** The wait a rate-limited answer asked for (e.g. from the fault's retry-after), or null. */
  rateLimitWaitMs(request: AppRequest): number | null;
}

export function isWrite(request: AppRequest): boolean {
  return request.method !== "GET" && request.method !== "HEAD" && !/^\/app\/installations\/[^/]+\/access_tokens$/.test(request.path);
}

export function isComment(request: AppRequest): boolean {
  return request.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(request.path);
}

/** The repository (`owner/name`) a request is about, or null. */
export function repositoryOf(request: AppRequest): string | null {
  const match = /^\/repos\/([^/]+)\/([^/]+)\//.exec(request.path);
  return match ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}` : null;
}

/** The app's writes, per installation, in the order they were sent. */
export function writesByInstallation(
  requests: readonly AppRequest[],
  installationOf: (repo: string) => number | undefined,
): Map<number, AppRequest[]> {
  const lanes = new Map<number, AppRequest[]>();
  for (const request of requests) {
    if (!isWrite(request)) continue;
    const repo = repositoryOf(request);
    const installation = repo === null ? undefined : installationOf(repo);
    if (installation === undefined) throw new Error(`a write outside the test's repositories: ${request.method} ${request.path}`);
    const lane = lanes.get(installation) ?? [];
    lane.push(request);
    lanes.set(installation, lane);
  }
  return lanes;
}

export function pacingBreaches(lanes: Map<number, AppRequest[]>, rules: PacingRules): string[] {
  const breaches: string[] = [];
  const describe = (r: AppRequest) => `${r.method} ${r.path} at ${r.at}`;
  for (const [installation, writes] of lanes) {
    let lastComment: AppRequest | undefined;
    for (const [i, write] of writes.entries()) {
      const previous = writes[i - 1];
      if (previous) {
        const needed = Math.max(rules.writeMs, rules.rateLimitWaitMs(previous) ?? 0);
        if (write.at - previous.at < needed) {
          breaches.push(
            `installation ${installation}: ${describe(write)} only ${write.at - previous.at} ms after ${describe(previous)} (status ${previous.status}); needs ${needed} ms`,
          );
        }
      }
      if (isComment(write)) {
        if (lastComment && write.at - lastComment.at < rules.commentMs) {
          breaches.push(
            `installation ${installation}: comment ${describe(write)} only ${write.at - lastComment.at} ms after the previous comment`,
          );
        }
        lastComment = write;
      }
    }
  }
  return breaches;
}
