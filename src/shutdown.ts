import { errorMessage } from "./util/error-message.js";
/**
 * The server's stop sequence, in the one order that leaves nothing using a closed ledger:
 *
 * 1. stop accepting webhooks (the HTTP server closes; deliveries being handled are answered),
 *    and at the same moment stop the expiry scheduler (no timer fires, no sweep or page starts);
 * 2. wait for both: the webhook handlers and the revocations already started run to the end and
 *    record their outcome;
 * 3. close the ledger.
 *
 * A step that fails does not skip the later ones (the ledger is closed whatever happened);
 * the failures are returned, each naming its step, for the caller to report.
 */
export interface StoppableParts {
  /** Stops accepting; resolves once the requests being handled are answered. */
  server?: { stop(): Promise<void> } | null;
  /** Stops starting work; resolves once the work already started has finished. */
  scheduler?: { stop(): Promise<void> } | null;
  ledger: { close(): Promise<void> };
}

export async function shutDown(parts: StoppableParts): Promise<Error[]> {
  const failures: Error[] = [];
  const step = (what: string, work: Promise<void> | undefined): Promise<void> =>
    Promise.resolve(work).catch((error: unknown) => {
      failures.push(new Error(`${what} failed: ${errorMessage(error)}`, { cause: error }));
    });
  const stoppingServer = step(
    "stopping the webhook server",
    callSafely(() => parts.server?.stop()),
  );
  const stoppingScheduler = step(
    "stopping the expiry scheduler",
    callSafely(() => parts.scheduler?.stop()),
  );
  await Promise.all([stoppingServer, stoppingScheduler]);
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
