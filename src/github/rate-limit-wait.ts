/**
 * How long GitHub asked us to wait, from an error response: `retry-after` (secondary rate
 * limits, abuse detection), `x-ratelimit-reset` when the primary quota is spent, or GitHub's
 * documented one-minute fallback for a secondary limit without `retry-after`.
 * Returns null when the error is not a rate limit.
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
    if (Number.isFinite(reset)) return Math.max(0, reset * 1000 - nowMs) + 1000;
  }
  if (status === 429 || /secondary rate limit|abuse/i.test(message ?? "")) return 60_000;
  return null;
}
