import type { Clock } from "../util/clock.js";

/**
 * Keeps part of each installation's rate limit for revocations. Every answer from GitHub says how
 * many requests the installation has left (`x-ratelimit-remaining` of `x-ratelimit-limit`, reset
 * at `x-ratelimit-reset`). Below the floor (a share of the limit), new evaluations wait for the
 * reset, so that requesters and reviewers cannot spend what a due DELETE needs; revocations and
 * their writes never wait here.
 */
export class RateLimitReserve {
  /** `resetAt` is a monotonic-clock reading: a step of the wall clock does not move the reset. */
  readonly #seen = new Map<string, { remaining: number; limit: number; resetAt: number }>();
  readonly #warned = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly log: { warn(obj: object, msg: string): void },
    /** The share of the limit kept for revocations: 0.1 keeps the last 10%. */
    readonly floorShare = 0.1,
  ) {}

  /** Records what an answer's headers say about the installation's (`lane`'s) rate limit. */
  observe(lane: string, headers: Record<string, unknown> | undefined): void {
    const remaining = Number(headers?.["x-ratelimit-remaining"]);
    const limit = Number(headers?.["x-ratelimit-limit"]);
    const reset = Number(headers?.["x-ratelimit-reset"]);
    if (!Number.isFinite(remaining) || !Number.isFinite(limit) || limit <= 0 || !Number.isFinite(reset)) return;
    // The reset is GitHub's wall-clock time; measured against the answer's own Date header it is
    // a duration, which holds on this process's clock whatever skew the two clocks have.
    const date = headers?.["date"];
    const serverNow = typeof date === "string" ? Date.parse(date) : NaN;
    const resetInMs = reset * 1000 - (Number.isFinite(serverNow) ? serverNow : this.clock.now());
    this.#seen.set(lane, { remaining, limit, resetAt: this.clock.monotonic() + Math.max(0, resetInMs) });
    if (remaining > this.#floor(limit)) this.#warned.delete(lane);
  }

  /** Milliseconds a new evaluation for this installation must wait; 0 above the floor or after the reset. */
  waitMs(lane: string): number {
    const seen = this.#seen.get(lane);
    if (seen === undefined || seen.remaining > this.#floor(seen.limit)) return 0;
    return Math.max(0, seen.resetAt - this.clock.monotonic());
  }

  /**
   * What the latest answer said of each installation's limit, and whether new evaluations there
   * wait now: what a metric or a status page would show.
   */
  snapshot(): { installation: string; remaining: number; limit: number; resetAt: number; holding: boolean }[] {
    // The reset as a wall-clock time, for people.
    const toWall = this.clock.now() - this.clock.monotonic();
    return [...this.#seen].map(([lane, seen]) => ({
      installation: lane,
      ...seen,
      resetAt: seen.resetAt + toWall,
      holding: this.waitMs(lane) > 0,
    }));
  }

  /** Waits until a new evaluation may spend this installation's requests. */
  async beforeEvaluation(lane: string): Promise<void> {
    const wait = this.waitMs(lane);
    if (wait === 0) return;
    const seen = this.#seen.get(lane)!;
    if (!this.#warned.has(lane)) {
      this.#warned.add(lane);
      this.log.warn(
        { installation: lane, remaining: seen.remaining, limit: seen.limit, resetAt: new Date(this.clock.now() + wait).toISOString() },
        `installation ${lane} has ${seen.remaining} of ${seen.limit} API requests left: new evaluations wait for the reset so that revocations keep the rest`,
      );
    }
    await new Promise<void>((resolve) => this.clock.setTimer(resolve, wait));
    // The clock may have been moved on in steps; a fresh answer after the reset lifts the floor.
    this.#seen.delete(lane);
  }

  #floor(limit: number): number {
    return Math.floor(limit * this.floorShare);
  }
}
