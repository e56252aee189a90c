import type { Clock } from "../util/clock.js";

/** How long the app waits for GitHub to answer one request before abandoning it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * GitHub did not answer in time and the request was abandoned. For a write the outcome is
 * unknown: it may or may not have taken effect. It has no HTTP status (GitHub sent none);
 * `classifyGitHubFailure` names it transient, worth trying again.
 */
export class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
  constructor(method: string, url: string, timeoutMs: number, options: { cause: unknown }) {
    super(`GitHub did not answer ${method} ${url} within ${timeoutMs / 1000} s; the request was abandoned`, options);
  }
}

export type RequestOptions = {
  method: string;
  url: string;
  request?: { signal?: AbortSignal } & Record<string, unknown>;
  [key: string]: unknown;
};

/**
 * Sends one request with a deadline on the app's clock: an AbortSignal (combined with the
 * caller's own, if any) aborts it after `timeoutMs`, and the caller gets a RequestTimeoutError.
 * Without it a connection that never answers holds its installation's write lane — revocations
 * included — until the HTTP client gives up minutes later.
 *
 * The signal is set on `options` itself: Octokit's request hooks all share one options object
 * (a hook's `request(newOptions)` argument is ignored by the hooks inside it).
 */
export async function sendWithTimeout<T>(
  send: (options: RequestOptions) => Promise<T>,
  options: RequestOptions,
  timing: { clock: Clock; timeoutMs: number; callerSignal: AbortSignal | undefined },
): Promise<T> {
  const { clock, timeoutMs, callerSignal } = timing;
  const deadline = new AbortController();
  const timer = clock.setTimer(() => deadline.abort(), timeoutMs);
  options.request = { ...options.request, signal: callerSignal ? AbortSignal.any([callerSignal, deadline.signal]) : deadline.signal };
  try {
    return await send(options);
  } catch (error) {
    // An answer that arrived (even just before the deadline) is GitHub's, not a timeout.
    if (deadline.signal.aborted && !callerSignal?.aborted && !hasResponse(error)) {
      throw new RequestTimeoutError(options.method, options.url, timeoutMs, { cause: error });
    }
    throw error;
  } finally {
    timer.cancel();
  }
}

function hasResponse(error: unknown): boolean {
  return typeof error === "object" && error !== null && "response" in error && error.response !== undefined;
}
