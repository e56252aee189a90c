import { LedgerClosedError, type Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../lifecycle/deps.js";
import type { TimerHandle } from "../util/clock.js";
import { retryDeferredGrants } from "../lifecycle/retry-deferred-grants.js";
import { expireGrant, sweepOnce, type SweepOptions, type SweepResult } from "./sweep.js";

/**
 * After this many sweeps in a row fail (a page of due grants could not be read: a damaged or
 * unreachable ledger), the scheduler reports itself failing: `/readyz` turns red and the log says
 * so at error. Three, so that one lost connection or a locked file does not page anyone, and a
 * ledger that stays broken does within three sweep intervals (3 minutes by default).
 */
export const SWEEP_FAILURES_UNTIL_UNREADY = 3;

export interface SweepHealth {
  failedInARow: number;
  lastError: string | null;
  /** `failedInARow` has reached `SWEEP_FAILURES_UNTIL_UNREADY`. */
  failing: boolean;
}

/**
 * Ends grants on time while the server runs: an exact timer for each grant due before the next
 * sweep, and a periodic sweep (JIT_SWEEP_INTERVAL) as the safety net that also retries failed
 * revocations. At start the first sweep runs at once, so grants that expired while the app was
 * down are revoked immediately. Failing to arm the timers never skips the sweep; sweeps that
 * fail in a row are counted (`sweepHealth`). Revoke-only (the catalog failed to load), the
 * sweep and the timers run as ever, deferred grants are not retried, and every tick logs the
 * catalog's error.
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
  #failedInARow = 0;
  #lastSweepError: string | null = null;

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
    if (this.#deps.revokeOnly) {
      this.#log.error(
        { catalogError: this.#deps.revokeOnly.why },
        "the catalog failed to load: running revoke-only (grants end on time; nothing is granted and deferred grants are not retried until the catalog is fixed and the app restarted)",
      );
    }
    // Timers are the precision, the sweep is the safety net: failing to arm them never skips it.
    await this.#armTimersOrLog({ includeDue: false });
    let result: SweepResult;
    try {
      result = await this.sweep();
    } catch (error) {
      if (error instanceof LedgerClosedError) {
        this.#log.info({ error: error.message }, "the ledger closed during the sweep; the grants left stay due");
      } else {
        this.#sweepFailed(error);
      }
      return;
    }
    this.#sweepSucceeded();
    if (result.due > 0) this.#log.info({ ...result }, "sweep done");
    if (this.#stopped) return;
    if (!this.#deps.revokeOnly) {
      try {
        this.#retrying ??= retryDeferredGrants(this.#deps, this.#log).finally(() => {
          this.#retrying = null;
        });
        await this.#retrying;
      } catch (error) {
        if (!(error instanceof LedgerClosedError)) this.#log.error({ error: messageOf(error) }, "retrying deferred grants failed; retrying at the next interval");
      }
    }
    await this.#armTimersOrLog({ includeDue: true });
  }

  /** Sweeps that failed in a row (0 once one runs through), and the last failure's message. */
  get sweepHealth(): SweepHealth {
    return { failedInARow: this.#failedInARow, lastError: this.#lastSweepError, failing: this.#failedInARow >= SWEEP_FAILURES_UNTIL_UNREADY };
  }

  #sweepFailed(error: unknown): void {
    this.#failedInARow++;
    this.#lastSweepError = messageOf(error);
    this.#log.error({ error: this.#lastSweepError, failedInARow: this.#failedInARow }, "sweep failed; retrying at the next interval");
    if (this.#failedInARow === SWEEP_FAILURES_UNTIL_UNREADY) {
      this.#log.error(
        { error: this.#lastSweepError, failedInARow: this.#failedInARow },
        `the sweep has failed ${this.#failedInARow} times in a row: grants are not being revoked; /readyz reports not ready until a sweep runs through (see "The ledger is damaged" in docs/operations.md)`,
      );
    }
  }

  #sweepSucceeded(): void {
    if (this.#failedInARow >= SWEEP_FAILURES_UNTIL_UNREADY) this.#log.warn({ failedInARow: this.#failedInARow }, "the sweep runs through again");
    this.#failedInARow = 0;
    this.#lastSweepError = null;
  }

  async #armTimersOrLog(options: { includeDue: boolean }): Promise<void> {
    try {
      await this.#armTimers(options);
    } catch (error) {
      if (error instanceof LedgerClosedError) return;
      this.#log.error({ error: messageOf(error) }, "arming the expiry timers failed; the sweep still runs, and the next tick tries again");
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
