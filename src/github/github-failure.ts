/**
 * One vocabulary for what a failed GitHub request means, used by every path that talks to
 * GitHub (grant, revoke, sweep, gate, CLI):
 * - `transient`: worth trying again later — a server error (5xx), 408, a request GitHub did not
 *   answer in time (RequestTimeoutError) or a network failure, or a rate limit (with its wait);
 * - `refused`: GitHub answered with a 4xx that trying again will not change, with its status;
 * - `lost-access`: the app cannot reach a repository it holds grants in (LostAccessError);
 * - `not-github`: an error of the app's own (no HTTP status), a bug or a bad input, never retried.
 * Each comes with one summary string: the error's first line, cut short.
 */
import { errorSummary } from "../util/error-message.js";
import { rateLimitWait } from "./rate-limit-wait.js";
import { RequestTimeoutError } from "./request-timeout.js";

export type GitHubFailureKind = "transient" | "refused" | "lost-access" | "not-github";

export interface GitHubFailure {
  kind: GitHubFailureKind;
  /** The HTTP status GitHub answered with, when it answered. */
  status: number | undefined;
  /** How long GitHub asked for nothing more to be sent, when it is a rate limit; else null. */
  rateLimitWaitMs: number | null;
  summary: string;
}

/** The app cannot reach a repository it holds grants in: nothing there can be concluded, least of all "already gone". */
export class LostAccessError extends Error {
  override name = "LostAccessError";
  constructor(
    readonly repository: string,
    options?: { cause?: unknown },
  ) {
    super(`the app cannot reach ${repository}: removed from the installation, or the repository transferred or deleted?`, options);
  }
}

/** The HTTP status of an Octokit RequestError (or of an error that carries one), or undefined. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number" ? error.status : undefined;
}

/** What `error` means, as of `nowMs` on the app's wall clock (for a rate limit's reset time). */
export function classifyGitHubFailure(error: unknown, nowMs: number): GitHubFailure {
  const status = statusOf(error);
  const summary = errorSummary(error);
  const waitMs = rateLimitWait(error, nowMs);
  if (waitMs !== null) return { kind: "transient", status, rateLimitWaitMs: waitMs, summary };
  const failure = (kind: GitHubFailureKind): GitHubFailure => ({ kind, status, rateLimitWaitMs: null, summary });
  if (causes(error).some((e) => e instanceof LostAccessError)) return failure("lost-access");
  // No answer in time, however deep it is wrapped (a step of the grant path keeps its cause).
  if (causes(error).some((e) => e instanceof RequestTimeoutError)) return failure("transient");
  if (status === undefined) return failure("not-github");
  // Octokit reports a network failure (no answer at all) as status 500.
  if (status >= 500 || status === 408) return failure("transient");
  return failure("refused");
}

/** `error` and the errors it was caused by, outermost first (a bounded walk: causes may form a cycle). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 8; e = (e as { cause?: unknown }).cause) {
    chain.push(e);
    if (typeof e !== "object") break;
  }
  return chain;
}
