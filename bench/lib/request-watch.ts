import type { GitHubSimulator, RecordedRequest } from "../../sim/index.js";

/**
 * Follows the simulator's request log without rescanning it: `poll` hands each new request to
 * `onRequest` once. `until` polls every `intervalMs` until `done()` or the timeout.
 */
export class RequestWatch {
  #next: number;

  constructor(
    private readonly sim: GitHubSimulator,
    private readonly onRequest: (request: RecordedRequest) => void,
    from = sim.requests.length,
  ) {
    this.#next = from;
  }

  poll(): void {
    const requests = this.sim.requests;
    while (this.#next < requests.length) this.onRequest(requests[this.#next++]!);
  }

  async until(done: () => boolean, options: { timeoutMs: number; intervalMs?: number; what: string }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      this.poll();
      if (done()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
      await sleep(options.intervalMs ?? 20);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
