/**
 * The lifecycle's notification events (see docs/notifications.md): each is queued in the
 * ledger's outbox and delivered by the background worker, never on the grant or revocation path.
 */
import type { Grant, Person } from "../ledger/store.js";
import type { LifecycleDeps } from "../app/deps.js";
import type { GrantOutcome } from "../grant/grant-requests.js";

/** `granted` for each grant written, `failed` for each request that could not be granted. */
export async function notifyGrantOutcomes(
  deps: LifecycleDeps,
  outcomes: GrantOutcome[],
  request: { owner: string; repo: string; prNumber: number; requester: Person; reasonOf(secret: string, environment: string): string },
): Promise<void> {
  const { notifier } = deps;
  if (notifier === undefined) return;
  const at = new Date(deps.clock.now());
  for (const outcome of outcomes) {
    if (outcome.kind === "granted") {
      await notifier.notify(outcome.grant.breakGlass === true ? "break_glass" : "granted", outcome.grant, at);
    } else if (outcome.kind === "failed") {
      await notifier.notify("failed", outcome.grant, at, outcome.why);
    } else if (outcome.kind === "unrecorded") {
      const subject = {
        owner: request.owner,
        repo: request.repo,
        prNumber: request.prNumber,
        secret: outcome.secret,
        environment: outcome.environment,
        requester: request.requester,
        reason: request.reasonOf(outcome.secret, outcome.environment),
      };
      await notifier.notify("failed", subject, at, outcome.why);
    }
  }
}

/** `expired` or `revoked` once a grant has ended. */
export async function notifyEnded(deps: LifecycleDeps, grant: Grant, kind: "expired" | "revoked", reason: string): Promise<void> {
  await deps.notifier?.notify(kind, grant, new Date(deps.clock.now()), kind === "expired" ? null : reason);
}

/** `expiring_soon`: for the reminder before expiry (sent once per grant by its caller). */
export async function notifyExpiringSoon(deps: LifecycleDeps, grant: Grant): Promise<void> {
  await deps.notifier?.notify("expiring_soon", grant, new Date(deps.clock.now()));
}
