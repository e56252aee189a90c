/**
 * The server's stop sequence, in the one order that leaves nothing using a closed ledger:
 *
 * 1. at once, stop taking new work: `/readyz` answers `503 shutting-down`, a new webhook delivery
 *    is answered `503` (`refuseWhileStopping`), the expiry scheduler stops (no timer fires, no
 *    sweep or page starts, nothing more is claimed) and so do the other workers;
 * 2. wait for the work under way: the deliveries being handled, the revocations already started,
 *    each worker's own; they run to the end and record their outcome, or hand back what they had
 *    claimed (a worker's `stop`). `/healthz`, `/readyz` and `/metrics` still answer meanwhile;
 * 3. close the HTTP server (requests still open are answered or cut after a grace period);
 * 4. close the ledger.
 *
 * A step that fails does not skip the later ones (the ledger is closed whatever happened);
 * the failures are returned, each naming its step, for the caller to report.
 *
 * A second stop signal while this runs ends the process at once (`onStopSignals`): what was under
 * way stays in the ledger as it was (write-ahead), and the next start, or another replica, ends
 * every grant that is due.
 */
import type { RouteHandler } from "../server/webhook-endpoint.js";
import { errorMessage } from "../util/error-message.js";

export interface StoppableParts {
  /**
   * The HTTP server. `drain` (optional) resolves once the deliveries being handled are done, while
   * the server still answers; `stop` stops accepting and resolves once open requests are answered.
   */
  server?: { drain?(): Promise<void>; stop(): Promise<void> } | null;
  /** Stops starting work; resolves once the work already started has finished. */
  scheduler?: { stop(): Promise<void> } | null;
  /**
   * Other work that runs or claims jobs (the workflow gate's catch-up, …): each stops starting
   * work and resolves once its work under way has finished or its claims are released.
   */
  workers?: { name: string; stop(): Promise<void> }[];
  ledger: { close(): Promise<void> };
}

export async function shutDown(parts: StoppableParts): Promise<Error[]> {
  const failures: Error[] = [];
  const step = (what: string, work: Promise<void> | undefined): Promise<void> =>
    Promise.resolve(work).catch((error: unknown) => {
      failures.push(new Error(`${what} failed: ${errorMessage(error)}`, { cause: error }));
    });
  await Promise.all([
    step(
      "draining the webhook server",
      callSafely(() => parts.server?.drain?.()),
    ),
    step(
      "stopping the expiry scheduler",
      callSafely(() => parts.scheduler?.stop()),
    ),
    ...(parts.workers ?? []).map((worker) =>
      step(
        `stopping ${worker.name}`,
        callSafely(() => worker.stop()),
      ),
    ),
  ]);
  await step(
    "stopping the webhook server",
    callSafely(() => parts.server?.stop()),
  );
  await step(
    "closing the ledger",
    callSafely(() => parts.ledger.close()),
  );
  return failures;
}

/** Turns a synchronous throw into a rejection, so that one broken part cannot skip the others. */
async function callSafely(call: () => Promise<void> | undefined): Promise<void> {
  return call();
}

/**
 * While the app stops, every `POST` (a webhook delivery) is answered `503` with `Retry-After`
 * and the connection closed: the process takes no new work. GitHub records the delivery as
 * failed; it can be redelivered, and another replica or the next start acts on it. Place it
 * before the webhook endpoint; probes and metrics go on being answered.
 */
export function refuseWhileStopping(stopping: () => boolean): RouteHandler {
  return (request, response) => {
    if (!stopping() || request.method !== "POST") return false;
    response
      .writeHead(503, { "content-type": "text/plain", "retry-after": "30", connection: "close" })
      .end("jit-access is shutting down; deliver again later\n");
    request.resume();
    return true;
  };
}

export const EXIT_CODE_FOR: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

interface SignalTarget {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
}

/**
 * The first SIGTERM or SIGINT runs `stop` (which ends the process when it is done); a second
 * one, of either kind, while it runs ends the process at once, with 143 (SIGTERM) or 130 (SIGINT).
 */
export function onStopSignals(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  target: SignalTarget = process,
  say: (line: string) => void = (line) => console.error(line),
): void {
  let first: NodeJS.Signals | null = null;
  const received = (signal: NodeJS.Signals): void => {
    if (first === null) {
      first = signal;
      void stop(signal);
      return;
    }
    say(
      `jit-access: ${signal} again while stopping (after ${first}): exiting now, without waiting for the work under way; ` +
        "the ledger keeps every grant, and the next start ends the ones that are due",
    );
    target.exit(EXIT_CODE_FOR[signal] ?? 1);
  };
  target.on("SIGTERM", () => received("SIGTERM"));
  target.on("SIGINT", () => received("SIGINT"));
}
