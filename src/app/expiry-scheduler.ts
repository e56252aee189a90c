import { awaitsWrite, isLive } from "../ledger/grant-states.js";
import { lapsePass } from "../grant/lapse-requests.js";
import { LedgerClosedError, type Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "./deps.js";
import { revokeGrant, type RevokeOutcome } from "../revoke/revoke-grant.js";
import { byPullRequest, pullRequestKey, retryPullRequest } from "../grant/retry-deferred-grants.js";
import type { TimerHandle } from "../util/clock.js";
import { CLAIM_LEASE_MS, expireGrant, PROCESS_CLAIM_OWNER, sweepOnce, type SweepOptions, type SweepResult } from "../revoke/sweep.js";
import { errorSummary } from "../util/error-message.js";
import { sendDueReminders } from "../commands/reminders.js";
import { resumePass } from "../grant/resume-interrupted-grants.js";

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

/** A gap between the wall clock's and the monotonic clock's progress at least this large is a step. */
export const CLOCK_STEP_MS = 2_000;
/** A timer armed within this of the time wanted is kept rather than replaced. */
const SAME_TIME_MS = 50;
/** Deferred grants read per tick when arming their retries. */
const RETRY_PAGE = 500;

/** How the scheduler sweeps, and whose grants it arms exact timers for. */
export interface SchedulerOptions extends Pick<SweepOptions, "pageSize" | "concurrency" | "claimOwner" | "claimLeaseMs"> {
  /**
   * Other server processes share the ledger (replicas on PostgreSQL): exact timers only for the
   * grants this process wrote, deferred or retried, each claimed when its timer fires, and the
   * sweep for the rest. False (the default; SQLite, where the server is the ledger's only one):
   * every grant in the ledger due before the next sweep gets a timer too, and timers claim nothing.
   */
  sharedLedger?: boolean;
}

/** A wall-clock time this process set on a grant, and the monotonic reading it stands for. */
interface Pin {
  wall: number;
  at: number;
}

/**
 * Ends grants on time while the server runs: an exact timer for each of its grants due before
 * the next sweep, and a periodic sweep (JIT_SWEEP_INTERVAL) as the safety net that also retries
 * failed revocations. At start the first sweep runs at once, so grants that expired while the app was
 * down are revoked immediately. Failing to arm the timers never skips the sweep; sweeps that
 * fail in a row are counted (`sweepHealth`). Revoke-only (the catalog failed to load), the
 * sweep and the timers run as ever, deferred grants are not retried, and every tick logs the
 * catalog's error.
 *
 * A timer is armed for the time the grant is due — its expiry, or at once for an early end that
 * failed before (`pendingEnd`), and never before its next attempt (backoff) — and when it fires
 * it reads the grant again: one whose expiry has moved later (a deferred grant written since)
 * is armed again for the new time, not revoked. A change of a grant's times replaces its timer.
 *
 * Whose grants get timers. Always the grants this process wrote or deferred (`track`,
 * `retryLater`) and the ones whose revocation it tried and must retry (its timer's, or its
 * sweep's, which claimed them). On a ledger no other server shares (SQLite; the default), also
 * every grant found in the ledger, whoever wrote it: after a restart the process's earlier grants
 * are its own, and they end on time. With `sharedLedger` (replicas on PostgreSQL) a grant found
 * in the ledger is left to the sweep, which claims it: each grant is ended by the replica that
 * made it, exactly on time, and otherwise by one replica's sweep within an interval of its
 * expiry (a replica that died, or one restarted: its process is new and its grants are found,
 * not made). There a timer that fires claims the grant first (`claimGrant`, the sweep's lease)
 * and releases it once the revocation is over; a grant another process holds is left to it, so
 * a sweep elsewhere and a timer here never both revoke one grant. A replica that dies
 * mid-revocation loses the claim at the lease's end, and a sweep then ends the grant. On a
 * ledger of its own the timer claims nothing: the server restarted after a crash finds no claim
 * of its previous run in its way and ends the grant at once, and the per-secret lock keeps a
 * `jit-access sweep` beside it to one DELETE (the other finds the grant ended).
 *
 * Times are kept on the monotonic clock. A grant this process wrote ends at its write time plus
 * its duration on that clock, whatever the wall clock does meanwhile: the ledger's wall-clock
 * expiry is pinned to a monotonic reading when the grant is written (`track`), and so are the
 * retry and backoff times this process sets. Grants found in the ledger (written before a
 * restart, or by another process) follow the wall clock, which is all there is for them. Each
 * tick compares the two clocks' progress and logs a step as a warning.
 *
 * A deferred grant is retried on a timer of its own at its retry time (`retryLater`), which is
 * what its pull request was told; each tick also arms the retries that fall due before the next.
 * Each sweep, the first at start included, also resumes or ends the grants whose first write was
 * interrupted (grant/resume-interrupted-grants.ts); at start, every one recorded before it.
 *
 * Every piece of work it starts (a tick, a sweep, a timer's revocation or retry) is tracked:
 * `idle()` resolves once none is running, and `stop()` cancels the timers, lets a running sweep
 * finish the revocations it has started (reading no further page), and resolves when all of it
 * is done, so the ledger can be closed after it without anything still using it.
 */
export class ExpiryScheduler {
  readonly #deps: LifecycleDeps;
  readonly #log: Log;
  readonly #intervalMs: number;
  readonly #sweepOptions: Pick<SweepOptions, "pageSize" | "concurrency" | "claimOwner" | "claimLeaseMs">;
  readonly #sharedLedger: boolean;
  /** Exact timers by grant id, with the monotonic time each fires at. */
  readonly #timers = new Map<string, { handle: TimerHandle; at: number }>();
  /** Retry timers of deferred grants, by pull request (one evaluation retries all of a PR's). */
  readonly #retryTimers = new Map<string, { handle: TimerHandle; at: number }>();
  /** Pull requests being retried now, and whether another retry fell due meanwhile. */
  readonly #retrying = new Map<string, { again: Grant | null }>();
  /** The expiry of each live grant this process wrote or deferred, pinned to the monotonic clock. */
  readonly #ends = new Map<string, Pin>();
  /** Next attempts (revocation backoff, write retry) this process set, pinned likewise. */
  readonly #attempts = new Map<string, Pin>();
  readonly #inFlight = new Set<string>();
  /** Ticks, sweeps and timer revocations still running. None of these promises rejects. */
  readonly #work = new Set<Promise<void>>();
  #sweepTimer: TimerHandle | null = null;
  /** The timer for the next reminder before expiry that falls due before the next tick. */
  #reminderTimer: { handle: TimerHandle; at: number } | null = null;
  #sweeping: Promise<SweepResult> | null = null;
  #lastTick: { wall: number; monotonic: number } | null = null;
  #stopping = new AbortController();
  #stopped = true;
  #failedInARow = 0;
  #lastSweepError: string | null = null;
  /** When `start` ran (wall clock): grants recorded before it were never this process's to write. */
  #startedAt = 0;

  /** `options` tunes each sweep (defaults: `sweepOnce`'s) and says whether replicas share the ledger. */
  constructor(deps: LifecycleDeps, log: Log, intervalMs: number, options: SchedulerOptions = {}) {
    const { sharedLedger = false, ...sweepOptions } = options;
    this.#deps = deps;
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#sweepOptions = sweepOptions;
    this.#sharedLedger = sharedLedger;
  }

  /** Starts the periodic sweep; resolves when the first one (run at once) is done. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#stopping = new AbortController();
    this.#lastTick = null;
    this.#startedAt = this.#deps.clock.now();
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
    this.#reminderTimer?.handle.cancel();
    this.#reminderTimer = null;
    for (const timer of [...this.#timers.values(), ...this.#retryTimers.values()]) timer.handle.cancel();
    this.#timers.clear();
    this.#retryTimers.clear();
    await this.idle();
  }

  /**
   * Resolves once no work of the scheduler is running: no tick, sweep, timer revocation or
   * retry, including work that the running work started meanwhile. Timers not yet due do not count.
   */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.all(this.#work);
  }

  /** Exact expiry timers armed right now (for tests and diagnostics). */
  get armed(): number {
    return this.#timers.size;
  }

  /** Retry timers of deferred grants armed right now, one per pull request (for tests and diagnostics). */
  get retriesArmed(): number {
    return this.#retryTimers.size;
  }

  /**
   * A grant became active in this process (its secret was just written): its expiry is pinned to
   * the monotonic clock, and its timer armed (or moved) if it is due before the next sweep.
   */
  track(grant: Grant): void {
    if (this.#stopped) return;
    this.#ends.set(grant.id, this.#pin(grant.expiresAt));
    this.#arm(grant);
  }

  /**
   * A grant's write was deferred (GitHub could not take it): its pull request is evaluated again
   * at the grant's retry time, on a timer of its own; the PR's earliest retry wins.
   */
  retryLater(grant: Grant): void {
    if (this.#stopped || this.#deps.revokeOnly || !awaitsWrite(grant) || grant.nextAttemptAt === null) return;
    this.#ends.set(grant.id, this.#pinned(this.#ends.get(grant.id), grant.expiresAt));
    const pin = this.#pinned(this.#attempts.get(grant.id), grant.nextAttemptAt);
    this.#attempts.set(grant.id, pin);
    // A timer armed earlier for the grant's old expiry must not outlive the change.
    this.#arm(grant);
    const key = pullRequestKey(grant);
    const existing = this.#retryTimers.get(key);
    if (existing && existing.at <= pin.at + SAME_TIME_MS) return;
    existing?.handle.cancel();
    const delay = Math.max(0, pin.at - this.#deps.clock.monotonic());
    this.#retryTimers.set(key, { at: pin.at, handle: this.#deps.clock.setTimer(() => void this.#hold(this.#retry(key, grant)), delay) });
  }

  /** Runs one sweep now (also what the periodic timer does); shares one already under way. */
  sweep(): Promise<SweepResult> {
    if (!this.#sweeping) {
      const sweeping = sweepOnce(this.#deps, this.#log, {
        ...this.#sweepOptions,
        inFlight: this.#inFlight,
        signal: this.#stopping.signal,
        notYetDue: (grant) => this.#dueAt(grant) > this.#deps.clock.monotonic(),
        onOutcome: (outcome) => this.#settled(outcome),
        alsoRun: [
          lapsePass(this.#deps, this.#log),
          resumePass(this.#deps, this.#log, {
            startedAt: this.#startedAt,
            signal: this.#stopping.signal,
            ...(this.#sweepOptions.claimLeaseMs !== undefined ? { claimLeaseMs: this.#sweepOptions.claimLeaseMs } : {}),
          }),
        ],
      }).finally(() => {
        this.#sweeping = null;
      });
      this.#sweeping = sweeping;
      void this.#hold(
        sweeping.then(
          () => undefined,
          () => undefined,
        ),
      );
    }
    return this.#sweeping;
  }

  /** Tracks `work` until it settles; `work` must not reject. */
  #hold(work: Promise<void>): Promise<void> {
    this.#work.add(work);
    return work.finally(() => this.#work.delete(work));
  }

  /** The monotonic reading that stands for wall-clock time `at`, as of now. */
  #pin(at: Date): Pin {
    const wall = at.getTime();
    return { wall, at: this.#deps.clock.monotonic() + (wall - this.#deps.clock.now()) };
  }

  /** `pin` when it still stands for `at` (the grant's time has not changed since), else a new pin. */
  #pinned(pin: Pin | undefined, at: Date): Pin {
    return pin !== undefined && pin.wall === at.getTime() ? pin : this.#pin(at);
  }

  #forget(id: string): void {
    this.#ends.delete(id);
    this.#attempts.delete(id);
    const timer = this.#timers.get(id);
    timer?.handle.cancel();
    this.#timers.delete(id);
  }

  /**
   * When a live grant is due for revocation, on the monotonic clock: at its expiry, or at once
   * when an early end is pending; in either case not before its next attempt. As the ledger's
   * `dueGrants` has it, with the times this process pinned in place of the wall clock's.
   */
  #dueAt(grant: Grant): number {
    const end = grant.pendingEnd ? Number.NEGATIVE_INFINITY : this.#pinned(this.#ends.get(grant.id), grant.expiresAt).at;
    const next = grant.nextAttemptAt ? this.#pinned(this.#attempts.get(grant.id), grant.nextAttemptAt).at : Number.NEGATIVE_INFINITY;
    return Math.max(end, next);
  }

  /** Arms, moves or drops the grant's timer for the time it is due; one due after the next tick is left to that tick. */
  #arm(grant: Grant): void {
    if (this.#stopped) return;
    const existing = this.#timers.get(grant.id);
    const at = this.#dueAt(grant);
    const now = this.#deps.clock.monotonic();
    if (!isLive(grant.state) || at - now > this.#intervalMs) {
      existing?.handle.cancel();
      this.#timers.delete(grant.id);
      return;
    }
    if (existing && Math.abs(existing.at - at) <= SAME_TIME_MS) return;
    existing?.handle.cancel();
    this.#timers.set(grant.id, {
      at,
      handle: this.#deps.clock.setTimer(() => void this.#hold(this.#fire(grant.id)), Math.max(0, at - now)),
    });
  }

  /** What a revocation's outcome means for the grant's timer. */
  #settled(outcome: RevokeOutcome): void {
    if (outcome.kind !== "retry") {
      this.#forget(outcome.grant.id);
      return;
    }
    this.#attempts.set(outcome.grant.id, this.#pin(outcome.nextAttemptAt));
    this.#arm(outcome.grant);
  }

  async #fire(id: string): Promise<void> {
    this.#timers.delete(id);
    if (this.#stopped || this.#inFlight.has(id)) return;
    this.#inFlight.add(id);
    try {
      const found = await this.#deps.store.getGrant(id);
      if (!found || !isLive(found.state)) {
        this.#forget(id);
        return;
      }
      // The grant's times may have changed since the timer was armed (a deferred grant written
      // since has a later expiry): it is revoked only when it is due now.
      if (this.#dueAt(found) > this.#deps.clock.monotonic()) {
        this.#arm(found);
        return;
      }
      if (!this.#sharedLedger) {
        this.#settled(await this.#revoke(found));
        return;
      }
      const owner = this.#sweepOptions.claimOwner ?? PROCESS_CLAIM_OWNER;
      const now = this.#deps.clock.now();
      const until = new Date(now + (this.#sweepOptions.claimLeaseMs ?? CLAIM_LEASE_MS));
      const current = await this.#deps.store.claimGrant(id, new Date(now), { owner, until });
      if (current === null) {
        // Ended meanwhile, or claimed by another process (a sweep elsewhere), which ends it; the
        // next tick looks again, and once a dead claimer's lease ends the sweep takes it.
        this.#log.debug({ grant: id }, "the grant's expiry timer fired while another process held its claim; left to that process");
        return;
      }
      try {
        this.#settled(await this.#revoke(current));
      } finally {
        // A claim that cannot be released (the ledger closed or failed) ends with its lease.
        await this.#deps.store.releaseClaim(id, owner).catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof LedgerClosedError) {
        this.#log.info({ grant: id }, "the ledger closed before the expiry timer's revocation ended; the grant stays due");
      } else {
        this.#log.error({ grant: id, error: errorSummary(error) }, "expiry timer failed; the sweep will retry");
      }
    } finally {
      this.#inFlight.delete(id);
    }
  }

  /** Ends a due grant: as its pending early end says, else as expired. */
  #revoke(grant: Grant): Promise<RevokeOutcome> {
    return grant.pendingEnd
      ? revokeGrant(this.#deps, { grant, ...grant.pendingEnd }, this.#log)
      : expireGrant(this.#deps, grant, this.#log);
  }

  /** A deferred grant's retry time came: its pull request is evaluated again. */
  async #retry(key: string, grant: Grant): Promise<void> {
    this.#retryTimers.delete(key);
    if (this.#stopped) return;
    const running = this.#retrying.get(key);
    if (running) {
      // The evaluation under way deferred the PR again and is still reporting it: retry once it is done.
      running.again = grant;
      return;
    }
    const state = { again: null as Grant | null };
    this.#retrying.set(key, state);
    try {
      const now = this.#deps.clock.monotonic();
      // The PR's grants still waiting to be written, before their expiry (after it they are the sweep's to revoke).
      const live = await this.#deps.store.listGrants({ owner: grant.owner, repo: grant.repo, prNumber: grant.prNumber });
      const waiting = live.filter(
        (g) => g.installationId === grant.installationId && awaitsWrite(g) && this.#pinned(this.#ends.get(g.id), g.expiresAt).at > now,
      );
      if (waiting.length > 0) await retryPullRequest(this.#deps, this.#log, waiting);
    } catch (error) {
      if (error instanceof LedgerClosedError) {
        this.#log.info({ grant: grant.id }, "the ledger closed before a deferred grant's retry ended; it is retried after the next start");
      } else {
        this.#log.error({ grant: grant.id, error: errorSummary(error) }, "retrying a deferred grant failed; the next sweep arms it again");
      }
    } finally {
      this.#retrying.delete(key);
      if (state.again !== null && !this.#stopped) void this.#hold(this.#retry(key, state.again));
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    // The next tick comes an interval from now, however long this one takes: a sweep that waits
    // minutes for paced writes (a backlog at start-up) must not leave the grants that fall due
    // meanwhile without their exact timers. Overlapping ticks share the sweep.
    this.#sweepTimer = this.#deps.clock.setTimer(() => void this.#hold(this.#tick()), this.#intervalMs);
    this.#noticeClockStep();
    if (this.#deps.revokeOnly) {
      this.#log.error(
        { catalogError: this.#deps.revokeOnly.why },
        "the catalog failed to load: running revoke-only (grants end on time; nothing is granted and deferred grants are not retried until the catalog is fixed and the app restarted)",
      );
    }
    // Timers are the precision, the sweep is the safety net: failing to arm them never skips it.
    await this.#orLog(
      () => this.#armTimers({ includeDue: false }),
      "arming the expiry timers failed; the sweep still runs, and the next tick tries again",
    );
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
    await this.#orLog(() => this.#remind(), "sending the reminders before expiry failed; the next tick tries again");
    if (!this.#deps.revokeOnly)
      await this.#orLog(() => this.#armRetries(), "arming the retries of deferred grants failed; the next tick tries again");
    await this.#orLog(
      () => this.#armTimers({ includeDue: true }),
      "arming the expiry timers failed; the sweep still runs, and the next tick tries again",
    );
  }

  /** Sweeps that failed in a row (0 once one runs through), and the last failure's message. */
  get sweepHealth(): SweepHealth {
    return {
      failedInARow: this.#failedInARow,
      lastError: this.#lastSweepError,
      failing: this.#failedInARow >= SWEEP_FAILURES_UNTIL_UNREADY,
    };
  }

  #sweepFailed(error: unknown): void {
    this.#failedInARow++;
    this.#lastSweepError = errorSummary(error);
    this.#log.error({ error: this.#lastSweepError, failedInARow: this.#failedInARow }, "sweep failed; retrying at the next interval");
    if (this.#failedInARow === SWEEP_FAILURES_UNTIL_UNREADY) {
      this.#log.error(
        { error: this.#lastSweepError, failedInARow: this.#failedInARow },
        `the sweep has failed ${this.#failedInARow} times in a row: grants are not being revoked; /readyz reports not ready until a sweep runs through (see "The ledger is damaged" in docs/operations.md)`,
      );
    }
  }

  #sweepSucceeded(): void {
    if (this.#failedInARow >= SWEEP_FAILURES_UNTIL_UNREADY)
      this.#log.warn({ failedInARow: this.#failedInARow }, "the sweep runs through again");
    this.#failedInARow = 0;
    this.#lastSweepError = null;
  }

  /** Runs `step`; a failure (but a closed ledger) is logged with `message`, never thrown. */
  /**
   * Sends the reminders before expiry that are due (see commands/reminders.ts), and arms one
   * timer for the next that falls due before the next tick; later ones are the later ticks'.
   */
  async #remind(): Promise<void> {
    if (this.#stopped) return;
    const { nextAt } = await sendDueReminders(this.#deps, this.#log, this.#intervalMs);
    if (this.#stopped || nextAt === null) return;
    const delay = Math.max(0, nextAt - this.#deps.clock.now());
    if (delay > this.#intervalMs) return;
    const at = this.#deps.clock.monotonic() + delay;
    if (this.#reminderTimer && this.#reminderTimer.at <= at + SAME_TIME_MS) return;
    this.#reminderTimer?.handle.cancel();
    this.#reminderTimer = {
      at,
      handle: this.#deps.clock.setTimer(() => {
        this.#reminderTimer = null;
        void this.#hold(this.#orLog(() => this.#remind(), "sending the reminders before expiry failed; the next tick tries again"));
      }, delay),
    };
  }

  async #orLog(step: () => Promise<void>, message: string): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (error instanceof LedgerClosedError) return;
      this.#log.error({ error: errorSummary(error) }, message);
    }
  }

  /**
   * Compares how far the wall clock and the monotonic clock moved since the last tick: a
   * difference is a step of the wall clock (NTP, an operator, a resumed VM), logged as a warning.
   */
  #noticeClockStep(): void {
    const now = { wall: this.#deps.clock.now(), monotonic: this.#deps.clock.monotonic() };
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last === null) return;
    const stepMs = now.wall - last.wall - (now.monotonic - last.monotonic);
    if (Math.abs(stepMs) < CLOCK_STEP_MS) return;
    this.#log.warn(
      { stepMs: Math.round(stepMs), wallClock: new Date(now.wall).toISOString() },
      `the wall clock stepped ${stepMs > 0 ? "forward" : "back"} ${Math.round(Math.abs(stepMs) / 1000)} s since the last sweep; ` +
        "grants this process wrote still end at their time on the monotonic clock; grants from before its start follow the wall clock",
    );
  }

  /** Arms the retries of deferred grants that fall due before the next tick (ones deferred before this process started, or whose timer was lost). */
  async #armRetries(): Promise<void> {
    const waiting = await this.#deps.store.grantsAwaitingRetry(new Date(this.#deps.clock.now() + this.#intervalMs), RETRY_PAGE);
    for (const grants of byPullRequest(waiting).values()) for (const grant of grants) this.retryLater(grant);
  }

  /**
   * Arms timers for the grants due before the next tick. Grants already due are the sweep's (it
   * bounds how many run at once), so before the sweep they are left out; after it, any it left
   * are armed too. Grants this process wrote are armed by their monotonic end, even where the
   * wall clock (stepped back) puts their expiry further off. With `sharedLedger`, a grant found
   * in the ledger is armed only when this process has set one of its times (see the class).
   */
  async #armTimers({ includeDue }: { includeDue: boolean }): Promise<void> {
    if (this.#stopped) return;
    const until = new Date(this.#deps.clock.now() + this.#intervalMs);
    const seen = new Set<string>();
    const consider = (grant: Grant): void => {
      seen.add(grant.id);
      if (includeDue || this.#dueAt(grant) > this.#deps.clock.monotonic()) this.#arm(grant);
    };
    for (const grant of await this.#deps.store.expiringBy(until)) {
      if (!this.#sharedLedger || this.#ends.has(grant.id) || this.#attempts.has(grant.id)) consider(grant);
    }
    const soon = this.#deps.clock.monotonic() + this.#intervalMs;
    for (const [id, end] of [...this.#ends]) {
      if (seen.has(id) || end.at > soon) continue;
      const grant = await this.#deps.store.getGrant(id);
      if (grant === null || !isLive(grant.state)) this.#forget(id);
      else consider(grant);
    }
  }
}
