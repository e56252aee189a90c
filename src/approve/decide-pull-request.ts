/**
 * Decide: what the app does about one pull request, from the gathered facts alone. Pure: no
 * I/O and no clock of its own (`now` is given), so the same facts always give the same decision,
 * a redelivered event converges to the same state, and a dry run can print it.
 *
 * In order:
 * - a closed PR: nothing (closing revokes through its own handler);
 * - a requests file the PR does not change: nothing, not even a check run;
 * - a repository config that cannot be read: a failing check run, nothing approved;
 * - revoke-only (the catalog failed to load): a failing check run saying nothing can be granted;
 * - problems in the request (see `validateRequests`): a failing check with every problem at its line;
 * - only removals: a passing check, nothing to grant;
 * - a head that waited longer than its `request_ttl` for approvals: a failing check, nothing granted;
 * - not enough approvals (see `decideApproval`): a waiting check;
 * - approved: the requests to grant, with the approvers and the head they approved.
 *
 * Whatever the outcome, the PR's live grants whose approval was dismissed end first (`withdrawn`),
 * even when the PR no longer changes the requests file or the repository config cannot be read.
 */
import { createHash } from "node:crypto";
import type { CheckRunInput } from "../github/repo-client.js";
import { asciiLower, asciiUpper, sameName } from "../util/ascii-case.js";
import type { ApproverPermission, AuditInput, Grant, Person, RequestHeadKey } from "../ledger/store.js";
import { DEFAULT_REQUEST_TTL_MS, type Catalog } from "../policy/catalog.js";
import { formatOwner } from "./codeowners.js";
import { canWrite, decideApproval, latestVerdictStates, type ApprovalDecision } from "./decide-approval.js";
import { effectivePolicy } from "../policy/effective-policy.js";
import type { RepoConfig } from "../policy/repo-config.js";
import type { Problem } from "../request/problem.js";
import { formatDuration } from "../util/duration.js";
import { MAX_FILE_BYTES, parseMessages } from "../request/request-messages.js";
import { validateRequests, type ValidRequest, type ValidationResult } from "../request/validate-requests.js";
import {
  lapsedCheck,
  policyErrorCheck,
  problemsCheck,
  removalOnlyCheck,
  revokeOnlyCheck,
  waitingCheck,
} from "../feedback/check-feedback.js";
import {
  baseMovedRequestsFile,
  requestsFileChanged,
  type ApprovalFacts,
  type PullRequestFacts,
  type RequestFileFacts,
} from "./pull-request-facts.js";

/**
 * What to do, and which live grants to end first: grants whose counted approval was dismissed
 * and whose remaining valid approvals no longer meet the threshold (empty when the approval
 * facts were not gathered: gather reads them whenever the PR has live grants).
 */
export type Decision = Outcome & { end: GrantEnd[] };

export interface GrantEnd {
  grant: Grant;
  reason: string;
}

type Outcome =
  | { kind: "closed" }
  | { kind: "untouched" }
  | { kind: "policy-error"; message: string; check: CheckRunInput }
  | { kind: "refused"; check: CheckRunInput }
  | { kind: "invalid"; problems: Problem[]; check: CheckRunInput; audit: AuditInput }
  | { kind: "removal-only"; check: CheckRunInput }
  | { kind: "waiting"; approval: ApprovalDecision; check: CheckRunInput; audit: AuditInput; lapse: LapseClock }
  | {
      kind: "approved";
      approvals: ApprovalDecision[];
      grant: PlannedGrants;
      audit: AuditInput;
      lapse: LapseClock;
      /**
       * Break-glass: `granted` — granted now without approval, loudly (the code owners to mention);
       * `reviewed` — a code owner approved afterwards, which reviews the PR's break-glass grants.
       */
      breakGlass?: { kind: "granted"; mention: string[] } | { kind: "reviewed"; reviewer: Person };
    }
  /**
   * The head did not gather its approvals within `request_ttl` of its first evaluation: nothing
   * is granted for it, however many approvals it has now. `audit` and `notify` are to be written
   * once, by whoever settles the head as lapsed first (this evaluation or the sweep's).
   */
  | { kind: "lapsed"; check: CheckRunInput; audit: AuditInput; head: RequestHeadKey; requests: ValidRequest[]; requester: Person };

/**
 * The head's lapse clock: `record` when this is its first evaluation (the ledger keeps the first),
 * with the shortest `request_ttl` among its requests.
 */
export interface LapseClock {
  head: RequestHeadKey;
  ttlMs: number;
  record: boolean;
}

/** What an approval entitles: exactly these requests, for this head over this merge base. */
export interface PlannedGrants {
  repositoryId: number;
  headSha: string;
  mergeBaseSha: string;
  /** Digest of the whole approved request set (see `requestSetDigest`). */
  requestDigest: string;
  requester: Person;
  /**
   * Each request with the people whose approval counts for it (the catalog may narrow them per
   * secret), each with their permission on the repository as read for this decision and the
   * CODEOWNERS entry they own through. Empty for break-glass.
   */
  items: { request: ValidRequest; approvers: ApproverPermission[] }[];
}

export interface DecisionContext {
  catalog: Catalog;
  /** Milliseconds since the epoch, for the audit records. */
  now: number;
  /** What woke us, for the audit: "pull_request.opened", "retry", … */
  trigger: string;
  /**
   * The catalog failed to load (`catalog` allows nothing): no request is validated or granted;
   * the PR is told so. Withdrawn approvals still end their grants (see `withdrawn`).
   */
  revokeOnly?: boolean;
}

export function decidePullRequest(facts: PullRequestFacts, ctx: DecisionContext): Decision {
  const end =
    facts.approval === undefined || facts.files === undefined ? [] : withdrawn(facts, facts.approval, facts.files.policy, ctx.catalog);
  return { ...outcome(facts, ctx), end };
}

/**
 * Live grants that a dismissal took the ground from: one of the grant's approvers' latest verdict
 * is now DISMISSED, and the approvals that still count on the grant's head are too few. Whether
 * the PR still changes the requests file does not matter. When the repository config cannot be
 * read, the approvals that remain cannot be counted (the config may raise the number, and names
 * the requests file whose code owners count): the dismissal alone ends the grant.
 */
function withdrawn(facts: PullRequestFacts, approval: ApprovalFacts, policy: RequestFileFacts["policy"], catalog: Catalog): GrantEnd[] {
  const verdicts = latestVerdictStates(approval.reviews);
  const ends: GrantEnd[] = [];
  for (const grant of approval.liveGrants) {
    const dismissed = grant.approvers.filter((a) => verdicts.get(a.id) === "DISMISSED");
    if (dismissed.length === 0) continue;
    const who = dismissed.map((a) => `@${a.login}`).join(", ");
    if (!policy.ok) {
      ends.push({
        grant,
        reason: `the approval by ${who} was dismissed, and the repository config cannot be read to count the approvals that remain`,
      });
      continue;
    }
    const repoConfig = policy.repoConfig;
    const secret = catalog.secrets.get(asciiUpper(grant.secret));
    const required = secret === undefined ? Math.max(1, grant.approvers.length) : effectivePolicy(secret, repoConfig).approvals;
    const decision = decideApproval({
      owners: approval.owners,
      required,
      author: facts.pr.author,
      headSha: grant.headSha,
      reviews: approval.reviews,
      teamMembers: approval.teamMembers,
      reviewerPermissions: approval.reviewerPermissions,
      teamPermissions: approval.teamPermissions,
      allowed: secret?.approvers ?? null,
    });
    if (decision.approved) continue;
    ends.push({
      grant,
      reason: `the approval by ${who} was dismissed, and ${decision.approvers.length} of the ${required} required approval${required === 1 ? "" : "s"} remain`,
    });
  }
  return ends;
}

function outcome(facts: PullRequestFacts, ctx: DecisionContext): Outcome {
  const { pr, repository, files, approval } = facts;
  if (pr.state !== "open" || files === undefined) return { kind: "closed" };
  if (!requestsFileChanged(files)) return { kind: "untouched" };
  if (!files.policy.ok) {
    return { kind: "policy-error", message: files.policy.message, check: policyErrorCheck(pr.headSha, files.policy.message) };
  }
  if (ctx.revokeOnly) return { kind: "refused", check: revokeOnlyCheck(pr.headSha) };
  if (approval === undefined) throw new Error("decidePullRequest: the approval facts were not gathered for a changed requests file");

  const audit = (action: AuditInput["action"], actor: string, details: Record<string, unknown>): AuditInput => ({
    at: new Date(ctx.now),
    action,
    actor,
    owner: repository.owner,
    repo: repository.name,
    prNumber: pr.number,
    details: { trigger: ctx.trigger, headSha: pr.headSha, mergeBaseSha: files.mergeBaseSha, ...details },
  });

  const result = validate(facts, files, files.policy.repoConfig, approval, ctx.catalog);
  if (result.problems.length > 0) {
    return {
      kind: "invalid",
      problems: result.problems,
      check: problemsCheck(files.path, pr.headSha, result.problems),
      audit: audit("rejected", pr.author.login, { problems: result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`) }),
    };
  }
  if (result.requests.length === 0) return { kind: "removal-only", check: removalOnlyCheck(pr.headSha, files.path) };

  // A head that waited longer than its request_ttl for approvals grants nothing (see `lapseOf`).
  const headKey: RequestHeadKey = { owner: repository.owner, repo: repository.name, prNumber: pr.number, headSha: pr.headSha };
  const lapse: LapseClock = {
    head: headKey,
    ttlMs: Math.min(...result.requests.map((r) => r.secret.requestTtlMs ?? DEFAULT_REQUEST_TTL_MS)),
    record: approval.requestHead === null,
  };
  if (lapseOf(approval, pr.headSha, ctx.now)) {
    const ttlMs = approval.requestHead!.ttlMs;
    return {
      kind: "lapsed",
      check: lapsedCheck(pr.headSha, ttlMs),
      audit: audit("lapsed", "jit-access", {
        requestTtl: formatDuration(ttlMs),
        firstEvaluatedAt: approval.requestHead!.firstEvaluatedAt.toISOString(),
      }),
      head: headKey,
      requests: result.requests,
      requester: pr.author,
    };
  }

  // Requests whose secrets name the same approvers and need as many approvals are decided together.
  const groups = new Map<string, ValidRequest[]>();
  for (const request of result.requests) {
    const key = JSON.stringify([request.approvals, request.secret.approvers ?? null]);
    groups.set(key, [...(groups.get(key) ?? []), request]);
  }
  const decided = [...groups.values()].map((requests) => ({
    requests,
    decision: decideApproval({
      owners: approval.owners,
      required: (requests[0] as ValidRequest).approvals,
      author: pr.author,
      headSha: pr.headSha,
      reviews: approval.reviews,
      teamMembers: approval.teamMembers,
      reviewerPermissions: approval.reviewerPermissions,
      teamPermissions: approval.teamPermissions,
      allowed: (requests[0] as ValidRequest).secret.approvers ?? null,
      requestsFile: files.path,
    }),
  }));

  const pending = decided.find((d) => !d.decision.approved);
  const breakGlass = result.requests.every((r) => r.breakGlass);
  const requestDigest = requestSetDigest(result.requests);
  /** The grants to make: this head's, of exactly this request set. */
  const planned = (items: PlannedGrants["items"]): PlannedGrants => ({
    repositoryId: repository.id,
    headSha: pr.headSha,
    mergeBaseSha: files.mergeBaseSha,
    requestDigest,
    requester: pr.author,
    items,
  });
  /** The requests as an audit record lists them. */
  const requested = result.requests.map((r) => ({
    secret: r.secret.name,
    environment: r.environment,
    duration: r.entry.duration,
    reason: r.reason,
  }));
  if (pending !== undefined && breakGlass) {
    // Break-glass: granted at once, without approval; loud, and reviewed afterwards.
    return {
      kind: "approved",
      approvals: decided.map((d) => d.decision),
      grant: planned(result.requests.map((request) => ({ request, approvers: [] }))),
      audit: audit("break_glass", pr.author.login, { requests: requested, requestDigest }),
      lapse,
      breakGlass: { kind: "granted", mention: [...new Set(approval.owners.filter((o) => o.kind !== "email").map(formatOwner))] },
    };
  }
  if (pending !== undefined) {
    const { decision } = pending;
    return {
      kind: "waiting",
      approval: decision,
      check: waitingCheck(pr.headSha, result.requests, decision),
      audit: audit("validated", pr.author.login, { requests: requested, approvals: `${decision.approvers.length}/${decision.required}` }),
      lapse,
    };
  }
  const people = (decision: ApprovalDecision): ApproverPermission[] =>
    decision.approvers.map(({ id, login, permission, via }) => ({ id, login, permission, via }));
  const everyone = new Map(decided.flatMap((d) => d.decision.approvers.map((a) => [a.id, a] as const)));
  return {
    kind: "approved",
    approvals: decided.map((d) => d.decision),
    grant: planned(decided.flatMap((d) => d.requests.map((request) => ({ request, approvers: people(d.decision) })))),
    audit: audit("approved", [...everyone.values()].map((a) => a.login).join(","), {
      approvers: [...everyone.values()].map((a) => ({ id: a.id, login: a.login, permission: a.permission, via: a.via })),
      requestDigest,
    }),
    lapse,
    ...(breakGlass ? { breakGlass: { kind: "reviewed" as const, reviewer: reviewerOf(decided[0]!.decision) } } : {}),
  };
}

/** The first counted approver, as the person whose approval reviews a break-glass grant. */
function reviewerOf(decision: ApprovalDecision): Person {
  const { id, login } = decision.approvers[0]!;
  return { id, login };
}

/**
 * Has the head lapsed? Recorded lapsed already, or its `request_ttl` since the first evaluation
 * is over while it was never approved. A head with a live grant on it was approved.
 */
function lapseOf(approval: ApprovalFacts, headSha: string, now: number): boolean {
  const head = approval.requestHead;
  if (head === null || head === undefined || head.approvedAt !== null) return false;
  if (approval.liveGrants.some((g) => g.headSha === headSha)) return false;
  return head.lapsedAt !== null || now >= head.lapsesAt.getTime();
}

/**
 * A digest of a request set: SHA-256 over the JSON of its entries as [SECRET, environment in
 * ASCII lower case, duration in ms, reason], sorted. Recorded with each grant, so the ledger
 * shows exactly which set an approval was for.
 */
export function requestSetDigest(requests: readonly ValidRequest[]): string {
  const entries = requests.map((r) => [asciiUpper(r.secret.name), asciiLower(r.environment), r.durationMs, r.reason] as const);
  const canonical = JSON.stringify(entries.map((e) => JSON.stringify(e)).sort());
  return createHash("sha256").update(canonical).digest("hex");
}

function validate(
  facts: PullRequestFacts,
  files: RequestFileFacts,
  repoConfig: RepoConfig,
  approval: ApprovalFacts,
  catalog: Catalog,
): ValidationResult {
  const { pr, repository } = facts;
  const { head, mergeBase } = files;
  if (head && head.size > MAX_FILE_BYTES) {
    return { problems: [{ line: 1, column: 1, message: parseMessages.fileTooLarge(head.size) }], requests: [], removedOnly: false };
  }
  const permission = approval.authorPermission;
  const mergeBaseTooLarge = mergeBase !== null && mergeBase.size > MAX_FILE_BYTES;
  return validateRequests({
    file: files.path,
    headText: head?.text ?? "",
    baseText: mergeBase === null || mergeBaseTooLarge ? null : mergeBase.text,
    mergeBase: { sha: files.mergeBaseSha, baseMoved: baseMovedRequestsFile(files), tooLarge: mergeBaseTooLarge },
    catalog,
    repoConfig,
    repository: repository.fullName,
    environments: approval.environments.map((e) => e.name),
    protectedEnvironments: approval.environments.filter((e) => e.protectionRules.length > 0 || e.branchPolicy).map((e) => e.name),
    pullRequest: {
      fromFork: pr.headRepoFullName === null || !sameName(pr.headRepoFullName, repository.fullName),
      baseRef: pr.baseRef,
      defaultBranch: repository.defaultBranch,
      authorCanWrite: canWrite(permission),
      authorLogin: pr.author.login,
    },
  });
}
