import type { AppOctokit } from "./repo-client.js";

/** One attempt in the app's webhook delivery log, as `GET /app/hook/deliveries` lists it. */
export interface DeliveryAttempt {
  /** The log entry's id: each attempt has its own. */
  id: number;
  /** X-GitHub-Delivery: the same for every attempt of one delivery. */
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  /** The app's HTTP status; 0 when no answer came. */
  statusCode: number;
}

/**
 * The app's delivery log, newest first, authenticated as the app: pages of 100 followed by their
 * cursor until an attempt older than `since`, or `maxPages` pages. Attempts before `since` are left out.
 */
export async function recentDeliveryAttempts(
  app: AppOctokit,
  since: Date,
  maxPages: number,
  signal?: AbortSignal,
): Promise<DeliveryAttempt[]> {
  const attempts: DeliveryAttempt[] = [];
  let pages = 0;
  for await (const page of app.paginate.iterator(app.rest.apps.listWebhookDeliveries, { per_page: 100 })) {
    pages += 1;
    let older = false;
    for (const entry of page.data) {
      const deliveredAt = new Date(entry.delivered_at);
      if (deliveredAt < since) {
        older = true;
        continue;
      }
      attempts.push({ id: entry.id, guid: entry.guid, deliveredAt, redelivery: entry.redelivery, statusCode: entry.status_code });
    }
    if (older || pages >= maxPages || signal?.aborted) break;
  }
  return attempts;
}

/** Asks GitHub to send a delivery again (`POST /app/hook/deliveries/{delivery_id}/attempts`), given one of its attempts' log id. */
export async function redeliver(app: AppOctokit, attemptId: number): Promise<void> {
  await app.rest.apps.redeliverWebhookDelivery({ delivery_id: attemptId });
}
