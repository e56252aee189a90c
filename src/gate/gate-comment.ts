/**
 * The comment GitHub shows on a job the gate approved or rejected: what was decided, why, and
 * what to do. Markdown of at most 1,024 characters (GitHub's limit). Every name in it (logins,
 * the environment, secret names) comes from outside the app and goes through `markdownLiteral`,
 * so it shows as written and mentions, links or formats nothing. Pure.
 */
import { formatExpiry, markdownLiteral as literal } from "../feedback/markdown.js";

/** GitHub takes at most this many characters of a protection rule's comment (the ledger refuses more too). */
export const MAX_COMMENT_LENGTH = 1024;

/** Longest environment name and login a comment shows; longer ones are cut (GitHub allows 255 for an environment). */
const MAX_SHOWN = 80;
/** Secret names a comment lists before "and N more". */
const MAX_SECRETS = 5;

export interface Who {
  login: string;
}

export type GateMessage =
  | { reason: "requester"; actor: Who; environment: string; secrets: string[]; expiresAt: Date; now: number }
  | { reason: "no-grant"; actor: Who; environment: string }
  | { reason: "not-requester"; actor: Who; environment: string }
  | { reason: "not-bound"; environment: string }
  | { reason: "repo-config-invalid"; environment: string }
  | { reason: "unknown-actor"; environment: string }
  | { reason: "rerun-by-other"; actor: Who; triggeringActor: Who; attempt: number; environment: string }
  | { reason: "grant-expired"; actor: Who; environment: string; expiredAt: Date; now: number }
  | { reason: "grant-not-written"; actor: Who; environment: string }
  | { reason: "started-before-grant"; actor: Who; environment: string; startedAt: Date; grantedAt: Date; now: number };

export type GateReason = GateMessage["reason"];

const REQUEST_HOW = "request one by adding an entry to jit-requests.yml in a pull request, and run the job again once it is granted";

export function gateComment(message: GateMessage): string {
  const text = compose(message);
  // The parts are cut to fit; this guards the sum, never cutting Markdown in the middle of a code span.
  return [...text].length <= MAX_COMMENT_LENGTH
    ? text
    : `jit-access: ${message.reason === "requester" ? "approved" : "rejected"} (${message.reason}).`;
}

function compose(message: GateMessage): string {
  const env = shown(message.environment);
  switch (message.reason) {
    case "requester":
      return (
        `**Approved by jit-access:** ${user(message.actor)} started this run and holds a live grant in ${env} ` +
        `(${secretList(message.secrets)}, until ${formatExpiry(message.expiresAt, message.now)}).`
      );
    case "no-grant":
      return `**Rejected by jit-access:** no live jit-access grant for ${user(message.actor)} in ${env}: ${REQUEST_HOW}.`;
    case "not-requester":
      return (
        `**Rejected by jit-access:** no live jit-access grant bound to ${user(message.actor)} in ${env}, who started this run; ` +
        `a grant here serves only its requester's own runs. ${capitalised(REQUEST_HOW)}.`
      );
    case "not-bound":
      return (
        `**Rejected by jit-access:** no grant in ${env} is bound to its requester, so this rule lets no job through. ` +
        "An operator binds grants with `bind_to_requester: true` (catalog or `.github/jit-access.yml`); " +
        "an environment gated by jit-access is meant for just-in-time access only."
      );
    case "repo-config-invalid":
      return (
        "**Rejected by jit-access:** `.github/jit-access.yml` on the default branch cannot be read, so whether the grants in " +
        `${env} are bound to their requesters is unknown. Fix the file (the pull request's jit-access check names the problem) and run the job again.`
      );
    case "unknown-actor":
      return `**Rejected by jit-access:** GitHub did not say who started this run, so no grant in ${env} can be matched to it.`;
    case "rerun-by-other":
      return (
        `**Rejected by jit-access:** this run was ${message.attempt > 1 ? "re-run" : "started"} by ${user(message.triggeringActor)}; ` +
        `only ${user(message.actor)}'s own runs may use ${user(message.actor)}'s grant in ${env}. ` +
        `${user(message.actor)} can re-run it.`
      );
    case "grant-expired":
      return (
        `**Rejected by jit-access:** ${user(message.actor)}'s jit-access grant in ${env} expired at ` +
        `${formatExpiry(message.expiredAt, message.now)}; ${REQUEST_HOW}.`
      );
    case "grant-not-written":
      return (
        `**Rejected by jit-access:** ${user(message.actor)}'s grant in ${env} is still being written; ` +
        "run the job again once the pull request says access was granted."
      );
    case "started-before-grant":
      return (
        `**Rejected by jit-access:** this run started at ${formatExpiry(message.startedAt, message.now)}, before ` +
        `${user(message.actor)}'s grant in ${env} was live (from ${formatExpiry(message.grantedAt, message.now)}); re-run it to use the grant.`
      );
  }
}

function user(who: Who): string {
  return literal(`@${cut(who.login)}`);
}

function shown(text: string): string {
  return literal(cut(text));
}

function secretList(secrets: readonly string[]): string {
  const listed = secrets.slice(0, MAX_SECRETS).map(shown).join(", ");
  return secrets.length > MAX_SECRETS ? `${listed} and ${secrets.length - MAX_SECRETS} more` : listed;
}

function cut(text: string): string {
  const chars = [...text];
  return chars.length > MAX_SHOWN ? `${chars.slice(0, MAX_SHOWN - 1).join("")}…` : text;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
