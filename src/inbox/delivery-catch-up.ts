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
import type { AppOctokit } from "../github/repo-client.js";
import { LedgerClosedError, type LedgerStore } from "../ledger/store.js";
import type { Log } from "../lifecycle/deps.js";
import type { Clock, TimerHandle } from "../util/clock.js";

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

interface LogEntry {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
}

const succeeded = (entry: LogEntry): boolean => entry.status_code >= 200 && entry.status_code < 300;

export async function catchUpDeliveries(
  deps: DeliveryCatchUpDeps,
  log: Log,
  options: { maxPages?: number; signal?: AbortSignal } = {},
): Promise<DeliveryCatchUpReport> {
  const report: DeliveryCatchUpReport = { attempts: 0, failed: 0, redelivered: [], askedBefore: 0, failures: [] };
  const app = await deps.appOctokit();
  const since = deps.clock.now() - REDELIVERY_WINDOW_MS;
  const maxPages = options.maxPages ?? MAX_DELIVERY_LOG_PAGES;
  // Newest attempt first: per guid, whether any attempt succeeded, and its newest attempt's log id.
  const byGuid = new Map<string, { ok: boolean; newest: LogEntry }>();
  let pages = 0;
  for await (const page of app.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 })) {
    pages += 1;
    let old = false;
    for (const entry of page.data as LogEntry[]) {
      if (Date.parse(entry.delivered_at) < since) {
        old = true;
        continue;
      }
      report.attempts += 1;
      const seen = byGuid.get(entry.guid);
      if (seen === undefined) byGuid.set(entry.guid, { ok: succeeded(entry), newest: entry });
      else if (succeeded(entry)) seen.ok = true;
    }
    if (old || pages >= maxPages || options.signal?.aborted) break;
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
      await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: newest.id });
      report.redelivered.push(guid);
      log.info({ guid, deliveryLogId: newest.id, statusCode: newest.status_code }, `asked GitHub to redeliver failed delivery ${guid}`);
    } catch (error) {
      report.failures.push({ guid, error: short(error) });
      log.error(
        { guid, deliveryLogId: newest.id, error: short(error) },
        `GitHub did not take the redelivery of failed delivery ${guid}; it is not asked for again: redeliver it from the app's settings`,
      );
    }
  }
  return report;
}

/** Runs `catchUpDeliveries` at start-up and then every `intervalMs`, one pass at a time. */
export class DeliveryCatchUp {
  readonly #deps: DeliveryCatchUpDeps;
  readonly #log: Log;
  readonly #intervalMs: number;
  #timer: TimerHandle | null = null;
  #running: Promise<void> | null = null;
  readonly #stopping = new AbortController();

  constructor(deps: DeliveryCatchUpDeps, log: Log, intervalMs = DELIVERY_CATCH_UP_INTERVAL_MS) {
    this.#deps = deps;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#pass();
  }

  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#timer?.cancel();
    this.#timer = null;
    await this.idle();
  }

  #pass(): void {
    if (this.#stopping.signal.aborted || this.#running !== null) return;
    this.#running = (async () => {
      try {
        const report = await catchUpDeliveries(this.#deps, this.#log, { signal: this.#stopping.signal });
        const summary = { ...report, redelivered: report.redelivered.length, failures: report.failures.length };
        if (report.failed > 0) this.#log.info(summary, "delivery catch-up done");
        else this.#log.debug(summary, "delivery catch-up done");
      } catch (error) {
        if (!(error instanceof LedgerClosedError))
          this.#log.warn({ error: short(error) }, "delivery catch-up failed; the next pass tries again");
      } finally {
        this.#running = null;
        if (!this.#stopping.signal.aborted) this.#timer = this.#deps.clock.setTimer(() => this.#pass(), this.#intervalMs);
      }
    })();
  }
}

function short(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);
}
