/**
 * How long GitHub asked us to wait, from an error response: `retry-after` (secondary rate
 * limits, abuse detection), `x-ratelimit-reset` when the primary quota is spent, or GitHub's
 * documented one-minute fallback for a secondary limit without `retry-after`.
 * Returns null when the error is not a rate limit.
 *
 * The reset is GitHub's wall-clock time: it is measured against the answer's own `date` header
 * when there is one, so the wait holds whatever skew or step the app's clock has (`nowMs`, the
 * app's wall clock, is the fallback).
 */
export function rateLimitWait(error: unknown, nowMs: number): number | null {
  if (typeof error !== "object" || error === null) return null;
  const { status, message, response } = error as {
    status?: number;
    message?: string;
    response?: { headers?: Record<string, string | number | undefined> };
  };
  if (status !== 403 && status !== 429) return null;
  const headers = response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0 && headers["retry-after"] !== undefined) {
    return retryAfter * 1000;
  }
  if (String(headers["x-ratelimit-remaining"]) === "0") {
    const reset = Number(headers["x-ratelimit-reset"]);
    const serverNow = Date.parse(String(headers["date"] ?? ""));
    if (Number.isFinite(reset)) return Math.max(0, reset * 1000 - (Number.isFinite(serverNow) ? serverNow : nowMs)) + 1000;
  }
  // GitHub's fallback for a limit that names no wait: a minute (a 403 that is not a rate limit is a refusal).
  if (status === 429 || /rate limit|abuse/i.test(message ?? "")) return 60_000;
  return null;
}
