/**
 * Runs one comment command on a request PR (see parse-command.ts): acknowledges it with a
 * reaction, checks that the commenter may run it, does it, replies with what happened, and
 * audits the decision (refusals too).
 *
 * - `/jit status` is gather + decide, and changes nothing.
 * - `/jit revoke [reason]` ends the PR's live grants now, as any early end does
 *   (`revokeGrant`: the secret is deleted unless another live grant holds it).
 * - `/jit extend DURATION [reason]` moves the expiry of the PR's live grants within the
 *   catalog's `extension` (see decide-extension.ts), and re-arms their expiry timers.
 */
import { canWrite } from "../approve/decide-approval.js";
import type { ApproverRef } from "../policy/catalog.js";
import { ownersFor, parseCodeowners, type Owner } from "../approve/codeowners.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import type { RepoClient, RepositoryInfo } from "../github/repo-client.js";
import { IllegalTransitionError, type AuditInput, type Grant, type Person } from "../ledger/store.js";
import { decidePullRequest } from "../approve/decide-pull-request.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { codeOwnersText, gatherPullRequest, repoPolicy } from "../approve/gather-pull-request.js";
import { markdownLiteral as literal } from "../feedback/markdown.js";
import { livePullRequestGrants } from "../ledger/pull-request-grants.js";
import { revokeGrant } from "../revoke/revoke-grant.js";
import { asciiUpper, sameName } from "../util/ascii-case.js";
import { extendReply, refusedReply, revokeReply, statusReply } from "./command-replies.js";
import { decideExtension } from "./decide-extension.js";
import { COMMAND_HELP, type Command } from "./parse-command.js";
import { errorSummary } from "../util/error-message.js";

export interface CommandContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  /** The comment that holds the command (reacted to). */
  commentId: number;
  commenter: Person;
  log: Log;
}

export type CommandOutcome = { command: Command["kind"]; outcome: "done" | "refused"; why?: string };

export async function runCommand(deps: LifecycleDeps, ctx: CommandContext, command: Command): Promise<CommandOutcome> {
  const { client, commenter } = ctx;
  try {
    await client.reactToComment(ctx.commentId, "eyes");
  } catch (error) {
    ctx.log.warn({ error: errorSummary(error) }, "could not react to the command's comment");
  }
  const permission = await client.permission(commenter.login);
  if (!canWrite(permission)) {
    return refuse(deps, ctx, command, "only people with write access to this repository may run /jit commands.");
  }
  switch (command.kind) {
    case "unknown":
      await client.comment(
        ctx.prNumber,
        `${command.word === "" ? "**/jit** needs a command." : `**Unknown command** ${literal(command.word)}.`} The commands are:\n\n${COMMAND_HELP}`,
      );
      return done(deps, ctx, command, {});
    case "status":
      return status(deps, ctx, command);
    case "revoke":
      return revoke(deps, ctx, command);
    case "extend":
      return extend(deps, ctx, command);
  }
}

async function status(deps: LifecycleDeps, ctx: CommandContext, command: Extract<Command, { kind: "status" }>): Promise<CommandOutcome> {
  const lookups = deps.lookups && { cache: deps.lookups, installationId: ctx.installationId };
  const facts = await gatherPullRequest({ client: ctx.client, store: deps.store, lookups }, ctx.prNumber, deps.catalog);
  const now = deps.clock.now();
  const decision = decidePullRequest(facts, {
    catalog: deps.catalog,
    now,
    trigger: "/jit status",
    revokeOnly: deps.revokeOnly !== undefined,
  });
  const live = facts.approval?.liveGrants ?? (await livePullRequestGrants(deps.store, facts.repository, ctx.prNumber));
  await ctx.client.comment(ctx.prNumber, statusReply(decision, live, now));
  return done(deps, ctx, command, { read: decision.kind, liveGrants: live.length });
}

async function revoke(deps: LifecycleDeps, ctx: CommandContext, command: Extract<Command, { kind: "revoke" }>): Promise<CommandOutcome> {
  const { client, commenter } = ctx;
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(ctx.prNumber)]);
  const live = await livePullRequestGrants(deps.store, repository, ctx.prNumber);
  const requester = commenter.id === pr.author.id;
  if (!requester && !(await mayApprove(deps, client, repository, commenter.login, live))) {
    return refuse(deps, ctx, command, "only the requester or a code owner who may approve this request may revoke its access.");
  }
  const reason = command.reason ?? `revoked with /jit revoke by @${commenter.login}`;
  const outcomes: { grant: Grant; ended: boolean }[] = [];
  for (const grant of live) {
    const outcome = await revokeGrant(
      deps,
      { grant, kind: "revoked", reason, actor: commenter.login, auditDetails: { command: "/jit revoke" } },
      ctx.log,
    );
    outcomes.push({ grant, ended: outcome.kind !== "retry" });
  }
  await client.comment(ctx.prNumber, revokeReply(outcomes));
  return done(deps, ctx, command, { reason, as: requester ? "requester" : "code owner", grants: live.map((g) => g.id) });
}

async function extend(deps: LifecycleDeps, ctx: CommandContext, command: Extract<Command, { kind: "extend" }>): Promise<CommandOutcome> {
  const { client, commenter } = ctx;
  if (!command.duration.ok) {
    await client.comment(ctx.prNumber, `**/jit extend** needs a duration, e.g. \`/jit extend 30m\`: ${literal(command.duration.error)}`);
    return done(deps, ctx, command, { refused: "no duration" });
  }
  const byMs = command.duration.ms;
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(ctx.prNumber)]);
  if (commenter.id !== pr.author.id) {
    return refuse(deps, ctx, command, `only the requester, ${literal(`@${pr.author.login}`)}, may extend this request's access.`);
  }
  const live = await livePullRequestGrants(deps.store, repository, ctx.prNumber);
  const outcomes: { grant: Grant; expiresAt?: Date; why?: string }[] = [];
  for (const grant of live) {
    const followUp = await deps.store.followUp(grant.id);
    const now = deps.clock.now();
    const verdict = decideExtension({
      grant,
      extensions: followUp?.extensions ?? 0,
      secret: deps.catalog.secrets.get(asciiUpper(grant.secret)),
      byMs,
      askedBy: commenter.id,
      now,
    });
    if (!verdict.ok) {
      outcomes.push({ grant, why: verdict.why });
      continue;
    }
    try {
      const audit: AuditInput = {
        ...auditBase(deps, ctx, "extended"),
        grantId: grant.id,
        environment: grant.environment,
        secret: grant.secret,
        details: {
          by: command.durationText,
          from: grant.expiresAt.toISOString(),
          to: verdict.expiresAt.toISOString(),
          reason: command.reason,
        },
      };
      const extended = await deps.store.extendGrant(grant.id, verdict.expiresAt, verdict.times, audit);
      if (extended === null) {
        outcomes.push({ grant, why: "the grant was extended as many times as the catalog allows" });
        continue;
      }
      deps.onExpiryMoved?.(extended);
      outcomes.push({ grant: extended, expiresAt: extended.expiresAt });
    } catch (error) {
      if (!(error instanceof IllegalTransitionError)) throw error;
      outcomes.push({ grant, why: "the grant is not live" });
    }
  }
  await client.comment(ctx.prNumber, extendReply(outcomes, command.durationText, deps.clock.now()));
  return done(deps, ctx, command, {
    by: command.durationText,
    reason: command.reason,
    extended: outcomes.filter((o) => o.expiresAt !== undefined).map((o) => o.grant.id),
    refused: outcomes.filter((o) => o.why !== undefined).map((o) => ({ grant: o.grant.id, why: o.why })),
  });
}

/**
 * Whether `login` is a code owner of the requests file (CODEOWNERS on the default branch) and,
 * for each live grant whose catalog entry names `approvers`, one of them: who could approve the
 * request may also end it.
 */
async function mayApprove(
  deps: LifecycleDeps,
  client: RepoClient,
  repository: RepositoryInfo,
  login: string,
  live: Grant[],
): Promise<boolean> {
  const policy = await repoPolicy(client, repository.defaultBranch);
  const path = policy.ok ? policy.repoConfig.requestsFile : DEFAULT_REPO_CONFIG.requestsFile;
  const text = await codeOwnersText(client, repository.defaultBranch);
  const owners = text === null ? [] : ownersFor(parseCodeowners(text).rules, path).owners;
  const isOneOf = async (list: readonly (Owner | ApproverRef)[]): Promise<boolean> => {
    for (const entry of list) {
      if (entry.kind === "user" && sameName(entry.login, login)) return true;
      if (entry.kind === "team" && (await client.isTeamMember(entry.org, entry.slug, login))) return true;
    }
    return false;
  };
  if (!(await isOneOf(owners))) return false;
  for (const grant of live) {
    const allowed = deps.catalog.secrets.get(asciiUpper(grant.secret))?.approvers;
    if (allowed && !(await isOneOf(allowed))) return false;
  }
  return true;
}

function auditBase(deps: LifecycleDeps, ctx: CommandContext, action: AuditInput["action"]): AuditInput {
  return {
    at: new Date(deps.clock.now()),
    action,
    actor: ctx.commenter.login,
    owner: ctx.client.owner,
    repo: ctx.client.repo,
    prNumber: ctx.prNumber,
  };
}

async function done(deps: LifecycleDeps, ctx: CommandContext, command: Command, details: Record<string, unknown>): Promise<CommandOutcome> {
  await deps.store.appendAudit({
    ...auditBase(deps, ctx, "command"),
    details: { command: `/jit ${command.kind}`, outcome: "done", ...details },
  });
  return { command: command.kind, outcome: "done" };
}

/** Someone the command is not open to: a short reply, then the refusal's audit record; nothing else happens. */
async function refuse(deps: LifecycleDeps, ctx: CommandContext, command: Command, why: string): Promise<CommandOutcome> {
  await ctx.client.comment(ctx.prNumber, refusedReply(ctx.commenter.login, why));
  await deps.store.appendAudit({
    ...auditBase(deps, ctx, "command"),
    details: { command: `/jit ${command.kind}`, outcome: "refused", why },
  });
  return { command: command.kind, outcome: "refused", why };
}
