/**
 * The reminder before expiry: once per grant, at the catalog's `notify_before` ahead of its
 * expiry (default 10 minutes, or half the grant for grants under 20 minutes), a comment on the
 * request PR mentions the requester, gives the expiry and, where the catalog allows an extension
 * still, the exact `/jit extend` command.
 *
 * Exactly once and restart-safe: the ledger records the reminder (`recordReminder`, with its
 * audit record) before the comment is posted, and only the caller that recorded it posts. A
 * comment that GitHub refuses is logged and not retried: a second reminder is worse than none.
 * The expiry scheduler runs `sendDueReminders` on every tick and arms one timer for the next
 * reminder due before the following tick.
 */
import { locateRepository } from "../github/locate-repository.js";
import { grantAudit, type Grant } from "../ledger/store.js";
import type { Catalog, CatalogSecret } from "../policy/catalog.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { asciiUpper } from "../util/ascii-case.js";
import { reminderComment } from "./command-replies.js";
import { errorSummary } from "../util/error-message.js";

export const DEFAULT_NOTIFY_BEFORE_MS = 10 * 60_000;
/** Grants shorter than this are reminded at half their duration. */
export const SHORT_GRANT_MS = 20 * 60_000;
/** Grants read per call; what is left waits for the next tick. */
const PAGE = 500;

/** How long before its expiry a grant's requester is reminded. */
export function reminderLeadMs(secret: CatalogSecret | undefined, grant: Pick<Grant, "durationMs">): number {
  if (secret?.notifyBeforeMs !== undefined) return secret.notifyBeforeMs;
  return grant.durationMs < SHORT_GRANT_MS ? Math.floor(grant.durationMs / 2) : DEFAULT_NOTIFY_BEFORE_MS;
}

/** The longest lead any grant can have under this catalog: how far ahead to look. */
function horizonMs(catalog: Catalog): number {
  let longest = DEFAULT_NOTIFY_BEFORE_MS;
  for (const secret of catalog.secrets.values())
    if (secret.notifyBeforeMs !== undefined) longest = Math.max(longest, secret.notifyBeforeMs);
  return longest;
}

/**
 * Sends every reminder that is due now and not sent yet; resolves to how many were sent and the
 * wall-clock time the next one falls due within `lookAheadMs` (null when none does).
 */
export async function sendDueReminders(deps: LifecycleDeps, log: Log, lookAheadMs = 0): Promise<{ sent: number; nextAt: number | null }> {
  const now = deps.clock.now();
  const candidates = await deps.store.awaitingReminder(new Date(now + horizonMs(deps.catalog) + lookAheadMs), PAGE);
  let sent = 0;
  let nextAt: number | null = null;
  for (const grant of candidates) {
    const secret = deps.catalog.secrets.get(asciiUpper(grant.secret));
    const dueAt = grant.expiresAt.getTime() - reminderLeadMs(secret, grant);
    // An expired grant is the sweep's to end; a reminder then would say nothing useful.
    if (grant.expiresAt.getTime() <= now) continue;
    if (dueAt > now) {
      nextAt = nextAt === null ? dueAt : Math.min(nextAt, dueAt);
      continue;
    }
    if (await remind(deps, grant, secret, now, log)) sent++;
  }
  return { sent, nextAt };
}

async function remind(deps: LifecycleDeps, grant: Grant, secret: CatalogSecret | undefined, now: number, log: Log): Promise<boolean> {
  const recorded = await deps.store.recordReminder(
    grant.id,
    new Date(now),
    grantAudit(grant, {
      at: new Date(now),
      action: "reminded",
      actor: "jit-access",
      details: { requester: grant.requester.login, expiresAt: grant.expiresAt.toISOString() },
    }),
  );
  // Another tick, timer or replica recorded it first: that one sends it.
  if (!recorded) return false;
  try {
    const followUp = await deps.store.followUp(grant.id);
    // The pull request of the repository the grant was made in, whatever it is called now.
    const { client } = await locateRepository(deps, grant);
    await client.comment(grant.prNumber, reminderComment(grant, secret, followUp?.extensions ?? 0, now));
    log.info({ grant: grant.id, repository: `${grant.owner}/${grant.repo}`, pr: grant.prNumber }, "reminder sent before expiry");
  } catch (error) {
    log.warn({ grant: grant.id, error: errorSummary(error) }, "the reminder before expiry could not be posted; it is not sent again");
  }
  return true;
}
