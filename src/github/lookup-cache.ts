import type { Clock } from "../util/clock.js";

/**
 * Answers to permission and membership reads, kept briefly so that events that repeat on one
 * pull request (a redelivery, a dismissal, the run that follows a burst) do not read them again.
 *
 * - The caller puts into the key everything the answer may only be reused for (see
 *   gatherPullRequest: the installation, the repository and the PR's head, so nothing is reused
 *   across heads), and may pass `reuse` to say which kept answers fit the ask at hand.
 * - An answer is reused for `ttlMs` at most (60 s by default, on the monotonic clock: a step of
 *   the wall clock does not keep it longer), however often it is asked for.
 * - Only answers are kept: a read that fails is not, and the next event reads again.
 * - At most `maxEntries` answers are kept; beyond that the oldest go first.
 */
export class LookupCache {
  readonly #entries = new Map<string, { value: unknown; expiresAt: number }>();

  constructor(
    private readonly clock: Clock,
    readonly ttlMs = 60_000,
    readonly maxEntries = 10_000,
  ) {
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1))
      throw new RangeError(`maxEntries must be a whole number of at least 1, got ${maxEntries}`);
    if (!(Number.isFinite(ttlMs) && ttlMs >= 0)) throw new RangeError(`ttlMs must be 0 or more milliseconds, got ${ttlMs}`);
  }

  /**
   * The answer kept for `key` (when `reuse` accepts it), or `read`'s, which is then kept in its
   * place (unless the read fails).
   */
  async get<T>(key: string, read: () => Promise<T>, reuse: (kept: T) => boolean = () => true): Promise<T> {
    const kept = this.#entries.get(key);
    if (kept !== undefined && kept.expiresAt > this.clock.monotonic() && reuse(kept.value as T)) return kept.value as T;
    const value = await read();
    this.#entries.delete(key);
    this.#dropExpired();
    // Every answer lives equally long, so the order of insertion is the order of expiry.
    while (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, expiresAt: this.clock.monotonic() + this.ttlMs });
    return value;
  }

  /** Answers kept now (expired ones may still be counted until the next read). */
  get size(): number {
    return this.#entries.size;
  }

  #dropExpired(): void {
    const now = this.clock.monotonic();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.#entries.delete(key);
    }
  }
}
