import type { Clock, TimerHandle } from "./clock.js";

/**
 * A pass that runs at start and again `intervalMs` after the previous one ended, one at a time
 * (the gate's and the deliveries' catch-ups). `stop()` aborts the signal the pass is given, so a
 * pass under way finishes what it is doing and starts nothing new, and waits for it; no pass is
 * scheduled after that. The pass handles its own errors: whatever it throws is dropped, and the
 * next pass runs as planned.
 */
export class PeriodicPass {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #pass: (signal: AbortSignal) => Promise<void>;
  readonly #stopping = new AbortController();
  #timer: TimerHandle | null = null;
  #running: Promise<void> | null = null;

  constructor(clock: Clock, intervalMs: number, pass: (signal: AbortSignal) => Promise<void>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#pass = pass;
  }

  /** Starts a pass at once (not awaited: start-up goes on) and schedules the next ones. */
  start(): void {
    this.#run();
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#timer?.cancel();
    this.#timer = null;
    await this.idle();
  }

  #run(): void {
    if (this.#stopping.signal.aborted || this.#running !== null) return;
    this.#running = (async () => {
      try {
        await this.#pass(this.#stopping.signal);
      } catch {
        // The pass logs its own failures; the next one is scheduled all the same.
      } finally {
        this.#running = null;
        if (!this.#stopping.signal.aborted) this.#timer = this.#clock.setTimer(() => this.#run(), this.#intervalMs);
      }
    })();
  }
}
