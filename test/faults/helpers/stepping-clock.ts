import { ManualClock, type TimerHandle } from "../../../src/util/clock.js";

/**
 * A ManualClock that also knows when its next timer is due, so a test driving the app can jump
 * straight to the next moment anything can happen instead of stepping through idle time.
 */
export class SteppingClock extends ManualClock {
  readonly #pending = new Set<{ at: number }>();

  override setTimer(fn: () => void, ms: number): TimerHandle {
    const entry = { at: this.now() + Math.max(0, ms) };
    this.#pending.add(entry);
    const handle = super.setTimer(() => {
      this.#pending.delete(entry);
      fn();
    }, ms);
    return {
      cancel: () => {
        this.#pending.delete(entry);
        handle.cancel();
      },
    };
  }

  /** When the next pending timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const { at } of this.#pending) if (next === undefined || at < next) next = at;
    return next;
  }
}
