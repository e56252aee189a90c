import { awaitsWrite, expiryFromWrite, IllegalTransitionError, isInterrupted, type SecretWrite } from "../ledger/grant-states.js";
import type { ApproverPermission, Grant, Person } from "../ledger/store.js";
import type { ValidRequest } from "../request/validate-requests.js";
import { rateLimitWait } from "../github/rate-limit-wait.js";
import { RepoClient, type SecretMetadata } from "../github/repo-client.js";
import { classifyGitHubFailure, statusOf } from "../github/github-failure.js";
import { readSecretValueSettled, SecretSourceError, type SecretValueRead } from "./read-secret-value.js";
import { sealSecret } from "./seal-secret.js";
import { asciiLower, asciiUpper } from "../util/ascii-case.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { secretLockKey } from "../ledger/secret-locks.js";
import { LedgerUnavailableError, ledgerWrite, unrecordedReason } from "./ledger-unavailable.js";
import { endGrantLocked } from "../revoke/revoke-grant.js";
import { needsWriteMark, planSecretWrite } from "./secret-ownership.js";
import { errorMessage, errorSummary } from "../util/error-message.js";
import { secretMetadataKey } from "../approve/gather-pull-request.js";
import type { PublicKey } from "../github/public-key-cache.js";
import { isStorageFailure } from "../ledger/storage-failure.js";

export interface GrantContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  headSha: string;
  /** GitHub's id of the repository: grants are found by it after a rename or transfer. */
  repositoryId: number;
  /** What the approval was for: the merge base and the digest of the request set. */
  mergeBaseSha: string;
  requestDigest: string;
  requester: Person;
  log: Log;
  /** Secret metadata gather read ahead (keyed by `secretMetadataKey`); used when nothing may have changed it since. */
  secretMetadata?: ReadonlyMap<string, SecretMetadata | null>;
}

/**
 * One approved request and the people whose approval counts for it, each with their permission on
 * the repository as the approval read it and the CODEOWNERS entry they own through (none for
 * break-glass).
 */
export interface ApprovedRequest {
  request: ValidRequest;
  approvers: ApproverPermission[];
}

export type GrantOutcome =
  /** `keptFrom`: a live written grant held the secret, and this one took its value as it was (no PUT). */
  | { kind: "granted"; grant: Grant; keptFrom?: Grant }
  | { kind: "already"; grant: Grant }
  | { kind: "failed"; grant: Grant; why: string }
  /** GitHub could not take the write now; the grant stays `granting` and is written again later (or revoked at expiry). */
  | { kind: "deferred"; grant: Grant; why: string }
  /** The ledger could not record the grant, so nothing was written to GitHub (fail closed). */
  | { kind: "unrecorded"; secret: string; environment: string; why: string }
  /**
   * The grant was ended (an operator's revoke, the PR closed) while its secret was being written:
   * the write was undone, or stays due for deletion if undoing it failed.
   */
  | { kind: "ended-while-writing"; grant: Grant; why: string };

/** One grant per (repository, PR, head commit, environment, secret): redeliveries grant nothing twice. */
export function requestKey(owner: string, repo: string, prNumber: number, headSha: string, environment: string, secret: string): string {
  return asciiLower(`${owner}/${repo}`) + `#${prNumber}@${headSha}/${asciiLower(environment)}/${asciiUpper(secret)}`;
}

/**
 * Grants approved requests, each in the write-ahead order of DESIGN.md §4:
 * ledger row (state `granting`, expiry fixed) → value from its source → sealed for the
 * environment's key → whose is the secret (secret-ownership.ts: its metadata and the ledger) →
 * the write recorded as sent → PUT → its `updated_at` read back and recorded → `active`.
 * A secret that a live written grant holds is kept as it is (no PUT); one that someone else put
 * there is never overwritten: the grant is refused. A problem someone must fix (missing value,
 * missing environment, a 4xx from GitHub) ends the grant `failed`, once what an earlier attempt
 * may have written is gone. A passing one (rate limit, 5xx, timeout) defers it: the grant stays
 * `granting` and is written again later, never lost; a PUT whose outcome is unknown is undone
 * with a DELETE first.
 */
export async function grantRequests(deps: LifecycleDeps, ctx: GrantContext, items: ApprovedRequest[]): Promise<GrantOutcome[]> {
  const outcomes: GrantOutcome[] = [];
  for (const [index, item] of items.entries()) {
    const secret = item.request.secret.name.toUpperCase();
    const { owner, repo } = ctx.client;
    try {
      // The value is read before the lock: a slow source must never hold up a revocation of the
      // same secret, which takes the same lock.
      const read = await readSecretValueSettled(item.request.secret.source, deps.sourceEnv);
      outcomes.push(
        await deps.locks.run(secretLockKey(owner, repo, item.request.environment, secret), () => grantOne(deps, ctx, item, secret, read)),
      );
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      ctx.log.error(
        { repository: ctx.client.fullName, pr: ctx.prNumber, error: error.message },
        "the ledger could not record a grant; nothing was written to GitHub",
      );
      // The ledger is down: none of the remaining requests can be recorded either.
      outcomes.push(
        ...unrecorded(
          items.slice(index).map((i) => i.request),
          error,
        ),
      );
      break;
    }
  }
  return outcomes;
}

/** The outcome for requests the ledger could not record. */
export function unrecorded(requests: ValidRequest[], error: LedgerUnavailableError): GrantOutcome[] {
  const why = unrecordedReason(error);
  return requests.map((r) => ({ kind: "unrecorded", secret: r.secret.name.toUpperCase(), environment: r.environment, why }));
}

/**
 * The approvers as a grant's own audit records name them: GitHub's id (which a rename does not
 * change), the login, the permission the approval was counted with, the CODEOWNERS entry.
 */
function approversDetail(item: ApprovedRequest): ApproverPermission[] {
  return item.approvers.map(({ id, login, permission, via }) => ({ id, login, permission, via }));
}

/** Why a grant is not written when its pull request closed after the approval was read. */
export const CLOSED_BEFORE_WRITE = "the pull request was closed before the secret was written";

async function grantOne(
  deps: LifecycleDeps,
  ctx: GrantContext,
  item: ApprovedRequest,
  secret: string,
  read: SecretValueRead,
): Promise<GrantOutcome> {
  const { request } = item;
  const { client } = ctx;
  const now = deps.clock.now();
  const expiresAt = new Date(now + request.durationMs);
  const where = { owner: client.owner, repo: client.repo, prNumber: ctx.prNumber, environment: request.environment, secret };
  // The "granting" record is written with the row, only when the row is new.
  const { grant: existing, created } = await ledgerWrite(() =>
    deps.store.beginGrant(
      {
        installationId: ctx.installationId,
        owner: client.owner,
        repo: client.repo,
        environment: request.environment,
        secret,
        requester: ctx.requester,
        prNumber: ctx.prNumber,
        headSha: ctx.headSha,
        approvers: item.approvers.map(({ id, login }) => ({ id, login })),
        approverPermissions: item.approvers,
        reason: request.reason,
        durationMs: request.durationMs,
        requestKey: requestKey(client.owner, client.repo, ctx.prNumber, ctx.headSha, request.environment, secret),
        repositoryId: ctx.repositoryId,
        mergeBaseSha: ctx.mergeBaseSha,
        requestDigest: ctx.requestDigest,
        createdAt: new Date(now),
        expiresAt,
        ...(request.breakGlass ? { breakGlass: true } : {}),
      },
      {
        ...where,
        at: new Date(now),
        action: "granting",
        actor: "jit-access",
        details: {
          requester: ctx.requester.login,
          approvers: approversDetail(item),
          headSha: ctx.headSha,
          mergeBaseSha: ctx.mergeBaseSha,
          requestDigest: ctx.requestDigest,
          expiresAt: expiresAt.toISOString(),
          reason: request.reason,
        },
      },
    ),
  );
  // A grant deferred by a rate limit or server error resumes when an evaluation confirms the
  // approval again, and so does one whose first write was interrupted (this holds the secret's
  // lock, which its writer held throughout: no live process is writing it). Any other existing
  // grant (done, failed, or failed with its secret still being deleted) is left alone.
  const interrupted = !created && isInterrupted(existing);
  if (!created && !interrupted && !awaitsWrite(existing)) return { kind: "already", grant: existing };
  const audit = { ...where, grantId: existing.id };
  const grant = interrupted ? await resumeInterrupted(deps, ctx, item, existing, audit) : existing;
  if (grant === null) {
    // Approved on the same head, but for another request set: the interrupted write is not this approval's.
    return fail(deps, ctx, existing, audit, INTERRUPTED_OTHER_REQUESTS, { requestDigest: ctx.requestDigest });
  }

  // What the other grants of this secret hold: read under the secret's lock, so no revocation or
  // grant of the same secret in this process changes it meanwhile.
  const live = await deps.store.listGrants({
    owner: client.owner,
    repo: client.repo,
    environment: request.environment,
    secret,
    liveOnly: true,
  });

  // The row exists now, so a close handled from here on finds it and ends it. A close that was
  // handled between reading the approval and writing the row is caught by reading the PR again:
  // before the PUT when the secret's metadata must be read again anyway, else alongside the PUT
  // (whose write is then undone). The metadata gather read ahead is used only when no grant
  // of the secret, this one included, may have written it since: none live has sent a PUT.
  const ahead = ctx.secretMetadata?.get(secretMetadataKey(request.environment, secret));
  const useAhead = ahead !== undefined && grant.secretWrite === "none" && !live.some((other) => other.secretWrite !== "none");
  const scope = { installationId: ctx.installationId, repositoryId: ctx.repositoryId, environment: request.environment };
  const readKey = (): Promise<PublicKey> => client.environmentPublicKey(request.environment);
  const publicKey = (): Promise<PublicKey> => (deps.publicKeys ? deps.publicKeys.get(scope, readKey) : readKey());
  let sealed: { value: string; keyId: string };
  let present: SecretMetadata | null;
  let prReadBefore = false;
  let value: string;
  try {
    if (!read.ok) throw read.error;
    value = read.value;
    const [key, fresh] = await Promise.all([
      publicKey(),
      useAhead
        ? null
        : Promise.all([
            client.pullRequest(ctx.prNumber),
            client.environmentSecret(request.environment, secret).catch(during("reading the secret's metadata")),
          ]),
    ]);
    if (fresh !== null) {
      if (fresh[0].state !== "open") return fail(deps, ctx, grant, audit, CLOSED_BEFORE_WRITE);
      prReadBefore = true;
    }
    present = fresh === null ? ahead! : fresh[1];
    sealed = { value: await sealSecret(value, key.key), keyId: key.keyId };
  } catch (error) {
    const step = error instanceof StepError ? error.step : "reading the environment's public key";
    if (classifyGitHubFailure(error, deps.clock.now()).kind === "transient")
      return defer(deps, ctx, grant, audit, `${step} failed (${errorSummary(error)})`, { retryInMs: retryDelay(error, deps) });
    return fail(deps, ctx, grant, audit, beforeWriteReason(error, request.environment));
  }

  // The app owns only what it wrote (secret-ownership.ts).
  const recorded = needsWriteMark(grant, live, present)
    ? await deps.store.findWriteMark(client.owner, client.repo, request.environment, secret, present!.updatedAt)
    : null;
  const plan = planSecretWrite({ grant, live, present, recorded });
  if (plan.kind === "refuse") return fail(deps, ctx, grant, audit, plan.why, { secretUpdatedAt: present!.updatedAt.toISOString() });
  if (plan.kind === "keep") {
    // Nothing is sent, so the close check goes first.
    if (!prReadBefore) {
      try {
        if ((await client.pullRequest(ctx.prNumber)).state !== "open") return fail(deps, ctx, grant, audit, CLOSED_BEFORE_WRITE);
      } catch (error) {
        if (classifyGitHubFailure(error, deps.clock.now()).kind === "transient")
          return defer(deps, ctx, grant, audit, `re-reading the pull request failed (${errorSummary(error)})`, {
            retryInMs: retryDelay(error, deps),
          });
        throw error;
      }
    }
    return activate(deps, ctx, item, grant, audit, {
      keptFrom: plan.holder,
      details: { keptValueOf: plan.holder.id, secretUpdatedAt: plan.present.updatedAt.toISOString() },
    });
  }

  // Write-ahead of the PUT: from here the grant may have left something, and its end deletes it.
  // A grant that another process ended meanwhile is refused here, and nothing is sent.
  // If this PUT leaves nothing, what of the grant's own may be there is as the metadata showed.
  const before: Exclude<SecretWrite, "written"> = present === null || grant.secretWrite === "none" ? "none" : "uncertain";
  let writing: Grant;
  try {
    writing = await deps.store.markWriting(grant.id);
  } catch (error) {
    if (isStorageFailure(error)) throw new LedgerUnavailableError(error);
    // Anything else but a refused transition is a bug: it reaches the caller as itself.
    if (!(error instanceof IllegalTransitionError)) throw error;
    const ended = (await deps.store.getGrant(grant.id)) ?? grant;
    const why = `the grant was ${ended.state} before its secret was written (${ended.endReason ?? "no reason recorded"}); nothing was written`;
    return { kind: "ended-while-writing", grant: ended, why };
  }

  // The close check that goes alongside the PUT: started after the row, so a close it misses finds the row.
  const stillOpen: Promise<{ open: boolean } | { error: unknown }> | null = prReadBefore
    ? null
    : client.pullRequest(ctx.prNumber).then(
        (pr) => ({ open: pr.state === "open" }),
        (error: unknown) => ({ error }),
      );
  const sentAt = new Date(deps.clock.now());
  try {
    await putSealed(deps, client, scope, request.environment, secret, value, sealed);
  } catch (error) {
    await stillOpen;
    const failure = classifyGitHubFailure(error, deps.clock.now());
    const status = failure.status;
    const unchanged = { ...writing, secretWrite: before };
    if (failure.rateLimitWaitMs !== null) {
      return defer(deps, ctx, unchanged, audit, `GitHub rate-limited the write (${errorSummary(error)})`, {
        secretWrite: before,
        retryInMs: retryDelay(error, deps),
      });
    }
    if (failure.kind !== "transient") {
      const why =
        status === 404
          ? environmentGone(request.environment)
          : `GitHub refused to write the secret (HTTP ${status}): ${errorSummary(error)}`;
      return fail(deps, ctx, unchanged, audit, why);
    }
    return undoUncertainWrite(deps, ctx, writing, audit, error, sentAt);
  }
  if (stillOpen !== null) {
    const answer = await stillOpen;
    // Closed meanwhile: the grant fails and its end deletes what the PUT wrote. A re-read that
    // failed proves nothing: the write is undone and the grant written again later.
    if ("open" in answer && !answer.open) return fail(deps, ctx, writing, audit, CLOSED_BEFORE_WRITE);
    if ("error" in answer) return undoUncertainWrite(deps, ctx, writing, audit, answer.error, sentAt);
  }

  // The app's mark on what it wrote: the secret's updated_at, read back. A secret whose
  // metadata matches no mark is never overwritten or reconciled away (see reconcile.ts).
  let mark: SecretMetadata | null = null;
  try {
    mark = await client.environmentSecret(request.environment, secret);
    if (mark !== null) await deps.store.recordWriteMark(grant.id, mark.updatedAt);
  } catch (error) {
    ctx.log.warn(
      { grant: grant.id, repository: client.fullName, error: errorSummary(error) },
      "could not record the write's mark; the grant's end still deletes the secret",
    );
  }
  return activate(deps, ctx, item, writing, audit, { details: mark === null ? {} : { secretUpdatedAt: mark.updatedAt.toISOString() } });
}

/** Why an interrupted grant is not completed by an approval of the same head for another request set. */
export const INTERRUPTED_OTHER_REQUESTS =
  "its first write was interrupted, and the approval on this head is now for another request set; it was not completed";

/**
 * An interrupted grant (`isInterrupted`) is written again: it becomes a deferred grant due now,
 * with its `resumed` audit record, in one ledger change. A PUT that was sent for it (`uncertain`)
 * may have landed at any time after the row was written, so its expiry counts from the row's
 * time (`writeUncertainAt`): the access never outlasts the requested duration from the first
 * write. Null, and nothing changed, when the approval is for another request set than the row's.
 */
async function resumeInterrupted(
  deps: LifecycleDeps,
  ctx: GrantContext,
  item: ApprovedRequest,
  grant: Grant,
  audit: AuditBase,
): Promise<Grant | null> {
  if (grant.requestDigest !== null && grant.requestDigest !== ctx.requestDigest) return null;
  const at = new Date(deps.clock.now());
  const why = "its first write was interrupted; resumed while its approval stands on the same head and request set";
  const resumed = await ledgerWrite(() =>
    deps.store.deferGrant(
      grant.id,
      why,
      at,
      {
        ...audit,
        at,
        action: "resumed",
        actor: "jit-access",
        details: {
          headSha: ctx.headSha,
          requestDigest: ctx.requestDigest,
          approvers: approversDetail(item),
          secretWrite: grant.secretWrite,
          recordedAt: grant.createdAt.toISOString(),
        },
      },
      grant.secretWrite === "uncertain" ? { writeUncertainAt: grant.createdAt } : {},
    ),
  );
  ctx.log.info(
    {
      grant: grant.id,
      repository: ctx.client.fullName,
      environment: grant.environment,
      secret: grant.secret,
      secretWrite: grant.secretWrite,
    },
    "resuming a grant whose first write was interrupted",
  );
  return resumed;
}

/**
 * Marks the grant active: its secret is there, written by it or kept from `keptFrom`. Compare-and-
 * set: only a `granting` row becomes active. Anything else means the grant was ended while its
 * PUT was in flight, and the write must not outlive it.
 */
async function activate(
  deps: LifecycleDeps,
  ctx: GrantContext,
  item: ApprovedRequest,
  grant: Grant,
  audit: AuditBase,
  options: { keptFrom?: Grant; details: Record<string, unknown> },
): Promise<GrantOutcome> {
  const writtenAt = new Date(deps.clock.now());
  let active: Grant;
  try {
    active = await deps.store.markActive(grant.id, writtenAt, {
      ...audit,
      at: writtenAt,
      action: "granted",
      actor: "jit-access",
      details: {
        expiresAt: expiryFromWrite(grant, writtenAt).toISOString(),
        approvers: approversDetail(item),
        headSha: ctx.headSha,
        mergeBaseSha: ctx.mergeBaseSha,
        requestDigest: ctx.requestDigest,
        ...options.details,
      },
    });
  } catch (error) {
    const current = await deps.store.getGrant(grant.id);
    if (current === null || current.state === "granting" || current.state === "active") throw error;
    if (options.keptFrom !== undefined) {
      return {
        kind: "ended-while-writing",
        grant: current,
        why: `the grant was ${current.state} before it was granted (${current.endReason ?? "no reason recorded"}); nothing was written`,
      };
    }
    return undoEndedWrite(deps, ctx, current, audit);
  }
  ctx.log.info(
    {
      grant: grant.id,
      repository: ctx.client.fullName,
      environment: grant.environment,
      secret: grant.secret,
      expiresAt: active.expiresAt.toISOString(),
      ...(options.keptFrom ? { keptValueOf: options.keptFrom.id } : {}),
    },
    "granted",
  );
  deps.onGranted?.(active);
  return options.keptFrom === undefined
    ? { kind: "granted", grant: active }
    : { kind: "granted", grant: active, keptFrom: options.keptFrom };
}

type AuditBase = { owner: string; repo: string; prNumber: number; grantId: string; environment: string; secret: string };

/**
 * The grant cannot be written. One whose earlier PUT may have landed (`uncertain`) goes through
 * the same end as a revocation: its secret is deleted unless another written grant holds it, and
 * if that DELETE fails the grant stays due, with backoff, until it succeeds. Any other is marked
 * `failed` at once: nothing of its own is in the environment.
 */
async function fail(
  deps: LifecycleDeps,
  ctx: GrantContext,
  grant: Grant,
  audit: AuditBase,
  why: string,
  details: Record<string, unknown> = {},
): Promise<GrantOutcome> {
  const logged = { grant: grant.id, repository: ctx.client.fullName, environment: grant.environment, secret: grant.secret, why };
  if (grant.secretWrite === "uncertain") {
    const end = await endGrantLocked(
      deps,
      { grant, kind: "failed", reason: why, actor: "jit-access", auditDetails: details },
      ctx.log,
      async () => ctx.client,
    );
    if (end.kind === "retry") {
      ctx.log.warn(logged, "grant failed; what an earlier attempt may have written is still to be deleted");
      return {
        kind: "failed",
        grant: end.grant,
        why: `${why}; what an earlier attempt may have written could not be deleted yet (${end.error}), and jit-access keeps trying`,
      };
    }
    ctx.log.warn(logged, "grant failed");
    return { kind: "failed", grant: end.grant, why };
  }
  const at = new Date(deps.clock.now());
  const failed = await deps.store.markFailed(grant.id, why, at, {
    ...audit,
    at,
    action: "failed",
    actor: "jit-access",
    details: { why, ...details },
  });
  ctx.log.warn(logged, "grant failed");
  return { kind: "failed", grant: failed, why };
}

/**
 * The PUT may or may not have reached GitHub (timeout, 5xx). Delete whatever may be there unless
 * another written grant holds it, then defer: the write is tried again, and if it never succeeds
 * the grant is revoked at expiry like any other. If even the DELETE fails the grant's write stays
 * `uncertain`, so its end (expiry, close, or a failure of the retry) deletes the secret.
 */
async function undoUncertainWrite(
  deps: LifecycleDeps,
  ctx: GrantContext,
  grant: Grant,
  audit: AuditBase,
  error: unknown,
  sentAt: Date,
): Promise<GrantOutcome> {
  const why = `writing the secret did not complete (${errorSummary(error)})`;
  let secretWrite: "none" | "uncertain" = "uncertain";
  let cleanupFailed: string | undefined;
  try {
    const others = await deps.store.countOtherWritten(grant.owner, grant.repo, grant.environment, grant.secret, grant.id);
    if (others === 0) {
      await ctx.client.deleteEnvironmentSecret(grant.environment, grant.secret);
      secretWrite = "none";
    }
  } catch (cleanupError) {
    // Kept, not dropped: the log and the deferral's audit record say why the secret may still be there.
    cleanupFailed = errorSummary(cleanupError);
    ctx.log.error(
      { grant: grant.id, repository: ctx.client.fullName, why, cleanupError: cleanupFailed },
      "grant write uncertain and the undoing DELETE failed; the secret will be deleted when the grant ends if the retry does not succeed",
    );
  }
  // The write may have landed when it was sent: the expiry counts from then, however late the retry.
  return defer(deps, ctx, grant, audit, why, {
    writeUncertainAt: sentAt,
    secretWrite,
    ...(cleanupFailed === undefined ? {} : { auditDetails: { cleanupFailed } }),
  });
}

/**
 * The grant was ended by someone else (another process's revoke, a close) while its PUT was in
 * flight, so that revocation may have deleted nothing and the write then landed. The ledger
 * decides: a grant that is no longer `granting` when its write settles has its secret deleted,
 * unless another written grant holds it. A DELETE that fails here is audited `revoke_failed`,
 * logged as an error and thrown; the write's mark is in the ledger, so `jit-access reconcile`
 * removes such a leftover.
 */
async function undoEndedWrite(deps: LifecycleDeps, ctx: GrantContext, ended: Grant, audit: AuditBase): Promise<GrantOutcome> {
  const why = `the grant was ${ended.state} while its secret was being written (${ended.endReason ?? "no reason recorded"}); the write was undone`;
  try {
    const others = await deps.store.countOtherWritten(ended.owner, ended.repo, ended.environment, ended.secret, ended.id);
    if (others === 0) await ctx.client.deleteEnvironmentSecret(ended.environment, ended.secret);
    await deps.store.appendAudit({
      ...audit,
      at: new Date(deps.clock.now()),
      action: "revoked",
      actor: "jit-access",
      details: { why, deleted: others === 0 },
    });
    ctx.log.warn(
      { grant: ended.id, repository: ctx.client.fullName, environment: ended.environment, secret: ended.secret },
      "grant ended while being written; the write was undone",
    );
    return { kind: "ended-while-writing", grant: ended, why };
  } catch (error) {
    const message = errorSummary(error);
    await deps.store.appendAudit({
      ...audit,
      at: new Date(deps.clock.now()),
      action: "revoke_failed",
      actor: "jit-access",
      details: { why, error: message },
    });
    ctx.log.error(
      { grant: ended.id, repository: ctx.client.fullName, error: message },
      "grant ended while being written, and undoing the write failed",
    );
    throw error;
  }
}

/**
 * PUTs the sealed value. A 422 may mean GitHub no longer takes the key the value was sealed for
 * (rotated since it was read or kept): the key is read again, and only if it changed is the value
 * sealed for the new one and the PUT sent once more. A 422 with the key unchanged is GitHub's answer.
 */
async function putSealed(
  deps: LifecycleDeps,
  client: RepoClient,
  scope: { installationId: number; repositoryId: number; environment: string },
  environment: string,
  secret: string,
  value: string,
  sealed: { value: string; keyId: string },
): Promise<void> {
  try {
    await client.putEnvironmentSecret(environment, secret, sealed.value, sealed.keyId);
  } catch (error) {
    if (statusOf(error) !== 422) throw error;
    await deps.publicKeys?.forget(scope, sealed.keyId);
    const readKey = () => client.environmentPublicKey(environment);
    const key = await (deps.publicKeys ? deps.publicKeys.get(scope, readKey) : readKey());
    if (key.keyId === sealed.keyId) throw error;
    await client.putEnvironmentSecret(environment, secret, await sealSecret(value, key.key), key.keyId);
  }
}

/** How long a deferred grant waits before it is written again. */
export const GRANT_RETRY_MS = 30_000;

/**
 * How long a deferred grant waits before its retry: the retry interval, or the wait GitHub named
 * when it answered with a rate limit (the installation's requests are held that long anyway, so
 * the PR is told the time the retry can really happen).
 */
function retryDelay(error: unknown, deps: LifecycleDeps): number {
  return Math.max(GRANT_RETRY_MS, rateLimitWait(error, deps.clock.now()) ?? 0);
}

async function defer(
  deps: LifecycleDeps,
  ctx: GrantContext,
  grant: Grant,
  audit: AuditBase,
  why: string,
  options: {
    writeUncertainAt?: Date;
    secretWrite?: Exclude<SecretWrite, "written">;
    retryInMs?: number;
    /** More for the deferral's audit record (a failed clean-up). */
    auditDetails?: Record<string, string>;
  } = {},
): Promise<GrantOutcome> {
  const { retryInMs = GRANT_RETRY_MS, auditDetails = {}, ...change } = options;
  const retryAt = new Date(deps.clock.now() + retryInMs);
  const record = {
    ...audit,
    at: new Date(deps.clock.now()),
    action: "deferred" as const,
    actor: "jit-access",
    details: { why, retryAt: retryAt.toISOString(), ...auditDetails },
  };
  const deferred = await deps.store.deferGrant(grant.id, why, retryAt, record, change);
  deps.onDeferred?.(deferred);
  ctx.log.warn(
    { grant: grant.id, repository: ctx.client.fullName, environment: grant.environment, secret: grant.secret, why },
    "grant deferred; it will be retried",
  );
  return {
    kind: "deferred",
    grant: deferred,
    why: `${why}; jit-access will try again from ${retryAt.toISOString()} while the approval stands`,
  };
}

/** A read that failed, named for the message: "reading the secret's metadata failed (…)". Keeps the HTTP status. */
class StepError extends Error {
  override name = "StepError";
  readonly status: number | undefined;
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(errorMessage(cause), { cause });
    this.status = statusOf(cause);
  }
}

function during(step: string): (error: unknown) => never {
  return (error) => {
    throw new StepError(step, error);
  };
}

/** A 404 for the environment's key or secret: the environment was deleted after validation. */
function environmentGone(environment: string): string {
  return `environment "${environment}" was not found (it may have been deleted); create it or change the request`;
}

function beforeWriteReason(error: unknown, environment: string): string {
  if (error instanceof SecretSourceError) return `the operator must fix the secret's source: ${error.message}`;
  const status = statusOf(error);
  if (status === 404) return environmentGone(environment);
  if (status !== undefined) return `GitHub answered HTTP ${status} when reading the environment's public key`;
  return `the secret could not be prepared: ${errorSummary(error)}`;
}
