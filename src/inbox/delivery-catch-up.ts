/**
 * Catch-up of deliveries GitHub could not make: at start-up and every `intervalMs` (5 minutes),
 * the app's delivery log (`GET /app/hook/deliveries`, authenticated as the app, 100 a page,
 * newest first, followed by its cursor) is read back over GitHub's three-day redelivery window,
 * and each delivery that failed is redelivered (`POST /app/hook/deliveries/{id}/attempts`):
 *
 * - a delivery is one `guid` (X-GitHub-Delivery); each attempt is a log entry with its own id.
 *   One that any attempt delivered (2xx), or that the inbox holds, is not asked for;
 * - a redelivery is recorded in the ledger (`recordRedelivery`, keyed by guid) before it is
 *   asked for, so no delivery is asked for twice, by this process or another replica, even when
 *   the redelivery fails too (its failure is logged at error with the guid, for an operator);
 * - at most `maxPages` pages are read a pass; the window ends the reading earlier.
 *
 * The redelivered delivery arrives at the webhook endpoint like any other and goes through the inbox.
 */
import { recentDeliveryAttempts, redeliver, type DeliveryAttempt } from "../github/hook-deliveries.js";
import type { AppOctokit } from "../github/repo-client.js";
import { LedgerClosedError, type LedgerStore } from "../ledger/store.js";
import type { Log } from "../app/deps.js";
import type { Clock } from "../util/clock.js";
import { PeriodicPass } from "../util/periodic-pass.js";
import { errorSummary } from "../util/error-message.js";

/** GitHub redelivers deliveries of the last three days only. */
export const REDELIVERY_WINDOW_MS = 3 * 24 * 60 * 60_000;
export const DELIVERY_CATCH_UP_INTERVAL_MS = 5 * 60_000;
export const MAX_DELIVERY_LOG_PAGES = 30;

export interface DeliveryCatchUpDeps {
  store: LedgerStore;
  clock: Clock;
  /** The app itself (JWT). */
  appOctokit(): Promise<AppOctokit>;
}

export interface DeliveryCatchUpReport {
  /** Log entries read. */
  attempts: number;
  /** Deliveries (guids) seen that never succeeded. */
  failed: number;
  /** Redeliveries asked for by this pass. */
  redelivered: string[];
  /** Failed deliveries asked for before (this pass asked nothing). */
  askedBefore: number;
  /** Redeliveries GitHub refused or that could not be asked for. */
  failures: { guid: string; error: string }[];
}

const succeeded = (attempt: DeliveryAttempt): boolean => attempt.statusCode >= 200 && attempt.statusCode < 300;

export async function catchUpDeliveries(
  deps: DeliveryCatchUpDeps,
  log: Log,
  options: { maxPages?: number; signal?: AbortSignal } = {},
): Promise<DeliveryCatchUpReport> {
  const report: DeliveryCatchUpReport = { attempts: 0, failed: 0, redelivered: [], askedBefore: 0, failures: [] };
  const app = await deps.appOctokit();
  const since = new Date(deps.clock.now() - REDELIVERY_WINDOW_MS);
  const attempts = await recentDeliveryAttempts(app, since, options.maxPages ?? MAX_DELIVERY_LOG_PAGES, options.signal);
  report.attempts = attempts.length;
  // Newest attempt first: per guid, whether any attempt succeeded, and its newest attempt.
  const byGuid = new Map<string, { ok: boolean; newest: DeliveryAttempt }>();
  for (const attempt of attempts) {
    const seen = byGuid.get(attempt.guid);
    if (seen === undefined) byGuid.set(attempt.guid, { ok: succeeded(attempt), newest: attempt });
    else if (succeeded(attempt)) seen.ok = true;
  }
  for (const [guid, { ok, newest }] of byGuid) {
    if (ok || options.signal?.aborted) continue;
    report.failed += 1;
    // The inbox holds it: it reached the app after all (its answer was lost); nothing to ask for.
    if ((await deps.store.getDelivery(guid)) !== null) continue;
    if (!(await deps.store.recordRedelivery(guid, newest.id, new Date(deps.clock.now())))) {
      report.askedBefore += 1;
      continue;
    }
    try {
      await redeliver(app, newest.id);
      report.redelivered.push(guid);
      log.info({ guid, deliveryLogId: newest.id, statusCode: newest.statusCode }, `asked GitHub to redeliver failed delivery ${guid}`);
    } catch (error) {
      report.failures.push({ guid, error: errorSummary(error) });
      log.error(
        { guid, deliveryLogId: newest.id, error: errorSummary(error) },
        `GitHub did not take the redelivery of failed delivery ${guid}; it is not asked for again: redeliver it from the app's settings`,
      );
    }
  }
  return report;
}

/** Runs `catchUpDeliveries` at start-up and then every `intervalMs`, one pass at a time. */
export class DeliveryCatchUp extends PeriodicPass {
  constructor(deps: DeliveryCatchUpDeps, log: Log, intervalMs = DELIVERY_CATCH_UP_INTERVAL_MS) {
    super(deps.clock, intervalMs, async (signal) => {
      try {
        const report = await catchUpDeliveries(deps, log, { signal });
        const summary = { ...report, redelivered: report.redelivered.length, failures: report.failures.length };
        if (report.failed > 0) log.info(summary, "delivery catch-up done");
        else log.debug(summary, "delivery catch-up done");
      } catch (error) {
        if (!(error instanceof LedgerClosedError))
          log.warn({ error: errorSummary(error) }, "delivery catch-up failed; the next pass tries again");
      }
    });
  }
}
