/**
 * The lifecycle's side of notifications: an event is queued in the ledger's outbox (one row per
 * URL) and nothing more. Delivery is the background worker's (`outbox-worker.ts`), so a receiver
 * that is down never delays a grant or a revocation; a failure to queue is logged and swallowed.
 */
import { errorSummary } from "../util/error-message.js";
import { randomUUID } from "node:crypto";
import type { LedgerStore } from "../ledger/store.js";
import type { Log } from "../app/deps.js";
import { bodyFor, notifyEvent, type EventSubject, type NotifyEventName } from "./notify-event.js";

export interface Notifier {
  /** Queues one event for every URL; resolves once queued (or once queuing failed and was logged), never rejects. */
  notify(event: NotifyEventName, subject: EventSubject, at: Date, why?: string | null): Promise<void>;
}

export interface OutboxNotifierOptions {
  store: Pick<LedgerStore, "enqueueNotifications">;
  /** JIT_NOTIFY_URL, each URL once. */
  urls: readonly string[];
  /** GitHub's web address, for the link to the pull request. */
  webUrl: string;
  log: Log;
}

export class OutboxNotifier implements Notifier {
  constructor(private readonly options: OutboxNotifierOptions) {}

  async notify(event: NotifyEventName, subject: EventSubject, at: Date, why: string | null = null): Promise<void> {
    const { store, urls, webUrl, log } = this.options;
    if (urls.length === 0) return;
    try {
      const body = notifyEvent({ id: randomUUID(), event, at, subject, why, webUrl });
      await store.enqueueNotifications(urls.map((url) => ({ url, event, body: bodyFor(url, body), createdAt: at })));
    } catch (error) {
      log.warn(
        {
          event,
          repository: `${subject.owner}/${subject.repo}`,
          pr: subject.prNumber,
          error: errorSummary(error),
        },
        "could not queue a notification",
      );
    }
  }
}
