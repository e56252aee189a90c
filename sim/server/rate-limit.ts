/** GitHub's primary rate limit headers: 5,000 requests per hour per credential. */
const LIMIT = 5000;
const WINDOW_MS = 60 * 60 * 1000;

export class RateLimits {
  private readonly windows = new Map<string, { startMs: number; used: number }>();

  constructor(private readonly clock: () => Date) {}

  /** Counts one request for `credentialKey` and returns the headers to send. */
  consume(credentialKey: string): Record<string, string> {
    const now = this.clock().getTime();
    let window = this.windows.get(credentialKey);
    if (!window || now - window.startMs >= WINDOW_MS) {
      window = { startMs: now, used: 0 };
      this.windows.set(credentialKey, window);
    }
    window.used += 1;
    return {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(Math.max(0, LIMIT - window.used)),
      "x-ratelimit-reset": String(Math.ceil((window.startMs + WINDOW_MS) / 1000)),
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-resource": "core",
    };
  }
}
