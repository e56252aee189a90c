/**
 * Decide: what the app does about one pull request, from the gathered facts alone. Pure: no
 * I/O and no clock of its own (`now` is given), so the same facts always give the same decision,
 * a redelivered event converges to the same state, and a dry run can print it.
 *
 * In order:
 * - a closed PR: nothing (closing revokes through its own handler);
 * - a requests file the PR does not change: nothing, not even a check run;
 * - a repository config that cannot be read: a failing check run, nothing approved;
 * - problems in the request (see `validateRequests`): a failing check with every problem at its line;
 * - only removals: a passing check, nothing to grant;
 * - not enough approvals (see `decideApproval`): a waiting check;
 * - approved: the requests to grant, with the approvers and the head they approved.
 */
import type { CheckRunInput } from "../github/repo-client.js";
import type { AuditInput, Person } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { decideApproval, type ApprovalDecision } from "../policy/decide-approval.js";
import type { RepoConfig } from "../policy/repo-config.js";
import type { Problem } from "../requests/problem.js";
import { MAX_FILE_BYTES, parseMessages } from "../requests/request-messages.js";
import { validateRequests, type ValidRequest, type ValidationResult } from "../requests/validate-requests.js";
import { policyErrorCheck, problemsCheck, removalOnlyCheck, waitingCheck } from "./check-feedback.js";
import { requestsFileChanged, type ApprovalFacts, type PullRequestFacts, type RequestFileFacts } from "./pull-request-facts.js";

export type Decision =
  | { kind: "closed" }
  | { kind: "untouched" }
  | { kind: "policy-error"; message: string; check: CheckRunInput }
  | { kind: "invalid"; problems: Problem[]; check: CheckRunInput; audit: AuditInput }
  | { kind: "removal-only"; check: CheckRunInput }
  | { kind: "waiting"; approval: ApprovalDecision; check: CheckRunInput; audit: AuditInput }
  | { kind: "approved"; approval: ApprovalDecision; grant: PlannedGrants; audit: AuditInput };

/** What an approval entitles: these requests, for this head, approved by these people. */
export interface PlannedGrants {
  headSha: string;
  requester: Person;
  approvers: Person[];
  requests: ValidRequest[];
}

export interface DecisionContext {
  catalog: Catalog;
  /** Milliseconds since the epoch, for the audit records. */
  now: number;
  /** What woke us, for the audit: "pull_request.opened", "retry", … */
  trigger: string;
}

export function decidePullRequest(facts: PullRequestFacts, ctx: DecisionContext): Decision {
  const { pr, repository, files, approval } = facts;
  if (pr.state !== "open" || files === undefined) return { kind: "closed" };
  if (!requestsFileChanged(files)) return { kind: "untouched" };
  if (!files.policy.ok) {
    return { kind: "policy-error", message: files.policy.message, check: policyErrorCheck(pr.headSha, files.policy.message) };
  }
  if (approval === undefined) throw new Error("decidePullRequest: the approval facts were not gathered for a changed requests file");

  const audit = (action: AuditInput["action"], actor: string, details: Record<string, unknown>): AuditInput => ({
    at: new Date(ctx.now),
    action,
    actor,
    owner: repository.owner,
    repo: repository.name,
    prNumber: pr.number,
    details: { trigger: ctx.trigger, headSha: pr.headSha, ...details },
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

  const decision = decideApproval({
    owners: approval.owners,
    required: Math.max(...result.requests.map((r) => r.approvals)),
    author: pr.author,
    headSha: pr.headSha,
    reviews: approval.reviews,
    teamMembers: approval.teamMembers,
    requestsFile: files.path,
  });
  if (!decision.approved) {
    return {
      kind: "waiting",
      approval: decision,
      check: waitingCheck(pr.headSha, result.requests, decision),
      audit: audit("validated", pr.author.login, {
        requests: result.requests.map((r) => ({ secret: r.secret.name, environment: r.environment, duration: r.entry.duration })),
        approvals: `${decision.approvers.length}/${decision.required}`,
      }),
    };
  }
  return {
    kind: "approved",
    approval: decision,
    grant: {
      headSha: pr.headSha,
      requester: pr.author,
      approvers: decision.approvers.map(({ id, login }) => ({ id, login })),
      requests: result.requests,
    },
    audit: audit("approved", decision.approvers.map((a) => a.login).join(","), {
      approvers: decision.approvers.map((a) => ({ id: a.id, login: a.login, via: a.via })),
    }),
  };
}

function validate(facts: PullRequestFacts, files: RequestFileFacts, repoConfig: RepoConfig, approval: ApprovalFacts, catalog: Catalog): ValidationResult {
  const { pr, repository } = facts;
  const { head, base } = files;
  if (head && head.size > MAX_FILE_BYTES) {
    return { problems: [{ line: 1, column: 1, message: parseMessages.fileTooLarge(head.size) }], requests: [], removedOnly: false };
  }
  const permission = approval.authorPermission;
  return validateRequests({
    file: files.path,
    headText: head?.text ?? "",
    baseText: base && base.size <= MAX_FILE_BYTES ? base.text : null,
    catalog,
    repoConfig,
    repository: repository.fullName,
    environments: approval.environments,
    pullRequest: {
      fromFork: pr.headRepoFullName === null || pr.headRepoFullName.toLowerCase() !== repository.fullName.toLowerCase(),
      baseRef: pr.baseRef,
      defaultBranch: repository.defaultBranch,
      authorCanWrite: permission === "admin" || permission === "maintain" || permission === "write",
      authorLogin: pr.author.login,
    },
  });
}
