/**
 * The webhook inbox's rows (`webhook_inbox`, migration 10), as both stores keep them: a verified
 * delivery is recorded under its `X-GitHub-Delivery` id before it is answered, then claimed by one
 * process at a time (a lease: owner and expiry), processed, and marked done, retried later, or dead.
 */

/** GitHub's own cap on a webhook body, and the inbox's bound on a payload it keeps. */
export const MAX_INBOX_PAYLOAD_BYTES = 25 * 1024 * 1024;
/** Delivery ids and event names longer than this are refused (GitHub's are a GUID and a word). */
export const MAX_INBOX_KEY_LENGTH = 200;
/** An error kept with an entry is cut to this many characters. */
export const MAX_INBOX_ERROR_LENGTH = 2_000;

export type InboxState = "pending" | "done" | "dead";

export interface NewDelivery {
  /** X-GitHub-Delivery. */
  id: string;
  /** X-GitHub-Event. */
  event: string;
  /** The verified body, as received (JSON text of an object). */
  payload: string;
  receivedAt: Date;
}

export interface InboxEntry {
  id: string;
  event: string;
  payload: string;
  bytes: number;
  receivedAt: Date;
  state: InboxState;
  /** Claims so far (each claim is one attempt, finished or not). */
  attempts: number;
  /** Not claimed before this instant (a retry's backoff). */
  nextAttemptAt: Date;
  claimedBy: string | null;
  claimExpiresAt: Date | null;
  lastError: string | null;
  /** When it was processed (done) or given up (dead). */
  finishedAt: Date | null;
}

export interface InboxClaim {
  /** Who claims: one id per process, never reused. */
  owner: string;
  now: Date;
  /** How long the claim lasts; after it, another process may claim the entry again. */
  leaseMs: number;
  limit: number;
  /**
   * An entry claimed this many times already whose lease ran out (its process died each time)
   * is not claimed again: it becomes `dead`, with an error that says so.
   */
  maxAttempts: number;
}

/** How the delivery inbox is counted for an operator (and a metric). */
export interface InboxCounts {
  pending: number;
  done: number;
  dead: number;
}

export function checkNewDelivery(delivery: NewDelivery): number {
  for (const [what, value] of [
    ["delivery id", delivery.id],
    ["event", delivery.event],
  ] as const) {
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_INBOX_KEY_LENGTH) {
      throw new Error(`a webhook delivery's ${what} must be 1 to ${MAX_INBOX_KEY_LENGTH} characters`);
    }
  }
  const bytes = Buffer.byteLength(delivery.payload, "utf8");
  if (bytes > MAX_INBOX_PAYLOAD_BYTES) {
    throw new Error(`the payload of delivery ${delivery.id} is ${bytes} bytes; the inbox keeps at most ${MAX_INBOX_PAYLOAD_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.payload);
  } catch {
    throw new Error(`the payload of delivery ${delivery.id} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`the payload of delivery ${delivery.id} is not a JSON object`);
  }
  checkTime(delivery.receivedAt, "receivedAt");
  return bytes;
}

export function checkClaim(claim: InboxClaim): void {
  if (claim.owner.length === 0 || claim.owner.length > MAX_INBOX_KEY_LENGTH) throw new Error("an inbox claim needs an owner");
  checkTime(claim.now, "now");
  for (const [what, value] of [
    ["leaseMs", claim.leaseMs],
    ["limit", claim.limit],
    ["maxAttempts", claim.maxAttempts],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`an inbox claim's ${what} must be a positive whole number, got ${value}`);
  }
}

export function checkTime(value: Date, what: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new Error(`${what} must be a valid date`);
  return ms;
}

export function shortError(error: string): string {
  return error.length > MAX_INBOX_ERROR_LENGTH ? `${error.slice(0, MAX_INBOX_ERROR_LENGTH)}…` : error;
}

/** The error a dead entry keeps when its process stopped during every attempt. */
export function abandonedError(attempts: number): string {
  return `the process handling it stopped before it finished, ${attempts} time${attempts === 1 ? "" : "s"}; not claimed again`;
}
