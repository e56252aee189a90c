/**
 * The events jit-access sends to `JIT_NOTIFY_URL`, and how each URL receives them: the JSON
 * event as it is (signed, see `signature`), or a Slack message for a Slack incoming webhook.
 * Pure: no I/O, no clock. The shape is documented in docs/notifications.md; it only grows
 * (new optional fields), and `version` changes if a field ever changes meaning.
 */
import { createHmac } from "node:crypto";

export const NOTIFY_EVENT_VERSION = 1;

export type NotifyEventName = "granted" | "expiring_soon" | "expired" | "revoked" | "failed" | "break_glass" | "lapsed";

/** One event, as POSTed to a receiver that is not Slack. Never holds a secret value. */
export interface NotifyEvent {
  version: typeof NOTIFY_EVENT_VERSION;
  /** Unique per event (the same for every URL it goes to): a receiver can drop a repeated delivery. */
  id: string;
  event: NotifyEventName;
  /** When it happened (ISO 8601, UTC). */
  at: string;
  /** `owner/name`. */
  repository: string;
  pull_request: { number: number; url: string };
  /** The secret's name, never its value. */
  secret: string;
  environment: string;
  /** Login of the PR's author. */
  requester: string;
  /** Logins whose approval counted (empty for break-glass and lapsed requests). */
  approvers: string[];
  /** When the access ends or ended (ISO 8601), or null when nothing was granted. */
  expires_at: string | null;
  /** `request`: the requester's reason; `event`: why this event happened (a revocation's reason, a failure), or null. */
  reasons: { request: string; event: string | null };
  /** True for grants made by break-glass (no approval before the grant). */
  break_glass: boolean;
  /** The ledger's grant id, or null when no grant was recorded. */
  grant_id: string | null;
}

/** What an event is built from: a grant as the ledger holds it, or the request alone. */
export interface EventSubject {
  owner: string;
  repo: string;
  prNumber: number;
  secret: string;
  environment: string;
  requester: { login: string };
  approvers?: readonly { login: string }[];
  reason: string;
  expiresAt?: Date | null;
  id?: string;
  breakGlass?: boolean;
}

export interface EventInput {
  id: string;
  event: NotifyEventName;
  at: Date;
  subject: EventSubject;
  /** Why this event happened, when the event says more than its name. */
  why?: string | null;
  /** The GitHub web address, `https://github.com` or a GitHub Enterprise Server's. */
  webUrl: string;
}

export function notifyEvent({ id, event, at, subject, why = null, webUrl }: EventInput): NotifyEvent {
  return {
    version: NOTIFY_EVENT_VERSION,
    id,
    event,
    at: at.toISOString(),
    repository: `${subject.owner}/${subject.repo}`,
    pull_request: { number: subject.prNumber, url: `${webUrl}/${subject.owner}/${subject.repo}/pull/${subject.prNumber}` },
    secret: subject.secret,
    environment: subject.environment,
    requester: subject.requester.login,
    approvers: (subject.approvers ?? []).map((a) => a.login),
    expires_at: subject.expiresAt ? subject.expiresAt.toISOString() : null,
    reasons: { request: subject.reason, event: why },
    break_glass: subject.breakGlass ?? false,
    grant_id: subject.id ?? null,
  };
}

/** GitHub's web address for an API base URL: `https://api.github.com` → `https://github.com`; a GHES `/api/v3` base → its host. */
export function webUrlFor(apiBaseUrl: string): string {
  if (/^https:\/\/api\.github\.com\/?$/.test(apiBaseUrl)) return "https://github.com";
  return apiBaseUrl.replace(/\/api\/v3\/?$/, "").replace(/\/$/, "");
}

/** A Slack incoming webhook (`https://hooks.slack.com/services/…`, or `…/triggers/…`): gets a Slack message instead of the event. */
export function isSlackWebhook(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      parsed.protocol === "https:" && parsed.hostname === "hooks.slack.com" && /^\/(services|triggers|workflows)\//.test(parsed.pathname)
    );
  } catch {
    return false;
  }
}

/** A URL fit for logs: scheme, host and port, never the path (a Slack webhook's path is its credential). */
export function urlForLog(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

const HEADLINES: Record<NotifyEventName, string> = {
  granted: "Access granted",
  expiring_soon: "Access expiring soon",
  expired: "Access expired",
  revoked: "Access revoked",
  failed: "Access failed",
  break_glass: "Break-glass access granted without approval",
  lapsed: "Request lapsed unapproved",
};

/** Slack's mrkdwn special characters, escaped as Slack asks (`&`, `<`, `>`), so text cannot form links or mentions. */
function slackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The Slack message for an event: a headline, the facts, a link to the PR. */
export function slackMessage(event: NotifyEvent): Record<string, unknown> {
  const headline = `${event.event === "break_glass" ? ":rotating_light: " : ""}${HEADLINES[event.event]}: ${event.secret} in ${event.environment}`;
  const fields: [string, string][] = [
    ["Repository", event.repository],
    ["Requester", event.requester],
    ...(event.approvers.length > 0 ? [["Approvers", event.approvers.join(", ")] as [string, string]] : []),
    ...(event.expires_at !== null ? [["Expires", event.expires_at] as [string, string]] : []),
    ["Reason", event.reasons.request],
    ...(event.reasons.event !== null ? [["Why", event.reasons.event] as [string, string]] : []),
  ];
  return {
    text: slackText(headline),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${slackText(headline)}*` } },
      { type: "section", fields: fields.map(([label, value]) => ({ type: "mrkdwn", text: `*${label}:* ${slackText(value)}` })) },
      {
        type: "actions",
        elements: [
          { type: "button", text: { type: "plain_text", text: `Pull request #${event.pull_request.number}` }, url: event.pull_request.url },
        ],
      },
    ],
  };
}

/** The exact body a URL receives for an event. */
export function bodyFor(url: string, event: NotifyEvent): string {
  return JSON.stringify(isSlackWebhook(url) ? slackMessage(event) : event);
}

/** `X-Jit-Signature-256`: HMAC-SHA256 of the body, keyed with JIT_NOTIFY_SECRET, as `sha256=<hex>` (GitHub's webhook style). */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}
