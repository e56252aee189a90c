/**
 * Delivers webhooks to the app as GitHub does: a signed JSON POST with the event name and a
 * delivery id. Deliveries are kept so tests can redeliver the same body under the same id.
 */
import { createHmac, randomUUID } from "node:crypto";

export interface Delivery {
  /** X-GitHub-Delivery */
  id: string;
  event: string;
  action: string | null;
  /** The exact JSON body sent (and resent on redelivery). */
  body: string;
  /** The app's HTTP status for the last attempt; null if never sent or the connection failed. */
  status: number | null;
  attempts: number;
  /** When the delivery was created (simulator clock). */
  at: string;
}

export interface RawDelivery {
  event: string;
  body: string;
  /** The X-Hub-Signature-256 header; the correct one when omitted. */
  signature?: string;
  deliveryId?: string;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** How attempts are spread over several webhook URLs (see `WebhookDelivery.setUrls`). */
export interface SpreadOptions {
  /** Every `twiceEvery`-th attempt also goes, at the same moment, to the next URL; 0 (default) never. */
  twiceEvery?: number;
}

export class WebhookDelivery {
  readonly deliveries: Delivery[] = [];
  /** Several URLs taken in turn (replicas), or null for the one `url`. */
  private spread: { urls: string[]; twiceEvery: number; posts: number } | null = null;
  /**
   * Awaited after an attempt the app answered with 2xx, before `send` or `redeliver` resolves:
   * a test harness whose app answers before it processes (202 from its inbox) waits here for
   * the processing, so that a test goes on once the app has acted on the delivery. GitHub itself
   * does not wait; nothing waits unless a harness sets it.
   */
  settled: ((delivery: Delivery) => Promise<void>) | null = null;

  constructor(
    private url: string | undefined,
    private currentSecret: string,
    private readonly timeoutMs: number,
    private readonly timestamp: () => string,
    /** Called after each attempt of a recorded delivery, for GitHub's delivery log. */
    private readonly logAttempt: (
      delivery: Delivery,
      attempt: { statusCode: number; durationMs: number; redelivery: boolean },
    ) => void = () => undefined,
  ) {}

  setUrl(url: string): void {
    this.url = url;
    this.spread = null;
  }

  /**
   * Spreads attempts over several URLs, as several app replicas see deliveries: the n-th attempt
   * goes to `urls[n % urls.length]`, and with `twiceEvery: k` every k-th attempt is posted to that
   * URL and the next one at once (the same delivery id and body), as when a delivery reaches two
   * replicas. The attempt's status is the first URL's answer, or the other's when the first failed.
   */
  setUrls(urls: readonly string[], options: SpreadOptions = {}): void {
    if (urls.length === 0) throw new Error("setUrls needs at least one URL.");
    const twiceEvery = options.twiceEvery ?? 0;
    if (!Number.isInteger(twiceEvery) || twiceEvery < 0) throw new Error("twiceEvery must be a whole number, 0 for never.");
    this.url = urls[0];
    this.spread = { urls: [...urls], twiceEvery, posts: 0 };
  }

  /** Where the next attempt goes: one URL, or two when it is one to send twice. */
  private targets(): string[] {
    const spread = this.spread;
    if (spread === null) {
      if (this.url === undefined) {
        throw new Error("No webhook URL: pass webhookUrl to startSimulator, call sim.setWebhookUrl(url), or pass deliver: false.");
      }
      return [this.url];
    }
    const n = spread.posts++;
    const first = spread.urls[n % spread.urls.length]!;
    const twice = spread.twiceEvery > 0 && spread.urls.length > 1 && (n + 1) % spread.twiceEvery === 0;
    return twice ? [first, spread.urls[(n + 1) % spread.urls.length]!] : [first];
  }

  get secret(): string {
    return this.currentSecret;
  }

  /** Deliveries from now on are signed with `secret` (the app's webhook secret changed). */
  setSecret(secret: string): void {
    this.currentSecret = secret;
  }

  /** Records a delivery for `payload`; posts it unless `deliver` is false. */
  async send(event: string, payload: Record<string, unknown>, deliver: boolean): Promise<Delivery> {
    const delivery: Delivery = {
      id: randomUUID(),
      event,
      action: typeof payload.action === "string" ? payload.action : null,
      body: JSON.stringify(payload),
      status: null,
      attempts: 0,
      at: this.timestamp(),
    };
    this.deliveries.push(delivery);
    if (deliver) await this.attempt(delivery);
    return delivery;
  }

  /** Sends a recorded delivery again: same body, same delivery id. */
  async redeliver(id: string): Promise<Delivery> {
    const delivery = this.deliveries.find((candidate) => candidate.id === id);
    if (!delivery) throw new Error(`No delivery ${id}; ids are in sim.deliveries.`);
    await this.attempt(delivery);
    return delivery;
  }

  /** Posts an arbitrary body, e.g. with a wrong signature; returns the app's status. */
  async sendRaw(raw: RawDelivery): Promise<number> {
    return this.post(raw.event, raw.deliveryId ?? randomUUID(), raw.body, raw.signature ?? signBody(this.secret, raw.body));
  }

  private async attempt(delivery: Delivery): Promise<void> {
    delivery.attempts += 1;
    delivery.status = null;
    const redelivery = delivery.attempts > 1;
    const started = performance.now();
    try {
      delivery.status = await this.post(delivery.event, delivery.id, delivery.body, signBody(this.secret, delivery.body));
    } finally {
      this.logAttempt(delivery, { statusCode: delivery.status ?? 0, durationMs: performance.now() - started, redelivery });
    }
    if (delivery.status !== null && delivery.status >= 200 && delivery.status < 300) await this.settled?.(delivery);
  }

  private async post(event: string, id: string, body: string, signature: string): Promise<number> {
    const targets = this.targets();
    const answers = await Promise.allSettled(targets.map((url) => this.postTo(url, event, id, body, signature)));
    const answered = answers.find((answer) => answer.status === "fulfilled");
    if (answered) return answered.value;
    throw (answers[0] as PromiseRejectedResult).reason;
  }

  private async postTo(url: string, event: string, id: string, body: string, signature: string): Promise<number> {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/sim",
          "x-github-event": event,
          "x-github-delivery": id,
          "x-hub-signature-256": signature,
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer();
      return response.status;
    } catch (error) {
      throw new Error(
        `Webhook ${event} (${id}) to ${url} failed: is the app listening there? Pass deliver: false to record it without sending.`,
        {
          cause: error,
        },
      );
    }
  }
}
