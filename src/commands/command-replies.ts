/**
 * What jit-access says in reply to a comment command, and in the reminder before expiry. Pure:
 * data in, Markdown out. Text from outside the app (reasons, logins, names, durations as
 * written) goes through `markdownLiteral` and renders inert; a login is mentioned only where
 * the reply means to notify that person, and only when it is a well-formed GitHub login.
 */
import type { Grant } from "../ledger/store.js";
import type { CatalogSecret } from "../policy/catalog.js";
import { formatDuration } from "../util/duration.js";
import { grantList, requestTable } from "../feedback/check-feedback.js";
import type { Decision } from "../approve/decide-pull-request.js";
import { formatExpiry, markdownLiteral as literal } from "../feedback/markdown.js";

/** How to ask for more than a command can give. */
export const MORE_TIME = "To ask for more time, add a new entry to the requests file (in a new pull request) and have it approved again.";

/** A GitHub login: letters, digits and single hyphens, not at either end, at most 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/u;

/** `@login` as a mention when the login is well-formed; otherwise the text, inert. */
export function mention(login: string): string {
  return LOGIN.test(login) ? `@${login}` : literal(`@${login}`);
}

/** `/jit status`: the request as the app reads it, each live grant, what it waits for, and any problem. Changes nothing. */
export function statusReply(decision: Decision, liveGrants: Grant[], now: number): string {
  const parts = ["**jit-access status**"];
  parts.push(requestPart(decision));
  parts.push(liveGrants.length === 0 ? "**Live grants:** none." : `**Live grants:**\n\n${grantList(liveGrants, now)}`);
  for (const { grant, reason } of decision.end) {
    parts.push(`**Problem:** the grant of ${literal(grant.secret)} in ${literal(grant.environment)} is to end: ${literal(reason)}.`);
  }
  return parts.join("\n\n");
}

function requestPart(decision: Decision): string {
  switch (decision.kind) {
    case "closed":
      return "**Request:** this pull request is closed; it requests nothing more.";
    case "untouched":
      return "**Request:** this pull request does not change the requests file, so it requests nothing.";
    case "approved":
      if (decision.breakGlass?.kind === "granted") {
        return [
          "**Request:** break-glass, granted without approval; a code owner's approval afterwards reviews it.",
          requestTable(decision.grant.items.map((i) => i.request)),
        ].join("\n\n");
      }
      return [
        `**Request:** approved by ${literal(
          decision.grant.items
            .flatMap((i) => i.approvers.map((a) => `@${a.login}`))
            .filter(unique)
            .join(", "),
        )}.`,
        requestTable(decision.grant.items.map((i) => i.request)),
      ].join("\n\n");
    case "policy-error":
    case "refused":
    case "invalid":
    case "removal-only":
    case "waiting":
    case "lapsed":
      return `**Request:** ${literal(decision.check.title)}\n\n${decision.check.summary}`;
  }
}

function unique<T>(value: T, index: number, all: T[]): boolean {
  return all.indexOf(value) === index;
}

/**
 * The reminder before expiry: mentions the requester, gives the expiry and, where the catalog
 * allows an extension still, the exact `/jit extend` command.
 */
export function reminderComment(grant: Grant, secret: CatalogSecret | undefined, extensions: number, now: number): string {
  const what = `${literal(grant.secret)} in environment ${literal(grant.environment)}`;
  const lines = [`${mention(grant.requester.login)} **Access ends soon:** ${what} expires ${formatExpiry(grant.expiresAt, now)}.`];
  const extension = secret?.extension;
  if (extension !== undefined && extensions < extension.times) {
    const firstWrite = (grant.grantedAt ?? grant.createdAt).getTime();
    const room = Math.min(extension.maxMs, firstWrite + secret!.maxDurationMs - grant.expiresAt.getTime());
    // Whole minutes, so the command is one a person would type.
    const by = Math.floor(room / 60_000) * 60_000;
    if (by > 0) lines.push(`To extend it by ${formatDuration(by)}, comment:\n\n\`\`\`\n/jit extend ${formatDuration(by)}\n\`\`\``);
    else lines.push(`It cannot be extended further: the catalog's max_duration is reached. ${MORE_TIME}`);
  } else {
    lines.push(`The catalog does not allow extending it further. ${MORE_TIME}`);
  }
  lines.push("To end it now, comment `/jit revoke`.");
  return lines.join("\n\n");
}

/** One line per grant: what `/jit extend` did to it, or why not. */
export function extendReply(outcomes: { grant: Grant; expiresAt?: Date; why?: string }[], by: string, now: number): string {
  if (outcomes.length === 0) return "**Nothing to extend:** this pull request has no live grant.";
  const lines = outcomes.map((o) =>
    o.expiresAt !== undefined
      ? `- ${literal(o.grant.secret)} in ${literal(o.grant.environment)}: extended by ${literal(by)}; now expires ${formatExpiry(o.expiresAt, now)}`
      : `- ${literal(o.grant.secret)} in ${literal(o.grant.environment)}: not extended: ${literal(o.why ?? "")}`,
  );
  const refused = outcomes.some((o) => o.expiresAt === undefined);
  return [`**/jit extend:**`, lines.join("\n"), ...(refused ? [MORE_TIME] : [])].join("\n\n");
}

/** What `/jit revoke` did. */
export function revokeReply(outcomes: { grant: Grant; ended: boolean }[]): string {
  if (outcomes.length === 0) return "**Nothing to revoke:** this pull request has no live grant.";
  const lines = outcomes.map(
    (o) =>
      `- ${literal(o.grant.secret)} in ${literal(o.grant.environment)}: ${o.ended ? "revoked" : "ending: the secret could not be deleted yet; jit-access keeps retrying"}`,
  );
  return [`**/jit revoke:**`, lines.join("\n")].join("\n\n");
}

/** Someone the command is not open to: a short reply, and nothing else happens. */
export function refusedReply(login: string, why: string): string {
  return `${literal(`@${login}`)}: ${why} Nothing was changed.`;
}
