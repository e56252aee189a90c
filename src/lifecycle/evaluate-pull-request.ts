import { CODEOWNERS_LOCATIONS, ownersFor, parseCodeowners, teamKey, type Owner } from "../policy/codeowners.js";
import { decideApproval, type ApprovalDecision } from "../policy/decide-approval.js";
import { ConfigError } from "../policy/config-error.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../policy/repo-config.js";
import { MAX_FILE_BYTES, parseMessages } from "../requests/request-messages.js";
import { validateRequests, type ValidationResult } from "../requests/validate-requests.js";
import { RepoClient, type PullRequestInfo, type RepositoryInfo } from "../github/repo-client.js";
import type { Grant } from "../ledger/store.js";
import {
  grantDeferredCheck,
  grantedCheck,
  grantFailedCheck,
  policyErrorCheck,
  problemsCheck,
  removalOnlyCheck,
  waitingCheck,
} from "./check-feedback.js";
import { grantComment } from "./grant-comment.js";
import { grantRequests, unrecorded, type GrantOutcome } from "./grant-requests.js";
import { LedgerUnavailableError, ledgerWrite } from "./ledger-unavailable.js";
import type { LifecycleDeps, Log } from "./deps.js";
import { LABELS } from "./revoke-grant.js";

export interface EvaluationContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  log: Log;
  /** What woke us: "pull_request.opened", "pull_request_review.submitted", … (for the audit). */
  trigger: string;
}

export type Evaluation =
  | { kind: "closed" }
  | { kind: "untouched" }
  | { kind: "policy-error"; message: string }
  | { kind: "invalid"; problems: number }
  | { kind: "removal-only" }
  | { kind: "waiting"; decision: ApprovalDecision }
  | { kind: "granted"; outcomes: GrantOutcome[] };

/**
 * The whole decision for one pull request, from fresh data: gather (repository, PR, policy from
 * the default branch, request file at head and base, reviews) → decide (validate, approve) →
 * apply (check run; grants when approved). Every webhook for the PR runs this same path, so a
 * redelivered or out-of-order event converges to the same state and grants nothing twice.
 */
export async function evaluatePullRequest(deps: LifecycleDeps, ctx: EvaluationContext): Promise<Evaluation> {
  const { client, prNumber } = ctx;
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(prNumber)]);
  if (pr.state !== "open") return { kind: "closed" };

  let repoConfig: RepoConfig;
  try {
    const configFile = await client.file(REPO_CONFIG_PATH, repository.defaultBranch);
    repoConfig = parseRepoConfig(configFile?.text ?? null);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const { message } = error;
    const [head, base] = await Promise.all([client.file(DEFAULT_REPO_CONFIG.requestsFile, pr.headSha), client.file(DEFAULT_REPO_CONFIG.requestsFile, pr.baseSha)]);
    if (head?.text === base?.text) return { kind: "untouched" };
    await client.createCheckRun(policyErrorCheck(pr.headSha, message));
    return { kind: "policy-error", message };
  }

  const file = repoConfig.requestsFile;
  const [head, base] = await Promise.all([
    client.file(file, pr.headSha, MAX_FILE_BYTES),
    client.file(file, pr.baseSha, MAX_FILE_BYTES),
  ]);
  if ((head?.text ?? null) === (base?.text ?? null) && (head?.size ?? -1) === (base?.size ?? -1)) return { kind: "untouched" };

  const result = await validate(deps, ctx, repository, pr, repoConfig, head, base);
  const audit = { owner: client.owner, repo: client.repo, prNumber };
  if (result.problems.length > 0) {
    await client.createCheckRun(problemsCheck(file, pr.headSha, result.problems));
    await deps.store.appendAudit({
      ...audit,
      at: new Date(deps.clock.now()),
      action: "rejected",
      actor: pr.author.login,
      details: { trigger: ctx.trigger, headSha: pr.headSha, problems: result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`) },
    });
    return { kind: "invalid", problems: result.problems.length };
  }
  if (result.requests.length === 0) {
    await client.createCheckRun(removalOnlyCheck(pr.headSha, file));
    return { kind: "removal-only" };
  }

  const decision = await decide(client, pr, repository.defaultBranch, file, result);
  if (!decision.approved) {
    await client.createCheckRun(waitingCheck(pr.headSha, result.requests, decision));
    await deps.store.appendAudit({
      ...audit,
      at: new Date(deps.clock.now()),
      action: "validated",
      actor: pr.author.login,
      details: {
        trigger: ctx.trigger,
        headSha: pr.headSha,
        requests: result.requests.map((r) => ({ secret: r.secret.name, environment: r.environment, duration: r.entry.duration })),
        approvals: `${decision.approvers.length}/${decision.required}`,
      },
    });
    return { kind: "waiting", decision };
  }

  let outcomes: GrantOutcome[];
  try {
    await ledgerWrite(() =>
      deps.store.appendAudit({
        ...audit,
        at: new Date(deps.clock.now()),
        action: "approved",
        actor: decision.approvers.map((a) => a.login).join(","),
        details: { trigger: ctx.trigger, headSha: pr.headSha, approvers: decision.approvers.map((a) => ({ id: a.id, login: a.login, via: a.via })) },
      }),
    );
    outcomes = await grantRequests(
      deps,
      {
        installationId: ctx.installationId,
        client,
        prNumber,
        headSha: pr.headSha,
        requester: pr.author,
        approvers: decision.approvers.map(({ id, login }) => ({ id, login })),
        log: ctx.log,
      },
      result.requests,
    );
  } catch (error) {
    if (!(error instanceof LedgerUnavailableError)) throw error;
    ctx.log.error({ error: error.message }, "the ledger could not record an approval; nothing was written to GitHub");
    outcomes = unrecorded(result.requests, error);
  }
  await reportGrants(deps, client, pr, outcomes, ctx.log);
  return { kind: "granted", outcomes };
}

async function validate(
  deps: LifecycleDeps,
  ctx: EvaluationContext,
  repository: RepositoryInfo,
  pr: PullRequestInfo,
  repoConfig: RepoConfig,
  head: { text: string; size: number } | null,
  base: { text: string; size: number } | null,
): Promise<ValidationResult> {
  const { client } = ctx;
  if (head && head.size > MAX_FILE_BYTES) {
    return { problems: [{ line: 1, column: 1, message: parseMessages.fileTooLarge(head.size) }], requests: [], removedOnly: false };
  }
  const [environments, permission] = await Promise.all([client.environments(), client.permission(pr.author.login)]);
  return validateRequests({
    file: repoConfig.requestsFile,
    headText: head?.text ?? "",
    baseText: base && base.size <= MAX_FILE_BYTES ? base.text : null,
    catalog: deps.catalog,
    repoConfig,
    repository: repository.fullName,
    environments,
    pullRequest: {
      fromFork: pr.headRepoFullName === null || pr.headRepoFullName.toLowerCase() !== repository.fullName.toLowerCase(),
      baseRef: pr.baseRef,
      defaultBranch: repository.defaultBranch,
      authorCanWrite: permission === "admin" || permission === "maintain" || permission === "write",
      authorLogin: pr.author.login,
    },
  });
}

async function decide(
  client: RepoClient,
  pr: PullRequestInfo,
  defaultBranch: string,
  file: string,
  result: ValidationResult,
): Promise<ApprovalDecision> {
  const owners = await codeOwners(client, defaultBranch, file);
  const reviews = await client.reviews(pr.number);
  const required = Math.max(...result.requests.map((r) => r.approvals));
  // Team membership is asked only for reviewers who approved the current head: the fewest calls.
  const candidates = new Map<number, string>();
  for (const review of reviews) {
    if (review.user && review.user.id !== pr.author.id && review.state.toUpperCase() === "APPROVED" && review.commit_id === pr.headSha) {
      candidates.set(review.user.id, review.user.login);
    }
  }
  const teams = owners.filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team");
  const teamMembers = new Map<string, Set<number>>();
  for (const team of teams) {
    const members = new Set<number>();
    for (const [id, login] of candidates) {
      if (await client.isTeamMember(team.org, team.slug, login)) members.add(id);
    }
    teamMembers.set(teamKey(team), members);
  }
  return decideApproval({ owners, required, author: pr.author, headSha: pr.headSha, reviews, teamMembers, requestsFile: file });
}

/** Code owners of `file` from the first CODEOWNERS found on the default branch; none → []. */
async function codeOwners(client: RepoClient, defaultBranch: string, file: string): Promise<Owner[]> {
  for (const location of CODEOWNERS_LOCATIONS) {
    const found = await client.file(location, defaultBranch);
    if (found) return ownersFor(parseCodeowners(found.text).rules, file).owners;
  }
  return [];
}

async function reportGrants(deps: LifecycleDeps, client: RepoClient, pr: PullRequestInfo, outcomes: GrantOutcome[], log: Log): Promise<void> {
  const now = deps.clock.now();
  const granted: Grant[] = outcomes.filter((o) => o.kind === "granted").map((o) => o.grant);
  const problem = (...kinds: GrantOutcome["kind"][]) =>
    outcomes
      .filter((o): o is Extract<GrantOutcome, { why: string }> => kinds.includes(o.kind))
      .map((o) => ("grant" in o ? { secret: o.grant.secret, environment: o.grant.environment, why: o.why } : { secret: o.secret, environment: o.environment, why: o.why }));
  const failed = problem("failed", "unrecorded");
  const deferred = problem("deferred");
  if (granted.length === 0 && failed.length === 0 && deferred.length === 0) return; // a redelivery: all done already
  await client.createCheckRun(
    failed.length > 0
      ? grantFailedCheck(pr.headSha, failed)
      : deferred.length > 0
        ? grantDeferredCheck(pr.headSha, deferred)
        : grantedCheck(pr.headSha, granted, now),
  );
  try {
    await client.comment(pr.number, grantComment({ granted, failed, deferred }, now, deps.actionRef));
    if (granted.length > 0) await client.addLabels(pr.number, [LABELS.granted]);
  } catch (error) {
    log.warn({ pr: pr.number, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "could not comment on the pull request");
  }
}
