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

export class WebhookDelivery {
  readonly deliveries: Delivery[] = [];

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
  }

  private async post(event: string, id: string, body: string, signature: string): Promise<number> {
    const url = this.url;
    if (url === undefined) {
      throw new Error("No webhook URL: pass webhookUrl to startSimulator, call sim.setWebhookUrl(url), or pass deliver: false.");
    }
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
