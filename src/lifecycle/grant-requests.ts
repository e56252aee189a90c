import type { Grant, Person } from "../ledger/store.js";
import type { ValidRequest } from "../requests/validate-requests.js";
import { RepoClient, statusOf } from "../github/repo-client.js";
import { readSecretValue, SecretSourceError } from "../secrets/read-secret-value.js";
import { sealSecret } from "../secrets/seal-secret.js";
import { secretLockKey, type LifecycleDeps, type Log } from "./deps.js";

export interface GrantContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  headSha: string;
  requester: Person;
  approvers: Person[];
  log: Log;
}

export type GrantOutcome =
  | { kind: "granted"; grant: Grant }
  | { kind: "already"; grant: Grant }
  | { kind: "failed"; grant: Grant; why: string }
  /** The write may or may not have reached GitHub; the grant stays live and is revoked at expiry. */
  | { kind: "uncertain"; grant: Grant; why: string };

/** One grant per (repository, PR, head commit, environment, secret): redeliveries grant nothing twice. */
export function requestKey(owner: string, repo: string, prNumber: number, headSha: string, environment: string, secret: string): string {
  return `${owner}/${repo}`.toLowerCase() + `#${prNumber}@${headSha}/${environment.toLowerCase()}/${secret.toUpperCase()}`;
}

/**
 * Grants approved requests, each in the write-ahead order of DESIGN.md §4:
 * ledger row (state `granting`, expiry fixed) → value from its source → sealed for the
 * environment's key → PUT → `active`. Failures before the PUT end the grant `failed`; a PUT
 * that GitHub refused (4xx) likewise. A PUT whose outcome is unknown (timeout, 5xx) is undone
 * with a DELETE; if that fails too, the grant stays live so the sweeper deletes it at expiry.
 */
export async function grantRequests(deps: LifecycleDeps, ctx: GrantContext, requests: ValidRequest[]): Promise<GrantOutcome[]> {
  const outcomes: GrantOutcome[] = [];
  for (const request of requests) {
    const secret = request.secret.name.toUpperCase();
    const { owner, repo } = ctx.client;
    outcomes.push(
      await deps.locks.run(secretLockKey(owner, repo, request.environment, secret), () =>
        grantOne(deps, ctx, request, secret),
      ),
    );
  }
  return outcomes;
}

async function grantOne(deps: LifecycleDeps, ctx: GrantContext, request: ValidRequest, secret: string): Promise<GrantOutcome> {
  const { client } = ctx;
  const now = deps.clock.now();
  const { grant, created } = await deps.store.beginGrant({
    installationId: ctx.installationId,
    owner: client.owner,
    repo: client.repo,
    environment: request.environment,
    secret,
    requester: ctx.requester,
    prNumber: ctx.prNumber,
    headSha: ctx.headSha,
    approvers: ctx.approvers,
    reason: request.reason,
    durationMs: request.durationMs,
    requestKey: requestKey(client.owner, client.repo, ctx.prNumber, ctx.headSha, request.environment, secret),
    createdAt: new Date(now),
    expiresAt: new Date(now + request.durationMs),
  });
  if (!created) return { kind: "already", grant };
  const audit = {
    owner: client.owner,
    repo: client.repo,
    prNumber: ctx.prNumber,
    grantId: grant.id,
    environment: request.environment,
    secret,
  };
  await deps.store.appendAudit({
    ...audit,
    at: new Date(now),
    action: "granting",
    actor: "jit-access",
    details: { requester: ctx.requester.login, approvers: ctx.approvers.map((a) => a.login), headSha: ctx.headSha, expiresAt: grant.expiresAt.toISOString() },
  });

  let sealed: { value: string; keyId: string };
  try {
    const value = await readSecretValue(request.secret.source, deps.env);
    const key = await client.environmentPublicKey(request.environment);
    sealed = { value: await sealSecret(value, key.key), keyId: key.keyId };
  } catch (error) {
    return fail(deps, ctx, grant, audit, beforeWriteReason(error, request.environment));
  }

  try {
    await client.putEnvironmentSecret(request.environment, secret, sealed.value, sealed.keyId);
  } catch (error) {
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429 && !isRateLimit(error)) {
      return fail(deps, ctx, grant, audit, `GitHub refused to write the secret (HTTP ${status}): ${safeMessage(error)}`);
    }
    return undoUncertainWrite(deps, ctx, grant, audit, error);
  }

  const active = await deps.store.markActive(grant.id, new Date(deps.clock.now()));
  await deps.store.appendAudit({
    ...audit,
    at: new Date(deps.clock.now()),
    action: "granted",
    actor: "jit-access",
    details: { expiresAt: active.expiresAt.toISOString(), approvers: ctx.approvers.map((a) => a.login) },
  });
  ctx.log.info(
    { grant: grant.id, repository: client.fullName, environment: request.environment, secret, expiresAt: active.expiresAt.toISOString() },
    "granted",
  );
  deps.onGranted?.(active);
  return { kind: "granted", grant: active };
}

type AuditBase = { owner: string; repo: string; prNumber: number; grantId: string; environment: string; secret: string };

async function fail(deps: LifecycleDeps, ctx: GrantContext, grant: Grant, audit: AuditBase, why: string): Promise<GrantOutcome> {
  const failed = await deps.store.markFailed(grant.id, why, new Date(deps.clock.now()));
  await deps.store.appendAudit({ ...audit, at: new Date(deps.clock.now()), action: "failed", actor: "jit-access", details: { why } });
  ctx.log.warn({ grant: grant.id, repository: ctx.client.fullName, environment: grant.environment, secret: grant.secret, why }, "grant failed");
  return { kind: "failed", grant: failed, why };
}

async function undoUncertainWrite(deps: LifecycleDeps, ctx: GrantContext, grant: Grant, audit: AuditBase, error: unknown): Promise<GrantOutcome> {
  const why = `writing the secret did not complete (${safeMessage(error)})`;
  try {
    const others = await deps.store.countOtherLive(grant.owner, grant.repo, grant.environment, grant.secret, grant.id);
    if (others === 0) await ctx.client.deleteEnvironmentSecret(grant.environment, grant.secret);
    return fail(deps, ctx, grant, audit, `${why}; nothing was left behind`);
  } catch {
    // The value may be in the environment: keep the grant live so that the sweeper deletes it at expiry.
    await deps.store.appendAudit({ ...audit, at: new Date(deps.clock.now()), action: "failed", actor: "jit-access", details: { why, liveUntilExpiry: true } });
    ctx.log.error({ grant: grant.id, repository: ctx.client.fullName, why }, "grant write uncertain; the secret will be deleted at expiry");
    return { kind: "uncertain", grant, why: `${why}; the secret may be present and will be deleted at ${grant.expiresAt.toISOString()}` };
  }
}

function beforeWriteReason(error: unknown, environment: string): string {
  if (error instanceof SecretSourceError) return `the operator must fix the secret's source: ${error.message}`;
  const status = statusOf(error);
  if (status === 404) return `environment "${environment}" was not found (it may have been deleted); create it or change the request`;
  if (status !== undefined) return `GitHub answered HTTP ${status} when reading the environment's public key`;
  return `the secret could not be prepared: ${safeMessage(error)}`;
}

function isRateLimit(error: unknown): boolean {
  return /rate limit/i.test(safeMessage(error));
}

/** An error's message, cut short; error messages here never carry values (we seal before sending). */
function safeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 200);
}
