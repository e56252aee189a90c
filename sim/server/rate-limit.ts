/**
 * GitHub's primary rate limit: a budget of requests per hour for each installation (shared by
 * all its tokens), one for the app's JWT, and one for unauthenticated requests. Every answer
 * carries the budget in `x-ratelimit-*` headers; an installation or the app that has spent its
 * budget gets 403 "API rate limit exceeded" until the reset.
 */
const WINDOW_MS = 60 * 60 * 1000;

/** GitHub's defaults: 5,000 an hour for installations and apps, 60 for anonymous callers. */
export const DEFAULT_LIMITS = { installation: 5000, app: 5000, anonymous: 60 } as const;

export type RateLimitKey = { kind: "installation"; installationId: number } | { kind: "app" } | { kind: "anonymous" };

export interface RateLimitState {
  limit: number;
  remaining: number;
  used: number;
  /** When the budget is renewed. */
  resetAt: Date;
}

export interface RateLimitSetting {
  /** Requests per hour; kept across resets. Default: the current limit. */
  limit?: number;
  /** Requests left until the reset. Default: the current remaining count (capped at `limit`). */
  remaining?: number;
  /** When the budget is renewed (a Date or epoch milliseconds). Default: the current window's reset. */
  resetAt?: Date | number;
}

interface Window {
  limit: number;
  used: number;
  resetMs: number;
}

export interface RateLimitDecision {
  /** The budget was already spent: answer 403 and do not handle the request. */
  exceeded: boolean;
  headers: Record<string, string>;
}

function keyOf(key: RateLimitKey): string {
  return key.kind === "installation" ? `installation:${key.installationId}` : key.kind;
}

function defaultLimit(key: RateLimitKey): number {
  return DEFAULT_LIMITS[key.kind];
}

export class RateLimits {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly clock: () => Date) {}

  /**
   * Counts one request against `key`'s budget and returns the headers to send. A request that
   * finds the budget spent is not counted and comes back `exceeded` (unauthenticated callers
   * are only reported, never refused, so that tests of bad credentials keep getting 401).
   */
  take(key: RateLimitKey): RateLimitDecision {
    const window = this.window(key);
    const exceeded = key.kind !== "anonymous" && window.used >= window.limit;
    if (!exceeded) window.used += 1;
    return { exceeded, headers: this.headers(window) };
  }

  /** Counts one request against `key`'s budget without refusing it; returns the headers to send. */
  count(key: RateLimitKey): Record<string, string> {
    const window = this.window(key);
    window.used += 1;
    return this.headers(window);
  }

  /** The current budget of `key`. */
  state(key: RateLimitKey): RateLimitState {
    const window = this.window(key);
    return {
      limit: window.limit,
      remaining: Math.max(0, window.limit - window.used),
      used: window.used,
      resetAt: new Date(window.resetMs),
    };
  }

  /** Puts `key`'s budget where a test needs it, e.g. nearly spent. */
  set(key: RateLimitKey, setting: RateLimitSetting): RateLimitState {
    const window = this.window(key);
    const limit = setting.limit ?? window.limit;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`Rate limit "limit" must be a positive integer, got ${String(setting.limit)}.`);
    const remaining = setting.remaining ?? Math.min(limit, Math.max(0, window.limit - window.used));
    if (!Number.isInteger(remaining) || remaining < 0 || remaining > limit) {
      throw new Error(`Rate limit "remaining" must be an integer from 0 to the limit (${limit}), got ${String(setting.remaining)}.`);
    }
    const resetMs =
      setting.resetAt === undefined ? window.resetMs : setting.resetAt instanceof Date ? setting.resetAt.getTime() : setting.resetAt;
    if (!Number.isFinite(resetMs))
      throw new Error(`Rate limit "resetAt" must be a Date or epoch milliseconds, got ${String(setting.resetAt)}.`);
    if (resetMs <= this.clock().getTime())
      throw new Error(`Rate limit "resetAt" must be in the future (simulator clock: ${this.clock().toISOString()}).`);
    Object.assign(window, { limit, used: limit - remaining, resetMs });
    return this.state(key);
  }

  /** The window for `key`, renewed (same limit, nothing used) once its reset time has passed. */
  private window(key: RateLimitKey): Window {
    const now = this.clock().getTime();
    const name = keyOf(key);
    let window = this.windows.get(name);
    if (!window) {
      window = { limit: defaultLimit(key), used: 0, resetMs: now + WINDOW_MS };
      this.windows.set(name, window);
    } else if (now >= window.resetMs) {
      window.used = 0;
      window.resetMs = now + WINDOW_MS;
    }
    return window;
  }

  private headers(window: Window): Record<string, string> {
    return {
      "x-ratelimit-limit": String(window.limit),
      "x-ratelimit-remaining": String(Math.max(0, window.limit - window.used)),
      "x-ratelimit-reset": String(Math.ceil(window.resetMs / 1000)),
      "x-ratelimit-used": String(Math.min(window.used, window.limit)),
      "x-ratelimit-resource": "core",
    };
  }
}
