import type { ApprovalDecision } from "../approve/decide-approval.js";
import type { CheckAnnotation, CheckRunInput } from "../github/repo-client.js";
import type { Problem } from "../request/problem.js";
import type { ValidRequest } from "../request/validate-requests.js";
import { formatDuration } from "../util/duration.js";
import type { Grant } from "../ledger/store.js";
import { formatExpiry, markdownCodeBlock, markdownLiteral as literal } from "./markdown.js";

/**
 * What the `jit-access` check run says at each step. Pure: data in, check-run input out.
 * Nothing here ever sees a secret value.
 */
export const CHECK_NAME = "jit-access";

export function problemsCheck(file: string, headSha: string, problems: Problem[]): CheckRunInput {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const annotations: CheckAnnotation[] = sorted.map((p) => annotation(file, p));
  const lines = sorted.map((p) => `- ${literal(file)} line ${p.line}: ${literal(p.message)}`);
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "failure",
    title: `${problems.length} problem${problems.length === 1 ? "" : "s"} in ${file}`,
    summary: `This access request cannot be approved until ${problems.length === 1 ? "this is" : "these are"} fixed:\n\n${lines.join("\n")}`,
    annotations,
  };
}

function annotation(path: string, p: Problem): CheckAnnotation {
  const endLine = p.endLine ?? p.line;
  const sameLine = endLine === p.line;
  return {
    path,
    start_line: p.line,
    end_line: endLine,
    // GitHub accepts columns only when the annotation is on one line.
    ...(sameLine ? { start_column: p.column, end_column: Math.max(p.column, p.endColumn ?? p.column) } : {}),
    annotation_level: "failure",
    title: "jit-access",
    message: p.message,
  };
}

export function requestTable(requests: ValidRequest[]): string {
  const rows = requests.map(
    (r) => `| ${literal(r.secret.name)} | ${literal(r.environment)} | ${formatDuration(r.durationMs)} | ${literal(r.reason)} |`,
  );
  return ["| Secret | Environment | Duration | Reason |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

export function waitingCheck(headSha: string, requests: ValidRequest[], decision: ApprovalDecision): CheckRunInput {
  const ignored = decision.ignored.map((i) => `- ${literal(`@${i.login}`)}: ${literal(i.why)}`);
  return {
    name: CHECK_NAME,
    headSha,
    status: "in_progress",
    title: `Waiting for approval: ${decision.approvers.length} of ${decision.required}`,
    summary: [
      `**${decision.summary}**`,
      "",
      requestTable(requests),
      "",
      "A code owner of the requests file approves this pull request to grant access; the approval must be on the latest commit.",
      ...(ignored.length > 0 ? ["", "Reviews that do not count:", ...ignored] : []),
    ].join("\n"),
  };
}

/** The head did not gather its approvals within `request_ttl` (`ttlMs`) of its first evaluation. */
export function lapsedCheck(headSha: string, ttlMs: number): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "failure",
    title: "Request lapsed",
    summary: lapsedMessage(ttlMs),
  };
}

export function lapsedMessage(ttlMs: number): string {
  return `This request lapsed unapproved after ${formatDuration(ttlMs)}; push a new commit to ask again`;
}

export function removalOnlyCheck(headSha: string, file: string): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "success",
    title: "Nothing requested",
    summary: `This pull request only removes entries from ${literal(file)}; it requests no access.`,
  };
}

export function grantedCheck(headSha: string, grants: Grant[], now: number): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "success",
    title: `Access granted: ${grants.map((g) => g.secret).join(", ")}`,
    summary: grantList(grants, now),
  };
}

/** Break-glass access was granted without approval: neutral until a code owner approves the pull request afterwards. */
export function breakGlassCheck(headSha: string, grants: Grant[], now: number): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "neutral",
    title: `Break-glass access granted without approval: needs review`,
    summary: [
      "**Break-glass:** access was granted at once, without approval. A code owner of the requests file must review it: approve this pull request.",
      "",
      grantList(grants, now),
    ].join("\n"),
  };
}

/** A code owner approved after a break-glass grant: the review it waited for is recorded. */
export function breakGlassReviewedCheck(headSha: string, reviewer: string): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "success",
    title: "Break-glass access reviewed",
    summary: `The break-glass access of this pull request was reviewed by ${literal(`@${reviewer}`)}, who approved it afterwards.`,
  };
}

export function grantFailedCheck(headSha: string, failures: { secret: string; environment: string; why: string }[]): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "failure",
    title: "Access could not be granted",
    summary: failures.map((f) => `- ${literal(f.secret)} → ${literal(f.environment)}: ${literal(f.why)}`).join("\n"),
  };
}

export function grantDeferredCheck(headSha: string, deferred: { secret: string; environment: string; why: string }[]): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "in_progress",
    title: "Granting: GitHub could not take the write yet; retrying",
    summary: deferred.map((f) => `- ${literal(f.secret)} → ${literal(f.environment)}: ${literal(f.why)}`).join("\n"),
  };
}

export function policyErrorCheck(headSha: string, message: string): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "failure",
    title: "Repository configuration is invalid",
    summary: `The repository's access policy could not be read, so nothing can be approved:\n\n${markdownCodeBlock(message)}`,
  };
}

/**
 * Revoke-only: the operator catalog failed to load, so nothing can be granted. Says nothing of
 * the catalog's contents or where it is (the operator's log has the details), and repeats no
 * text from the pull request.
 */
export function revokeOnlyCheck(headSha: string): CheckRunInput {
  return {
    name: CHECK_NAME,
    headSha,
    status: "completed",
    conclusion: "failure",
    title: "Nothing can be granted: the operator catalog is invalid",
    summary: [
      "jit-access could not load its operator catalog (it is missing or invalid), so it is running **revoke-only**: it grants nothing until an operator fixes the catalog. Grants already made still end on time.",
      "",
      "Once the catalog is fixed, push a commit or approve the pull request again to have it evaluated again.",
    ].join("\n"),
  };
}

export function grantList(grants: Grant[], now: number): string {
  const rows = grants.map(
    (g) =>
      `| ${literal(g.secret)} | ${literal(g.environment)} | ${formatExpiry(g.expiresAt, now)} | ${g.approvers
        .map((a) => literal(`@${a.login}`))
        .join(", ")} |`,
  );
  return ["| Secret | Environment | Expires | Approved by |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
