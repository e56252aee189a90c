/**
 * Time, injected. Production code never calls Date.now() or setTimeout directly, so tests
 * move time forward instead of sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms` milliseconds (never earlier). */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** Node's timers: long delays are clamped to what setTimeout accepts and re-armed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const MAX = 2_147_483_647;
    const due = Date.now() + Math.max(0, ms);
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const left = due - Date.now();
      handle = setTimeout(left > MAX ? arm : fn, Math.min(Math.max(0, left), MAX));
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A clock for tests: time stands still until `advance` moves it, running due timers in order. */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  #seq = 0;

  constructor(start: number | Date = Date.parse("2026-01-01T00:00:00Z")) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Pending timers, for assertions. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order; lets
   * promise callbacks settle between timers so that chained work (await, then timer) runs too.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushPromises();
    for (;;) {
      const next = this.#timers
        .filter((t) => !t.cancelled && t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#now = Math.max(this.#now, next.at);
      next.cancelled = true;
      next.fn();
      await flushPromises();
    }
    this.#now = target;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    await flushPromises();
  }
}

/** Lets queued promise callbacks (and I/O-free async chains) run. */
export async function flushPromises(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
