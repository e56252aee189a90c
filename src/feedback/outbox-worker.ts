/**
 * Delivers the notification outbox: every due row is POSTed to its URL with its body as queued,
 * signed with JIT_NOTIFY_SECRET (`X-Jit-Signature-256`). A 2xx answer delivers it; anything else
 * (a refused connection, a time-out, another status) is retried with backoff — 10 s doubling to
 * 10 minutes — until the notification is a day old, then given up (logged). Runs in the server
 * every few seconds, apart from the lifecycle: a receiver that is down delays nothing else.
 */
import type { LedgerStore, Notification } from "../ledger/store.js";
import type { Log } from "../app/deps.js";
import type { Clock, TimerHandle } from "../util/clock.js";
import { signature, urlForLog } from "./notify-event.js";
import { errorSummary } from "../util/error-message.js";

/** How long a notification is retried before it is given up (at least an hour, as promised; a day). */
export const NOTIFY_GIVE_UP_MS = 24 * 60 * 60_000;
/** How often the worker looks for due notifications. */
export const NOTIFY_POLL_MS = 5_000;
/** How long one POST may take. */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** Backoff after the `attempts`-th failure: 10 s, 20 s, 40 s … capped at 10 minutes. */
export function notifyBackoffMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}

export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{ status: number }>;

export interface NotificationWorkerOptions {
  store: Pick<LedgerStore, "dueNotifications" | "recordNotificationDelivered" | "recordNotificationFailure">;
  clock: Clock;
  log: Log;
  /** JIT_NOTIFY_SECRET; without one, bodies are sent unsigned (Slack webhooks need none). */
  secret?: string;
  fetch?: Fetch;
  pollMs?: number;
  timeoutMs?: number;
}

export interface DeliveryPass {
  delivered: number;
  failed: number;
  abandoned: number;
}

export class NotificationWorker {
  #timer: TimerHandle | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(private readonly options: NotificationWorkerOptions) {}

  /** Looks for due notifications now and then every `pollMs`, until `stop`. */
  start(): void {
    this.#stopped = false;
    const tick = (): void => {
      if (this.#stopped) return;
      this.#running = this.deliverDue()
        .catch((error: unknown) => this.options.log.warn({ error: errorSummary(error) }, "notification delivery pass failed"))
        .finally(() => {
          if (!this.#stopped) this.#timer = this.options.clock.setTimer(tick, this.options.pollMs ?? NOTIFY_POLL_MS);
        });
    };
    tick();
  }

  /** No further pass starts; resolves once the pass under way is over. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running.catch(() => undefined);
  }

  /** One pass: every notification due now, each attempted once. */
  async deliverDue(limit = 50): Promise<DeliveryPass> {
    const { store, clock } = this.options;
    const pass: DeliveryPass = { delivered: 0, failed: 0, abandoned: 0 };
    const due = await store.dueNotifications(new Date(clock.now()), limit);
    await Promise.all(
      due.map(async (n) => {
        const outcome = await this.deliver(n);
        pass[outcome] += 1;
      }),
    );
    return pass;
  }

  private async deliver(n: Notification): Promise<keyof DeliveryPass> {
    const { store, clock, log, secret } = this.options;
    const fetch = this.options.fetch ?? globalThis.fetch;
    let error: string;
    try {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "jit-access",
        "x-jit-event": n.event,
        "x-jit-delivery": n.id,
      };
      if (secret !== undefined) headers["x-jit-signature-256"] = signature(secret, n.body);
      const response = await fetch(n.url, {
        method: "POST",
        headers,
        body: n.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? NOTIFY_TIMEOUT_MS),
      });
      if (response.status >= 200 && response.status < 300) {
        await store.recordNotificationDelivered(n.id, new Date(clock.now()));
        return "delivered";
      }
      error = `HTTP ${response.status}`;
    } catch (caught) {
      error = errorSummary(caught, { withCause: true });
    }
    const now = clock.now();
    const attempts = n.attempts + 1;
    const giveUp = now - n.createdAt.getTime() >= NOTIFY_GIVE_UP_MS;
    const next = giveUp ? null : new Date(now + notifyBackoffMs(attempts));
    await store.recordNotificationFailure(n.id, error, new Date(now), next);
    const where = urlForLog(n.url);
    if (giveUp) {
      log.error(
        { notification: n.id, event: n.event, url: where, attempts, error },
        "gave up delivering a notification after a day of retries",
      );
      return "abandoned";
    }
    log.warn(
      { notification: n.id, event: n.event, url: where, attempts, error },
      `notification delivery failed; retrying at ${next!.toISOString()}`,
    );
    return "failed";
  }
}
