/**
 * Keeps the process running until `work` settles. The app's own timers (write pacing, retry
 * waits, see util/clock.ts) are unref'd so that they never hold a process open by themselves;
 * a one-shot command whose remaining work is waiting on them would otherwise end mid-way, with
 * Node's exit status 13 for an unsettled top-level await (a sweep would stop after the first
 * write of each installation).
 */
export async function keepAliveUntil<T>(work: Promise<T>): Promise<T> {
  const handle = setInterval(() => undefined, 2 ** 30);
  try {
    return await work;
  } finally {
    clearInterval(handle);
  }
}
