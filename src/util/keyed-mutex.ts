/**
 * One at a time per key, within this process: a grant's PUT and a revocation's DELETE of the
 * same secret in the same environment never interleave, so a revocation cannot delete a value
 * that a newer grant has just written.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with work running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
