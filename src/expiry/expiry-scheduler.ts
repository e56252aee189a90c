import type { Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../lifecycle/deps.js";
import type { TimerHandle } from "../util/clock.js";
import { retryDeferredGrants } from "../lifecycle/retry-deferred-grants.js";
import { expireGrant, sweepOnce, type SweepResult } from "./sweep.js";

/**
 * Ends grants on time while the server runs: an exact timer for each grant due before the next
 * sweep, and a periodic sweep (JIT_SWEEP_INTERVAL) as the safety net that also retries failed
 * revocations. At start the first sweep runs at once, so grants that expired while the app was
 * down are revoked immediately.
 */
export class ExpiryScheduler {
  readonly #deps: LifecycleDeps;
  readonly #log: Log;
  readonly #intervalMs: number;
  readonly #timers = new Map<string, TimerHandle>();
  readonly #inFlight = new Set<string>();
  #sweepTimer: TimerHandle | null = null;
  #sweeping: Promise<SweepResult> | null = null;
  #retrying: Promise<number> | null = null;
  #stopped = true;

  constructor(deps: LifecycleDeps, log: Log, intervalMs: number) {
    this.#deps = deps;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#sweepTimer?.cancel();
    this.#sweepTimer = null;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
  }

  /** Exact timers armed right now (for tests and diagnostics). */
  get armed(): number {
    return this.#timers.size;
  }

  /** A grant became active: arm its timer if it is due before the next sweep. */
  track(grant: Grant): void {
    if (this.#stopped) return;
    // A grant backing off after a failed revocation is left to the sweep, which honours the backoff.
    if (grant.nextAttemptAt && grant.nextAttemptAt.getTime() > this.#deps.clock.now()) return;
    const delay = grant.expiresAt.getTime() - this.#deps.clock.now();
    if (delay > this.#intervalMs) return;
    if (this.#timers.has(grant.id)) return;
    this.#timers.set(
      grant.id,
      this.#deps.clock.setTimer(() => void this.#fire(grant), Math.max(0, delay)),
    );
  }

  /** Runs one sweep now (also what the periodic timer does). */
  sweep(): Promise<SweepResult> {
    this.#sweeping ??= sweepOnce(this.#deps, this.#log, { inFlight: this.#inFlight }).finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  async #fire(grant: Grant): Promise<void> {
    this.#timers.delete(grant.id);
    if (this.#stopped || this.#inFlight.has(grant.id)) return;
    this.#inFlight.add(grant.id);
    try {
      const current = await this.#deps.store.getGrant(grant.id);
      if (current && (current.state === "active" || current.state === "granting")) await expireGrant(this.#deps, current, this.#log);
    } catch (error) {
      this.#log.error({ grant: grant.id, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "expiry timer failed; the sweep will retry");
    } finally {
      this.#inFlight.delete(grant.id);
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    // The next tick comes an interval from now, however long this one takes: a sweep that waits
    // minutes for paced writes (a backlog at start-up) must not leave the grants that fall due
    // meanwhile without their exact timers. Overlapping ticks share the sweep and the retries.
    this.#sweepTimer = this.#deps.clock.setTimer(() => void this.#tick(), this.#intervalMs);
    try {
      await this.#armTimers({ includeDue: false });
      const result = await this.sweep();
      if (result.due > 0) this.#log.info({ ...result }, "sweep done");
      this.#retrying ??= retryDeferredGrants(this.#deps, this.#log).finally(() => {
        this.#retrying = null;
      });
      await this.#retrying;
      await this.#armTimers({ includeDue: true });
    } catch (error) {
      this.#log.error({ error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "sweep failed; retrying at the next interval");
    }
  }

  /**
   * Arms timers for the grants due before the next tick. Grants already due are the sweep's (it
   * bounds how many run at once), so before the sweep they are left out; after it, any it left
   * are armed too.
   */
  async #armTimers({ includeDue }: { includeDue: boolean }): Promise<void> {
    const now = this.#deps.clock.now();
    const soon = await this.#deps.store.expiringBy(new Date(now + this.#intervalMs));
    for (const grant of soon) if (includeDue || grant.expiresAt.getTime() > now) this.track(grant);
  }
}
