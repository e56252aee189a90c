/**
 * The ledger's notification outbox (`notify_outbox`) and the first evaluation of each request
 * head (`request_heads`), as both stores hand them out (migration 12).
 */

/** One event for one URL, waiting for the background worker (`src/feedback/outbox-worker.ts`). */
export interface Notification {
  id: string;
  url: string;
  /** The event's name (`granted`, `expired`, …), for logs and diagnostics. */
  event: string;
  /** Exactly what is POSTed: the JSON event, or a Slack message. Never a secret value. */
  body: string;
  createdAt: Date;
  /** Failed attempts so far. */
  attempts: number;
  /** Earliest time of the next attempt. */
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  /** Set when the worker gave up on it (too old); it is never tried again. */
  abandonedAt: Date | null;
  lastError: string | null;
}

export type NewNotification = Pick<Notification, "url" | "event" | "body" | "createdAt">;

/** A pull request head that asked for access: when it was first evaluated and when it lapses. */
export interface RequestHead {
  installationId: number;
  owner: string;
  repo: string;
  prNumber: number;
  headSha: string;
  firstEvaluatedAt: Date;
  /** `firstEvaluatedAt + ttlMs`: unless approved by then, the request lapses. */
  lapsesAt: Date;
  ttlMs: number;
  lapsedAt: Date | null;
  /** When the head's approvals were complete (it was granted); a head approved never lapses. */
  approvedAt: Date | null;
}

export type NewRequestHead = Pick<RequestHead, "installationId" | "owner" | "repo" | "prNumber" | "headSha" | "firstEvaluatedAt" | "ttlMs">;
export type RequestHeadKey = Pick<RequestHead, "owner" | "repo" | "prNumber" | "headSha">;

export function checkNewNotification(n: NewNotification): void {
  if (!/^https?:\/\//.test(n.url)) throw new Error(`a notification URL must be http(s); got ${n.url.slice(0, 40)}`);
  if (Number.isNaN(n.createdAt.getTime())) throw new Error("a notification needs a valid createdAt");
}

export function checkNewRequestHead(h: NewRequestHead): void {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(h.headSha))
    throw new Error(`a request head must be a commit SHA; got ${h.headSha.slice(0, 70)}`);
  if (!Number.isSafeInteger(h.ttlMs) || h.ttlMs <= 0)
    throw new Error(`a request head's ttlMs must be a positive whole number; got ${h.ttlMs}`);
  if (Number.isNaN(h.firstEvaluatedAt.getTime())) throw new Error("a request head needs a valid firstEvaluatedAt");
}
