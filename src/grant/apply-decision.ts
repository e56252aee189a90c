/**
 * Apply: the writes a decision calls for. A grant follows the write-ahead order of DESIGN.md:
 * its ledger row and audit record first, then GitHub (the secret, then the check run, then
 * comments and labels). An outcome that writes nothing but feedback (invalid, waiting, lapsed)
 * posts its check run, then records its audit (and the request's lapse clock).
 */
import type { RepoClient, SecretMetadata } from "../github/repo-client.js";
import { grantAudit, type Grant, type Person } from "../ledger/store.js";
import { asciiLower, asciiUpper } from "../util/ascii-case.js";
import {
  breakGlassCheck,
  breakGlassReviewedCheck,
  grantDeferredCheck,
  grantedCheck,
  grantFailedCheck,
} from "../feedback/check-feedback.js";
import type { Decision } from "../approve/decide-pull-request.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { delayedCommentMarker, grantComment } from "../feedback/grant-comment.js";
import { grantRequests, unrecorded, type GrantOutcome } from "./grant-requests.js";
import { LedgerUnavailableError, ledgerWrite } from "./ledger-unavailable.js";
import { BREAK_GLASS, GRANTED, LABELS, labelPullRequest } from "../feedback/labels.js";
import { markdownLiteral as literal } from "../feedback/markdown.js";
import { settleLapsed, startLapseClock, stopLapseClock } from "./lapse-requests.js";
import { notifyGrantOutcomes } from "../feedback/notify-lifecycle.js";
import { revokeGrant } from "../revoke/revoke-grant.js";
import { errorSummary } from "../util/error-message.js";

export interface ApplyContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  log: Log;
  /** Secret metadata gather read ahead (`PullRequestFacts.secretMetadata`), for the grant to use. */
  secretMetadata?: ReadonlyMap<string, SecretMetadata | null>;
}

export type Evaluation =
  | { kind: "closed" }
  | { kind: "untouched" }
  | { kind: "policy-error"; message: string }
  /** Revoke-only (the catalog failed to load): the PR was told nothing can be granted. */
  | { kind: "refused" }
  | { kind: "invalid"; problems: number }
  | { kind: "removal-only" }
  | { kind: "waiting"; decision: Extract<Decision, { kind: "waiting" }>["approval"] }
  /** The head waited longer than its request_ttl: nothing is granted for it. */
  | { kind: "lapsed" }
  /** At least one secret was written. */
  | { kind: "granted"; outcomes: GrantOutcome[] }
  /** Nothing written yet: GitHub could not take the writes; they are tried again. */
  | { kind: "deferred"; outcomes: GrantOutcome[] }
  /** Every grant of the request exists already (a redelivery): nothing to do. */
  | { kind: "already-granted"; outcomes: GrantOutcome[] }
  /** Nothing was written: every grant failed or could not be recorded. */
  | { kind: "grant-failed"; outcomes: GrantOutcome[] };

export async function applyDecision(deps: LifecycleDeps, ctx: ApplyContext, decision: Decision): Promise<Evaluation> {
  const { client } = ctx;
  // Revocations first: a withdrawn approval ends its access before anything else is written.
  for (const { grant, reason } of decision.end) {
    await revokeGrant(deps, { grant, kind: "revoked", reason, actor: "jit-access" }, ctx.log);
  }
  switch (decision.kind) {
    case "closed":
    case "untouched":
      return { kind: decision.kind };
    case "policy-error":
      await client.createCheckRun(decision.check);
      return { kind: "policy-error", message: decision.message };
    case "removal-only":
      await client.createCheckRun(decision.check);
      return { kind: "removal-only" };
    case "refused":
      await client.createCheckRun(decision.check);
      ctx.log.warn("the catalog failed to load (revoke-only): the pull request was told nothing can be granted");
      return { kind: "refused" };
    case "invalid":
      await client.createCheckRun(decision.check);
      await deps.store.appendAudit(decision.audit);
      return { kind: "invalid", problems: decision.problems.length };
    case "waiting":
      await client.createCheckRun(decision.check);
      await deps.store.appendAudit(decision.audit);
      await startLapseClock(deps, ctx.installationId, decision.lapse);
      return { kind: "waiting", decision: decision.approval };
    case "lapsed":
      await client.createCheckRun(decision.check);
      await settleLapsed(deps, decision);
      return { kind: "lapsed" };
    case "approved":
      return grant(deps, ctx, decision);
  }
}

async function grant(deps: LifecycleDeps, ctx: ApplyContext, decision: Extract<Decision, { kind: "approved" }>): Promise<Evaluation> {
  const { grant: planned } = decision;
  let outcomes: GrantOutcome[];
  try {
    await ledgerWrite(() => deps.store.appendAudit(decision.audit));
    // Approved in time: the head never lapses.
    await ledgerWrite(() => stopLapseClock(deps, ctx.installationId, decision.lapse));
    outcomes = await grantRequests(
      deps,
      {
        installationId: ctx.installationId,
        client: ctx.client,
        prNumber: ctx.prNumber,
        headSha: planned.headSha,
        repositoryId: planned.repositoryId,
        mergeBaseSha: planned.mergeBaseSha,
        requestDigest: planned.requestDigest,
        requester: planned.requester,
        log: ctx.log,
        ...(ctx.secretMetadata ? { secretMetadata: ctx.secretMetadata } : {}),
      },
      planned.items,
    );
  } catch (error) {
    if (!(error instanceof LedgerUnavailableError)) throw error;
    ctx.log.error({ error: error.message }, "the ledger could not record an approval; nothing was written to GitHub");
    outcomes = unrecorded(
      planned.items.map((i) => i.request),
      error,
    );
  }
  const bound = new Set(
    planned.items.filter((i) => i.request.boundToRequester).map((i) => boundKey(i.request.secret.name, i.request.environment)),
  );
  const glass = decision.breakGlass?.kind === "granted" ? decision.breakGlass : undefined;
  await reportGrants(deps, ctx, planned.headSha, outcomes, (g) => bound.has(boundKey(g.secret, g.environment)), glass !== undefined);
  if (glass !== undefined) await announceBreakGlass(deps, ctx, outcomes, glass.mention);
  if (decision.breakGlass?.kind === "reviewed") await recordBreakGlassReviews(deps, ctx, planned.headSha, decision.breakGlass.reviewer);
  // Queued in the ledger only: delivery is the notification worker's, never this path's.
  await notifyGrantOutcomes(deps, outcomes, {
    owner: ctx.client.owner,
    repo: ctx.client.repo,
    prNumber: ctx.prNumber,
    requester: planned.requester,
    reasonOf: (secret, environment) =>
      planned.items.find((i) => boundKey(i.request.secret.name, i.request.environment) === boundKey(secret, environment))?.request.reason ??
      "",
  });
  const some = (kind: GrantOutcome["kind"]) => outcomes.some((o) => o.kind === kind);
  if (some("granted")) return { kind: "granted", outcomes };
  if (some("deferred")) return { kind: "deferred", outcomes };
  if (outcomes.every((o) => o.kind === "already")) return { kind: "already-granted", outcomes };
  return { kind: "grant-failed", outcomes };
}

/** A request's secret in its environment, as GitHub compares them (ASCII case folded). */
function boundKey(secret: string, environment: string): string {
  return `${asciiUpper(secret)}\u0000${asciiLower(environment)}`;
}

async function reportGrants(
  deps: LifecycleDeps,
  ctx: ApplyContext,
  headSha: string,
  outcomes: GrantOutcome[],
  isBound: (grant: Grant) => boolean,
  breakGlass = false,
): Promise<void> {
  const { client, log } = ctx;
  const now = deps.clock.now();
  const granted: Grant[] = outcomes.filter((o) => o.kind === "granted").map((o) => o.grant);
  const problem = (...kinds: GrantOutcome["kind"][]) =>
    outcomes
      .filter((o): o is Extract<GrantOutcome, { why: string }> => kinds.includes(o.kind))
      .map((o) =>
        "grant" in o
          ? { secret: o.grant.secret, environment: o.grant.environment, why: o.why }
          : { secret: o.secret, environment: o.environment, why: o.why },
      );
  const failed = problem("failed", "unrecorded", "ended-while-writing");
  const deferred = problem("deferred");
  if (granted.length === 0 && failed.length === 0 && deferred.length === 0) return; // a redelivery: all done already
  await client.createCheckRun(
    failed.length > 0
      ? grantFailedCheck(headSha, failed)
      : deferred.length > 0
        ? grantDeferredCheck(headSha, deferred)
        : breakGlass
          ? breakGlassCheck(headSha, granted, now)
          : grantedCheck(headSha, granted, now),
  );
  // Feedback is best effort: the ledger and the check run already hold the truth. A grant that
  // was ended meanwhile (the PR closed while its secret was written) has told the PR itself, so
  // the comment and label speak only of grants still live when they are written.
  const live = async () =>
    (await Promise.all(granted.map(async (g) => ((await deps.store.getGrant(g.id))?.state === "active" ? g : null)))).filter(
      (g): g is Grant => g !== null,
    );
  const stillGranted = await live();
  if (stillGranted.length > 0 || failed.length > 0) {
    try {
      const kept = outcomes.flatMap((o) =>
        o.kind === "granted" && o.keptFrom !== undefined && stillGranted.some((g) => g.id === o.grant.id)
          ? [{ grant: o.grant, holder: o.keptFrom }]
          : [],
      );
      await client.comment(ctx.prNumber, grantComment({ granted: stillGranted, failed, deferred, kept }, now, deps.actionRef, isBound));
    } catch (error) {
      log.warn({ pr: ctx.prNumber, error: errorSummary(error) }, "could not comment on the pull request");
    }
  } else if (deferred.length > 0) {
    await reportDelay(ctx, headSha, outcomes, grantComment({ granted: [], failed: [], deferred }, now, deps.actionRef));
  }
  if ((await live()).length > 0) {
    try {
      await labelPullRequest(client, ctx.prNumber, GRANTED);
    } catch (error) {
      log.warn({ pr: ctx.prNumber, label: LABELS.granted, error: errorSummary(error) }, "could not label the pull request");
    }
  }
}

/**
 * Break-glass is loud: one comment mentioning every code owner of the requests file, and the
 * label `jit:break-glass`, once the secret is written (a redelivery writes nothing). Best effort:
 * the ledger, the audit log and the check run hold the truth.
 */
async function announceBreakGlass(deps: LifecycleDeps, ctx: ApplyContext, outcomes: GrantOutcome[], mention: string[]): Promise<void> {
  const granted = outcomes.flatMap((o) => (o.kind === "granted" ? [o.grant] : []));
  if (granted.length === 0) return;
  const what = granted.map((g) => `${literal(g.secret)} in ${literal(g.environment)}`).join(", ");
  const who = mention.length > 0 ? mention.join(" ") : "(the requests file has no code owner)";
  const body = [
    `**Break-glass access granted without approval:** ${what}, requested by ${literal(`@${granted[0]!.requester.login}`)}.`,
    "",
    `${who}: please review. Approving this pull request records the review; until then the jit-access check stays neutral and \`jit-access grants --break-glass-unreviewed\` lists it.`,
  ].join("\n");
  try {
    await ctx.client.comment(ctx.prNumber, body);
  } catch (error) {
    ctx.log.warn({ pr: ctx.prNumber, error: errorSummary(error) }, "could not comment on the pull request");
  }
  try {
    await labelPullRequest(ctx.client, ctx.prNumber, BREAK_GLASS);
  } catch (error) {
    ctx.log.warn({ pr: ctx.prNumber, label: LABELS.breakGlass, error: errorSummary(error) }, "could not label the pull request");
  }
}

/** A code owner approved: every break-glass grant of the PR not reviewed yet is reviewed by them, audited once each. */
async function recordBreakGlassReviews(deps: LifecycleDeps, ctx: ApplyContext, headSha: string, reviewer: Person): Promise<void> {
  const { owner, repo } = ctx.client;
  const waiting = (await deps.store.listGrants({ owner, repo, prNumber: ctx.prNumber, liveOnly: false })).filter(
    (g) => g.breakGlass === true && (g.breakGlassReview ?? null) === null,
  );
  let recorded = 0;
  for (const grant of waiting) {
    const at = new Date(deps.clock.now());
    const result = await deps.store.recordBreakGlassReview(
      grant.id,
      reviewer,
      at,
      grantAudit(grant, {
        at,
        action: "break_glass_reviewed",
        actor: reviewer.login,
        details: {
          reviewer: { id: reviewer.id, login: reviewer.login },
          headSha,
          grantedAt: (grant.grantedAt ?? grant.createdAt).toISOString(),
        },
      }),
    );
    if (result.recorded) recorded++;
  }
  if (recorded > 0) await ctx.client.createCheckRun(breakGlassReviewedCheck(headSha, reviewer.login));
}

/**
 * Access is only delayed (every write deferred): the PR gets one comment saying so for its head,
 * and each later deferral (a retry GitHub still could not take) updates that comment with the
 * current reasons and retry time, instead of posting the same news again.
 */
async function reportDelay(ctx: ApplyContext, headSha: string, outcomes: GrantOutcome[], text: string): Promise<void> {
  const { client, log } = ctx;
  const marker = delayedCommentMarker(headSha);
  const body = `${text}\n\n${marker}`;
  // The comment was posted after the first of these grants was recorded.
  const since = new Date(Math.min(...outcomes.flatMap((o) => (o.kind === "deferred" ? [o.grant.createdAt.getTime()] : []))));
  try {
    const earlier = await client.findAppComment(ctx.prNumber, marker, since);
    if (earlier !== null) {
      try {
        await client.updateComment(earlier, body);
        return;
      } catch (error) {
        // Deleted meanwhile, or not ours to edit: say it afresh.
        log.warn(
          { pr: ctx.prNumber, error: errorSummary(error) },
          "could not update the comment that says access is delayed; posting a new one",
        );
      }
    }
    await client.comment(ctx.prNumber, body);
  } catch (error) {
    log.warn({ pr: ctx.prNumber, error: errorSummary(error) }, "could not comment on the pull request");
  }
}
