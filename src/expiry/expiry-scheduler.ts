import { LedgerClosedError, type Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../lifecycle/deps.js";
import type { TimerHandle } from "../util/clock.js";
import { retryDeferredGrants } from "../lifecycle/retry-deferred-grants.js";
import { expireGrant, sweepOnce, type SweepOptions, type SweepResult } from "./sweep.js";

/**
 * Ends grants on time while the server runs: an exact timer for each grant due before the next
 * sweep, and a periodic sweep (JIT_SWEEP_INTERVAL) as the safety net that also retries failed
 * revocations. At start the first sweep runs at once, so grants that expired while the app was
 * down are revoked immediately.
 *
 * Every piece of work it starts (a tick, a sweep, a timer's revocation) is tracked: `idle()`
 * resolves once none is running, and `stop()` cancels the timers, lets a running sweep finish
 * the revocations it has started (reading no further page), and resolves when all of it is
 * done, so the ledger can be closed after it without anything still using it.
 */
export class ExpiryScheduler {
  readonly #deps: LifecycleDeps;
  readonly #log: Log;
  readonly #intervalMs: number;
  readonly #sweepOptions: Pick<SweepOptions, "pageSize" | "concurrency">;
  readonly #timers = new Map<string, TimerHandle>();
  readonly #inFlight = new Set<string>();
  /** Ticks, sweeps and timer revocations still running. None of these promises rejects. */
  readonly #work = new Set<Promise<void>>();
  #sweepTimer: TimerHandle | null = null;
  #sweeping: Promise<SweepResult> | null = null;
  #retrying: Promise<number> | null = null;
  #stopping = new AbortController();
  #stopped = true;

  /** `sweepOptions` tunes each sweep's page size and concurrency (defaults: `sweepOnce`'s). */
  constructor(deps: LifecycleDeps, log: Log, intervalMs: number, sweepOptions: Pick<SweepOptions, "pageSize" | "concurrency"> = {}) {
    this.#deps = deps;
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#sweepOptions = sweepOptions;
  }

  /** Starts the periodic sweep; resolves when the first one (run at once) is done. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#stopping = new AbortController();
    await this.#hold(this.#tick());
  }

  /**
   * Stops: no timer fires and no sweep starts from now on; a sweep under way reads no further
   * page and starts no further revocation. Resolves once the work already started has finished
   * (revocations run to the end, so the ledger records their outcome). Safe to call twice.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#sweepTimer?.cancel();
    this.#sweepTimer = null;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    await this.idle();
  }

  /**
   * Resolves once no work of the scheduler is running: no tick, sweep or timer revocation,
   * including work that the running work started meanwhile. Timers not yet due do not count.
   */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.all(this.#work);
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
      this.#deps.clock.setTimer(() => void this.#hold(this.#fire(grant)), Math.max(0, delay)),
    );
  }

  /** Runs one sweep now (also what the periodic timer does); shares one already under way. */
  sweep(): Promise<SweepResult> {
    if (!this.#sweeping) {
      const sweeping = sweepOnce(this.#deps, this.#log, {
        ...this.#sweepOptions,
        inFlight: this.#inFlight,
        signal: this.#stopping.signal,
      }).finally(() => {
        this.#sweeping = null;
      });
      this.#sweeping = sweeping;
      void this.#hold(sweeping.then(() => undefined, () => undefined));
    }
    return this.#sweeping;
  }

  /** Tracks `work` until it settles; `work` must not reject. */
  #hold(work: Promise<void>): Promise<void> {
    this.#work.add(work);
    return work.finally(() => this.#work.delete(work));
  }

  async #fire(grant: Grant): Promise<void> {
    this.#timers.delete(grant.id);
    if (this.#stopped || this.#inFlight.has(grant.id)) return;
    this.#inFlight.add(grant.id);
    try {
      const current = await this.#deps.store.getGrant(grant.id);
      if (current && (current.state === "active" || current.state === "granting")) await expireGrant(this.#deps, current, this.#log);
    } catch (error) {
      if (error instanceof LedgerClosedError) {
        this.#log.info({ grant: grant.id }, "the ledger closed before the expiry timer's revocation ended; the grant stays due");
      } else {
        this.#log.error({ grant: grant.id, error: messageOf(error) }, "expiry timer failed; the sweep will retry");
      }
    } finally {
      this.#inFlight.delete(grant.id);
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    // The next tick comes an interval from now, however long this one takes: a sweep that waits
    // minutes for paced writes (a backlog at start-up) must not leave the grants that fall due
    // meanwhile without their exact timers. Overlapping ticks share the sweep and the retries.
    this.#sweepTimer = this.#deps.clock.setTimer(() => void this.#hold(this.#tick()), this.#intervalMs);
    try {
      await this.#armTimers({ includeDue: false });
      const result = await this.sweep();
      if (result.due > 0) this.#log.info({ ...result }, "sweep done");
      if (this.#stopped) return;
      this.#retrying ??= retryDeferredGrants(this.#deps, this.#log).finally(() => {
        this.#retrying = null;
      });
      await this.#retrying;
      await this.#armTimers({ includeDue: true });
    } catch (error) {
      if (error instanceof LedgerClosedError) {
        this.#log.info({ error: error.message }, "the ledger closed during the sweep; the grants left stay due");
      } else {
        this.#log.error({ error: messageOf(error) }, "sweep failed; retrying at the next interval");
      }
    }
  }

  /**
   * Arms timers for the grants due before the next tick. Grants already due are the sweep's (it
   * bounds how many run at once), so before the sweep they are left out; after it, any it left
   * are armed too.
   */
  async #armTimers({ includeDue }: { includeDue: boolean }): Promise<void> {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    const soon = await this.#deps.store.expiringBy(new Date(now + this.#intervalMs));
    for (const grant of soon) if (includeDue || grant.expiresAt.getTime() > now) this.track(grant);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error);
}
