/**
 * Leading-edge coalescing per key: the first call runs at once (no debounce delay); calls that
 * arrive while it runs are folded into one more run after it, with the latest task. So a burst
 * of events for one pull request costs at most two evaluations, and the last one always sees
 * the state after the burst.
 *
 * Each caller's promise settles with the run that covers its call: the first caller's with the
 * first run, every later caller's with the follow-up.
 */
export class Coalescer {
  readonly #entries = new Map<string, Entry>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      const fresh: Entry = { next: null };
      this.#entries.set(key, fresh);
      return this.#drive(key, fresh, task);
    }
    entry.next ??= followUp();
    entry.next.task = task;
    return entry.next.promise;
  }

  /** Keys with a run in progress (for tests and diagnostics). */
  get size(): number {
    return this.#entries.size;
  }

  async #drive(key: string, entry: Entry, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } finally {
      const next = entry.next;
      if (next === null) {
        this.#entries.delete(key);
      } else {
        entry.next = null;
        this.#drive(key, entry, next.task).then(next.resolve, next.reject);
      }
    }
  }
}

interface FollowUp {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  task: () => Promise<void>;
}

interface Entry {
  next: FollowUp | null;
}

function followUp(): FollowUp {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject, task: async () => {} };
}
