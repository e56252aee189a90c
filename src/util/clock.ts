/**
 * Time, injected. Production code never calls Date.now() or setTimeout directly, so tests
 * move time forward instead of sleeping.
 *
 * Two readings: `now()` is the wall clock — what the ledger records and people read — and it may
 * step (NTP correcting it, an operator setting it, a VM resumed). `monotonic()` only moves forward
 * with real time, whatever the wall clock does: waits, pacing, backoff and the end of a grant this
 * process wrote are measured on it, so a step neither shortens nor stretches them.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock time, in milliseconds since the epoch. May step either way. */
  now(): number;
  /** Milliseconds from an arbitrary origin; never steps. Compare two readings, never with `now()`. */
  monotonic(): number;
  /** Runs `fn` once after `ms` milliseconds of monotonic time (never earlier). */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** Node's timers (monotonic): long delays are clamped to what setTimeout accepts and re-armed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn, ms) {
    const MAX = 2_147_483_647;
    const due = performance.now() + Math.max(0, ms);
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const left = due - performance.now();
      handle = setTimeout(left > MAX ? arm : fn, Math.min(Math.max(0, left), MAX));
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * A clock for tests: time stands still until `advance` moves it, running due timers in order.
 * `stepWall` steps the wall clock alone, as NTP or an operator would; timers and `monotonic()`
 * do not notice.
 */
export class ManualClock implements Clock {
  #wall: number;
  #monotonic = 0;
  #timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  #seq = 0;

  constructor(start: number | Date = Date.parse("2026-01-01T00:00:00Z")) {
    this.#wall = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#monotonic;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.#monotonic + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Pending timers, for assertions. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Steps the wall clock by `ms` (back when negative); monotonic time and timers stay. */
  stepWall(ms: number): void {
    this.#wall += ms;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order. Between
   * two timers it yields to the event loop (`flushPromises`), as real time lets other work run
   * between two timers: chained work a timer started that needs no I/O (an await, then a new
   * timer on this clock) runs in the first of those turns and arms its next timer before the next
   * one is chosen. The turns are a scheduling step of this fake clock, not a wait for a condition;
   * they know nothing of I/O. `settle`, when given, is awaited after each timer as well: a harness
   * whose timers start real I/O (a request to a local server) waits for it there — its
   * component's `idle()` or the request tracker's — so that the I/O takes no time on this clock
   * and a later timer of the same step (a request timeout) does not cut it. A test that checks
   * the outcome of work still under way after a step awaits that work's own signal
   * (`scheduler.idle()`, `inbox.idle()`), not more turns.
   */
  async advance(ms: number, settle?: () => Promise<void>): Promise<void> {
    const target = this.#monotonic + ms;
    await flushPromises();
    for (;;) {
      const next = this.#timers.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#move(next.at);
      next.cancelled = true;
      next.fn();
      await flushPromises();
      if (settle) await settle();
    }
    this.#move(target);
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    await flushPromises();
  }

  /** Both readings move forward together, to monotonic time `at`. */
  #move(at: number): void {
    if (at <= this.#monotonic) return;
    this.#wall += at - this.#monotonic;
    this.#monotonic = at;
  }
}

/**
 * Yields `rounds` turns of the event loop (`setImmediate`). Every promise callback already queued,
 * and every one those queue in turn, runs before the first turn ends; the later turns let
 * `setImmediate` and zero-delay timer hops through. For `ManualClock.advance` and the request
 * tracker's quiet check; a test waits on an event or an `idle()`, not on this.
 */
export async function flushPromises(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
