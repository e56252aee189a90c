import { grantAudit, type AuditInput, type Grant } from "../ledger/store.js";
import { RepoClient } from "../github/repo-client.js";
import { locateRepository, type RepositoryNow } from "../github/locate-repository.js";
import { LostAccessError } from "../github/github-failure.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { secretLockKey } from "../ledger/secret-locks.js";
import { endedLabels, labelPullRequest } from "../feedback/labels.js";
import { markdownLiteral as literal } from "../feedback/markdown.js";
import { errorSummary } from "../util/error-message.js";
import { notifyEnded } from "../feedback/notify-lifecycle.js";

/**
 * How a grant ends: its time is up, someone ended it early, or it could not be written (`failed`,
 * once what an earlier attempt may have left is deleted).
 */
export type EndKind = "expired" | "revoked" | "failed";

export interface RevokeRequest {
  grant: Grant;
  kind: EndKind;
  /** Why it ends: "expired", "pull request closed without merging", an operator's reason, why the write failed. */
  reason: string;
  /** Login of the person or `jit-access`/`operator:NAME`. */
  actor: string;
  /** Added to the details of the audit records this revocation writes (e.g. who ran the CLI, where). */
  auditDetails?: Record<string, unknown>;
  /**
   * Where the event that ends the grant says its repository is now (a close webhook names it and
   * its installation after a rename or transfer). Used only when its id is the grant's.
   */
  repositoryNow?: RepositoryNow;
  /**
   * Ends the grant only if it is still as the caller found it: read again under the secret's
   * lock, a grant for which this says false is left as it is (outcome `changed`). The pass over
   * interrupted grants ends one only while it is still interrupted, never one a fresh approval
   * resumed meanwhile.
   */
  onlyIf?: (current: Grant) => boolean;
}

export type RevokeOutcome =
  /**
   * `deleted` is false when another grant holds the secret (`otherLiveGrants` > 0: live and
   * written), when it was already gone, or when nothing was ever written for this grant
   * (`secretWritten` false: no DELETE was sent).
   */
  | { kind: "ended"; grant: Grant; deleted: boolean; otherLiveGrants: number; secretWritten: boolean }
  /** The grant was no longer live (another process ended it). */
  | { kind: "not-live"; grant: Grant }
  /** The grant changed since the caller read it (`RevokeRequest.onlyIf` said no): nothing was done. */
  | { kind: "changed"; grant: Grant }
  | { kind: "retry"; grant: Grant; error: string; nextAttemptAt: Date };

export { LABELS } from "../feedback/labels.js";

/** After this many failed attempts the PR is told that the secret is still present. */
export const WARN_AFTER_ATTEMPTS = 3;

/** Exponential backoff for failed revocations: 5 s, 10 s, 20 s … capped at 5 minutes. */
export function revokeBackoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

/**
 * Ends one grant: deletes the secret unless another grant holds it (live and written) or nothing
 * was ever written for this one (a 404 means already gone: success), then records the end and
 * tells the PR. A failed DELETE keeps the grant live and due, with backoff; it is never dropped.
 *
 * The repository is the one the grant was made in, found by its id under its current name and
 * installation (`locateRepository`): a rename, a transfer, or a new repository under the old name
 * never makes a 404 elsewhere count as "already gone".
 */
export async function revokeGrant(deps: LifecycleDeps, request: RevokeRequest, log: Log): Promise<RevokeOutcome> {
  const { result, client } = await endAndLocate(deps, request, log);
  await tellWith(deps, request, result, log, client);
  return result;
}

/** A revocation whose outcome is settled (the secret deleted, the end recorded) and whose PR is not told yet. */
export interface Revocation {
  outcome: RevokeOutcome;
  /**
   * Comments on the PR and sets its labels (or, on the third failed attempt, warns it). Never
   * rejects: the ledger already holds the truth, and a failure is logged.
   */
  tellPullRequest: () => Promise<void>;
}

/**
 * `revokeGrant` up to the end recorded (and its notification queued), with telling the PR left
 * to the caller: the sweep sends every due grant's DELETE before the PR feedback of any. What the
 * caller holds until then is small: where the repository was found, not a client for it (an
 * Octokit is made again when the PR is told).
 */
export async function revokeGrantUntold(deps: LifecycleDeps, request: RevokeRequest, log: Log): Promise<Revocation> {
  const { result, client, installationId } = await endAndLocate(deps, request, log);
  const found = client === null ? null : { installationId, owner: client.owner, repo: client.repo, repositoryId: client.repositoryId };
  const tellPullRequest = async (): Promise<void> => {
    let again: RepoClient | null = null;
    if (found !== null) {
      try {
        again = new RepoClient(await deps.octokitFor(found.installationId), found.owner, found.repo, found.repositoryId);
      } catch (error) {
        log.warn({ grant: request.grant.id, error: errorSummary(error) }, "could not update the pull request");
        return;
      }
    }
    await tellWith(deps, request, result, log, again);
  };
  return { outcome: result, tellPullRequest };
}

async function endAndLocate(
  deps: LifecycleDeps,
  request: RevokeRequest,
  log: Log,
): Promise<{ result: RevokeOutcome; client: RepoClient | null; installationId: number }> {
  const { grant } = request;
  // Set once the repository was found; feedback to the PR needs it.
  let client: RepoClient | null = null;
  let installationId = grant.installationId;
  const locate = async (): Promise<RepoClient> => {
    // An installation that can no longer be authenticated (suspended, deleted), or a repository
    // no installation of the app can see, is a failed attempt like any other: audited, backed
    // off, retried.
    const located = await locateRepository(deps, grant, request.repositoryNow);
    installationId = located.installationId;
    client = located.client;
    return client;
  };
  const lockKey = secretLockKey(grant.owner, grant.repo, grant.environment, grant.secret);

  const result = await deps.locks.run(lockKey, () => endGrantLocked(deps, request, log, locate));
  if (result.kind === "not-live")
    log.debug({ grant: grant.id, state: result.grant.state }, "the grant had already ended; nothing to revoke");

  if (result.kind === "ended" && (result.grant.state === "expired" || result.grant.state === "revoked")) {
    // Queued in the ledger only, before GitHub is told: delivery is the notification worker's.
    await notifyEnded(deps, result.grant, result.grant.state, request.reason);
  }
  if (client === null && result.kind === "ended") {
    // Nothing had to be deleted, so no client was needed until now; the PR is still told.
    try {
      await locate();
    } catch (error) {
      log.warn({ grant: grant.id, error: errorSummary(error) }, "could not update the pull request");
    }
  }
  return { result, client, installationId };
}

async function tellWith(
  deps: LifecycleDeps,
  request: RevokeRequest,
  result: RevokeOutcome,
  log: Log,
  client: RepoClient | null,
): Promise<void> {
  if (client !== null) await tellPullRequest(deps, client, request, result, log);
}

/**
 * The ledger side of `revokeGrant`, for a caller that already holds the secret's lock (the grant
 * flow, failing a grant whose write may have landed). A grant leaves the live states only once
 * its secret is confirmed absent, or another written grant still holds it; otherwise it stays
 * due with backoff, its end pending.
 */
export async function endGrantLocked(
  deps: LifecycleDeps,
  request: RevokeRequest,
  log: Log,
  clientFor: () => Promise<RepoClient>,
): Promise<RevokeOutcome> {
  const { grant } = request;
  const current = await deps.store.getGrant(grant.id);
  if (!current || (current.state !== "active" && current.state !== "granting")) {
    return { kind: "not-live", grant: current ?? grant };
  }
  if (request.onlyIf !== undefined && !request.onlyIf(current)) return { kind: "changed", grant: current };
  // A grant whose own failed end is pending ends as failed, whichever timer or sweep reached it.
  const end = current.pendingEnd?.kind === "failed" ? { ...request, ...current.pendingEnd } : request;
  // Each state change carries its audit record: the ledger writes both or neither.
  const audit = (action: "expired" | "revoked" | "failed" | "revoke_failed", details: Record<string, unknown>): AuditInput =>
    grantAudit(grant, { at: new Date(deps.clock.now()), action, actor: end.actor, details: { ...end.auditDetails, ...details } });
  try {
    // Nothing of a grant that never sent a PUT can be in the environment: whatever is there under
    // that name is another grant's or someone else's, and is left alone.
    const secretWritten = current.secretWrite !== "none";
    let others = 0;
    let deleted = false;
    let where = `${grant.owner}/${grant.repo}`;
    if (secretWritten) {
      const repoClient = await clientFor();
      where = repoClient.fullName;
      others = await deps.store.countOtherWritten(grant.owner, grant.repo, grant.environment, grant.secret, grant.id);
      deleted = others === 0 ? (await repoClient.deleteEnvironmentSecret(grant.environment, grant.secret)) === "deleted" : false;
    }
    const at = new Date(deps.clock.now());
    const ended =
      end.kind === "failed"
        ? await deps.store.markFailed(
            grant.id,
            end.reason,
            at,
            audit("failed", { why: end.reason, secretDeleted: deleted, otherLiveGrants: others }),
          )
        : await deps.store.markEnded(
            grant.id,
            end.kind,
            end.reason,
            at,
            audit(end.kind, {
              reason: end.reason,
              secretDeleted: deleted,
              otherLiveGrants: others,
              ...(secretWritten ? {} : { secretWritten }),
            }),
          );
    log.info(
      { grant: grant.id, repository: where, environment: grant.environment, secret: grant.secret, deleted, others, secretWritten },
      end.kind === "expired"
        ? "grant expired"
        : end.kind === "revoked"
          ? "grant revoked"
          : "grant failed; what it may have written is gone",
    );
    return { kind: "ended", grant: ended, deleted, otherLiveGrants: others, secretWritten };
  } catch (error) {
    // Another process (a second replica, or `jit-access sweep` from cron) may have ended the
    // grant meanwhile: then there is nothing to retry, and recording a failure would throw.
    const latest = await deps.store.getGrant(grant.id);
    if (latest && latest.state !== "active" && latest.state !== "granting") return { kind: "not-live", grant: latest };
    const message = errorSummary(error);
    if (error instanceof LostAccessError) log.error({ grant: grant.id, repository: error.repository }, message);
    const attempts = current.revokeAttempts + 1;
    const nextAttemptAt = new Date(deps.clock.now() + revokeBackoffMs(attempts));
    // An early end (revoke, PR closed, a failed write) remembers how it is to end, so the sweep
    // retries it now, not only at the expiry.
    const pendingEnd = end.kind === "expired" ? undefined : { kind: end.kind, reason: end.reason, actor: end.actor };
    const updated = await deps.store.recordRevokeFailure(
      grant.id,
      message,
      nextAttemptAt,
      pendingEnd,
      audit("revoke_failed", { error: message, attempts, nextAttemptAt: nextAttemptAt.toISOString() }),
    );
    log.warn(
      {
        grant: grant.id,
        repository: `${grant.owner}/${grant.repo}`,
        environment: grant.environment,
        secret: grant.secret,
        attempts,
        error: message,
      },
      `revocation failed; retrying at ${nextAttemptAt.toISOString()}`,
    );
    return { kind: "retry", grant: updated, error: message, nextAttemptAt };
  }
}

async function tellPullRequest(
  deps: LifecycleDeps,
  client: RepoClient,
  request: RevokeRequest,
  result: RevokeOutcome,
  log: Log,
): Promise<void> {
  const { grant } = request;
  try {
    if (result.kind === "ended" && result.grant.state === "failed") {
      // The PR was told when the grant failed; the secret it may have written is now gone.
      return;
    } else if (result.kind === "ended") {
      const what = `${literal(grant.secret)} in environment ${literal(grant.environment)}`;
      const note = result.deleted
        ? "The secret has been deleted."
        : result.otherLiveGrants > 0
          ? "Another live grant still uses this secret, so it stays until that one ends."
          : !result.secretWritten
            ? "Its secret had not been written, so there was nothing to delete."
            : "The secret was already gone from the environment.";
      const body =
        request.kind === "expired"
          ? `**Access expired:** ${what}. ${note}`
          : `**Access revoked:** ${what} (${literal(request.reason)}). ${note}`;
      await client.comment(grant.prNumber, body);
      const stillLive = await deps.store.listGrants({ owner: grant.owner, repo: grant.repo, prNumber: grant.prNumber, liveOnly: true });
      // One write: `jit:expired`/`jit:revoked` added and, after the PR's last live grant,
      // `jit:granted` taken off (see `RepoClient.changeLabels` for the window this leaves).
      await labelPullRequest(
        client,
        grant.prNumber,
        endedLabels(request.kind === "expired" ? "expired" : "revoked", stillLive.length === 0),
      );
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
    log.warn({ grant: grant.id, error: errorSummary(error) }, "could not update the pull request");
  }
}
