import type { AuditInput, Grant } from "../ledger/store.js";
import { LostAccessError, RepoClient } from "../github/repo-client.js";
import { secretLockKey, type LifecycleDeps, type Log } from "./deps.js";
import { LABELS } from "./labels.js";
import { markdownLiteral as literal } from "./markdown.js";

export type EndKind = "expired" | "revoked";

export interface RevokeRequest {
  grant: Grant;
  kind: EndKind;
  /** Why it ends: "expired", "pull request closed without merging", an operator's reason. */
  reason: string;
  /** Login of the person or `jit-access`/`operator:NAME`. */
  actor: string;
  /** Added to the details of the audit records this revocation writes (e.g. who ran the CLI, where). */
  auditDetails?: Record<string, unknown>;
}

export type RevokeOutcome =
  /** `deleted` is false when another live grant keeps the secret (`otherLiveGrants` > 0) or it was already gone. */
  | { kind: "ended"; grant: Grant; deleted: boolean; otherLiveGrants: number }
  /** The grant was no longer live (another process ended it). */
  | { kind: "not-live"; grant: Grant }
  | { kind: "retry"; grant: Grant; error: string; nextAttemptAt: Date };

export { LABELS } from "./labels.js";

/** After this many failed attempts the PR is told that the secret is still present. */
export const WARN_AFTER_ATTEMPTS = 3;

/** Exponential backoff for failed revocations: 5 s, 10 s, 20 s … capped at 5 minutes. */
export function revokeBackoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

/**
 * Ends one grant: deletes the secret unless another live grant for the same repository,
 * environment and name still needs it (a 404 means already gone: success), then records the
 * end and tells the PR. A failed DELETE keeps the grant live and due, with backoff; it is
 * never dropped.
 */
export async function revokeGrant(deps: LifecycleDeps, request: RevokeRequest, log: Log): Promise<RevokeOutcome> {
  const { grant } = request;
  // Set once the installation could be authenticated; feedback to the PR needs it.
  let client: RepoClient | null = null;
  const lockKey = secretLockKey(grant.owner, grant.repo, grant.environment, grant.secret);

  const result = await deps.locks.run(lockKey, async (): Promise<RevokeOutcome> => {
    const current = await deps.store.getGrant(grant.id);
    if (!current || (current.state !== "active" && current.state !== "granting")) {
      return { kind: "not-live", grant: current ?? grant };
    }
    // Each state change carries its audit record: the ledger writes both or neither.
    const audit = (action: "expired" | "revoked" | "revoke_failed", details: Record<string, unknown>): AuditInput => ({
      at: new Date(deps.clock.now()),
      action,
      actor: request.actor,
      owner: grant.owner,
      repo: grant.repo,
      prNumber: grant.prNumber,
      grantId: grant.id,
      environment: grant.environment,
      secret: grant.secret,
      details: { ...request.auditDetails, ...details },
    });
    try {
      // An installation that can no longer be authenticated (suspended, deleted) is a failed
      // attempt like any other: audited, backed off, retried.
      const repoClient = new RepoClient(await deps.octokitFor(grant.installationId), grant.owner, grant.repo);
      client = repoClient;
      const others = await deps.store.countOtherLive(grant.owner, grant.repo, grant.environment, grant.secret, grant.id);
      const deleted = others === 0 ? (await repoClient.deleteEnvironmentSecret(grant.environment, grant.secret)) === "deleted" : false;
      const ended = await deps.store.markEnded(
        grant.id,
        request.kind,
        request.reason,
        new Date(deps.clock.now()),
        audit(request.kind, { reason: request.reason, secretDeleted: deleted, otherLiveGrants: others }),
      );
      log.info(
        { grant: grant.id, repository: repoClient.fullName, environment: grant.environment, secret: grant.secret, deleted, others },
        request.kind === "expired" ? "grant expired" : "grant revoked",
      );
      return { kind: "ended", grant: ended, deleted, otherLiveGrants: others };
    } catch (error) {
      // Another process (a second replica, or `jit-access sweep` from cron) may have ended the
      // grant meanwhile: then there is nothing to retry, and recording a failure would throw.
      const latest = await deps.store.getGrant(grant.id);
      if (latest && latest.state !== "active" && latest.state !== "granting") return { kind: "not-live", grant: latest };
      const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);
      if (error instanceof LostAccessError) log.error({ grant: grant.id, repository: error.repository }, message);
      const attempts = current.revokeAttempts + 1;
      const nextAttemptAt = new Date(deps.clock.now() + revokeBackoffMs(attempts));
      // An early end (revoke, PR closed) remembers how it is to end, so the sweep retries it now,
      // not only at the expiry.
      const pendingEnd = request.kind === "revoked" ? { kind: request.kind, reason: request.reason, actor: request.actor } : undefined;
      const updated = await deps.store.recordRevokeFailure(
        grant.id,
        message,
        nextAttemptAt,
        pendingEnd,
        audit("revoke_failed", { error: message, attempts, nextAttemptAt: nextAttemptAt.toISOString() }),
      );
      log.warn(
        { grant: grant.id, repository: `${grant.owner}/${grant.repo}`, environment: grant.environment, secret: grant.secret, attempts, error: message },
        `revocation failed; retrying at ${nextAttemptAt.toISOString()}`,
      );
      return { kind: "retry", grant: updated, error: message, nextAttemptAt };
    }
  });

  if (client !== null) await tellPullRequest(deps, client, request, result, log);
  return result;
}

async function tellPullRequest(deps: LifecycleDeps, client: RepoClient, request: RevokeRequest, result: RevokeOutcome, log: Log): Promise<void> {
  const { grant } = request;
  try {
    if (result.kind === "ended") {
      const what = `${literal(grant.secret)} in environment ${literal(grant.environment)}`;
      const note = result.deleted
        ? "The secret has been deleted."
        : result.otherLiveGrants > 0
          ? "Another live grant still uses this secret, so it stays until that one ends."
          : "The secret was already gone from the environment.";
      const body =
        request.kind === "expired"
          ? `**Access expired:** ${what}. ${note}`
          : `**Access revoked:** ${what} (${literal(request.reason)}). ${note}`;
      await client.comment(grant.prNumber, body);
      const stillLive = await deps.store.listGrants({ owner: grant.owner, repo: grant.repo, prNumber: grant.prNumber, liveOnly: true });
      if (stillLive.length === 0) await client.removeLabel(grant.prNumber, LABELS.granted);
      await client.addLabels(grant.prNumber, [request.kind === "expired" ? LABELS.expired : LABELS.revoked]);
    } else if (result.kind === "retry" && result.grant.revokeAttempts === WARN_AFTER_ATTEMPTS) {
      await client.comment(
        grant.prNumber,
        `**Revocation is failing:** ${literal(grant.secret)} is still present in environment ${literal(grant.environment)} ` +
          `after ${WARN_AFTER_ATTEMPTS} attempts to delete it (${literal(result.error)}). jit-access keeps retrying; ` +
          `an administrator can delete it now under Settings → Environments → ${literal(grant.environment)}.`,
      );
    }
  } catch (error) {
    // Feedback is best effort: the ledger already holds the truth.
    log.warn({ grant: grant.id, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "could not update the pull request");
  }
}
