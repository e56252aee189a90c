/**
 * Is a request approved? Pure: the caller gathers the code owners of the requests file (from
 * CODEOWNERS on the default branch), the PR's current head, its reviews and the members of the
 * owning teams; this decides.
 *
 * Rules (DESIGN.md §3):
 * - Reviewers are people, identified by user **id**. Each counts once, however many reviews
 *   they left or owning teams they belong to.
 * - Per reviewer only the latest APPROVED, CHANGES_REQUESTED or DISMISSED review matters.
 *   COMMENTED and PENDING reviews do not replace an earlier approval: on GitHub a comment-only
 *   review leaves the reviewer's approval standing, and so it does here.
 * - That latest review counts only when it is APPROVED and was given on `headSha`, the PR's
 *   current head commit.
 * - The PR's author never counts (matched by id).
 * - A reviewer must be a code owner: named as `@login` (matched by login, case-insensitively,
 *   because CODEOWNERS names logins; GitHub resolves them the same way, so a renamed account
 *   no longer matches its old name), or a member of a named `@org/team` (matched by id, so a
 *   rename does not matter). Teams missing from `teamMembers` have no known members.
 * - A reviewer must currently have write, maintain or admin permission on the repository, as
 *   GitHub requires of code owners; a team counts as an owner only while the team itself has
 *   write access (or more) to the repository. Unknown permissions count as none (fail closed).
 * - When the catalog names `approvers` for the secret, a code owner counts only if they are one
 *   of those users (by login) or an active member of one of those teams.
 * - Email owners cannot be matched to a review and are ignored.
 * - No owner, or only email owners: nothing can be approved (fail closed).
 * - Reviews whose user is `null` (deleted accounts) never count.
 */
import { formatOwner, teamKey, type Owner } from "./codeowners.js";
import type { Permission } from "../github/repo-client.js";
import type { WritePermission } from "../ledger/store.js";
import type { ApproverRef } from "../policy/catalog.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import type { Review } from "../github/repo-client.js";

export type { Review };

export interface ApprovalInput {
  /** Code owners of the requests file, from `ownersFor`. */
  owners: Owner[];
  /** Approvals needed: distinct people, at least 1. */
  required: number;
  author: { id: number; login: string };
  /** The PR's current head, re-read from the API (the webhook payload may be older). */
  headSha: string;
  /** In the order GitHub lists them: oldest first. */
  reviews: Review[];
  /** `org/slug` in lower case (see `teamKey`) → user ids of the team's members. */
  teamMembers: ReadonlyMap<string, ReadonlySet<number>>;
  /** Path of the requests file, for the summary; default `jit-requests.yml`. */
  requestsFile?: string;
  /** Reviewer id → current permission on the repository; reviewers missing here have none. */
  reviewerPermissions: ReadonlyMap<number, Permission>;
  /** `org/slug` (lower case) → the team's permission on the repository; missing teams have none. */
  teamPermissions: ReadonlyMap<string, Permission>;
  /** The catalog's `approvers` for the secret: who may approve at all, among the code owners. Null: any code owner. */
  allowed?: readonly ApproverRef[] | null;
}

/** Permissions that let someone push, and so be a code owner whose review GitHub counts. */
export function canWrite(permission: Permission | undefined): boolean {
  return isWrite(permission);
}

function isWrite(permission: Permission | undefined): permission is WritePermission {
  return permission === "admin" || permission === "maintain" || permission === "write";
}

export interface ApprovalDecision {
  approved: boolean;
  /**
   * People whose approval counts; `via` is the CODEOWNERS entry that makes them an owner, and
   * `permission` their permission on the repository as read for this decision (write or more).
   */
  approvers: { id: number; login: string; via: string; permission: WritePermission }[];
  required: number;
  /** One line for the check run, e.g. "1 of 2 approvals: @alice; waiting for another code owner: @bob, @acme/dba". */
  summary: string;
  /** Reviewers whose latest review does not count, and why; for the check run's details. */
  ignored: { login: string; why: string }[];
}

type Approver = ApprovalDecision["approvers"][number];
type Ignored = ApprovalDecision["ignored"][number];
type Reviewer = { id: number; login: string };

/** Review states that replace a reviewer's earlier verdict; COMMENTED and PENDING do not. */
const VERDICT_STATES = new Set(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

/**
 * Whether a review in `state` (either case: webhooks send lower case, the REST list upper case)
 * replaces its author's earlier verdict. A comment-only or pending review does not, so it can
 * never change a decision.
 */
export function replacesVerdict(state: string): boolean {
  return VERDICT_STATES.has(state.toUpperCase());
}

/** GitHub shows deleted accounts as "ghost". */
const DELETED_ACCOUNT = "ghost";

export function decideApproval(input: ApprovalInput): ApprovalDecision {
  const { required } = input;
  if (!Number.isInteger(required) || required < 1) {
    throw new RangeError(`Required approvals must be a whole number of at least 1, got ${required}.`);
  }
  const file = input.requestsFile ?? DEFAULT_REPO_CONFIG.requestsFile;
  const reviewable = input.owners.filter((owner) => owner.kind !== "email");
  const emails = input.owners.filter((owner) => owner.kind === "email").map(formatOwner);

  if (reviewable.length === 0) {
    const summary =
      emails.length === 0
        ? `Nothing can be approved: ${file} has no code owner in CODEOWNERS on the default branch.`
        : `Nothing can be approved: the only code owners of ${file} are email addresses (${emails.join(", ")}), which cannot be matched to reviewers. Name the owners as @user or @org/team in CODEOWNERS on the default branch.`;
    return { approved: false, approvers: [], required, summary, ignored: [] };
  }

  const { verdicts, deletedAccountApproved } = latestVerdicts(input.reviews);
  const approvers: Approver[] = [];
  const ignored: Ignored[] = [];
  if (deletedAccountApproved) {
    ignored.push({ login: DELETED_ACCOUNT, why: "approved from an account that has since been deleted" });
  }
  const entitledOwners = reviewable.filter((owner) => owner.kind !== "team" || canWrite(input.teamPermissions.get(teamKey(owner))));
  for (const { reviewer, review } of verdicts.values()) {
    const via = ownerVia(reviewer, entitledOwners, input.teamMembers);
    const why = whyNotCounted(review, reviewer, via, input, file, reviewable);
    const permission = input.reviewerPermissions.get(reviewer.id);
    if (why !== null) ignored.push({ login: reviewer.login, why });
    else if (via !== null && isWrite(permission)) approvers.push({ id: reviewer.id, login: reviewer.login, via, permission });
  }

  const approved = approvers.length >= required;
  const summary = summarize({ approvers, required, approved, reviewable, emails, author: input.author, file });
  return { approved, approvers, required, summary, ignored };
}

/**
 * Reviewers who could count under the rules above, before ownership is known: their latest
 * verdict is APPROVED on `headSha` and they are not the author. Only these need their permission
 * and team membership looked up, so a review that cannot change the decision costs no call.
 * `reviewId` is that approving review's id.
 */
export function approvalCandidates(input: Pick<ApprovalInput, "reviews" | "author" | "headSha">): (Reviewer & { reviewId: number })[] {
  const { verdicts } = latestVerdicts(input.reviews);
  return [...verdicts.values()]
    .filter(
      ({ reviewer, review }) =>
        reviewer.id !== input.author.id && review.state.toUpperCase() === "APPROVED" && review.commit_id === input.headSha,
    )
    .map(({ reviewer, review }) => ({ id: reviewer.id, login: reviewer.login, reviewId: review.id }));
}

/** Each reviewer's latest verdict state (APPROVED, CHANGES_REQUESTED or DISMISSED), by user id. */
export function latestVerdictStates(reviews: readonly Review[]): Map<number, string> {
  return new Map([...latestVerdicts(reviews).verdicts].map(([id, { review }]) => [id, review.state.toUpperCase()]));
}

/** Each reviewer's latest verdict, keyed by user id, in the order reviewers first gave one. */
function latestVerdicts(reviews: readonly Review[]): {
  verdicts: Map<number, { reviewer: Reviewer; review: Review }>;
  deletedAccountApproved: boolean;
} {
  const verdicts = new Map<number, { reviewer: Reviewer; review: Review }>();
  let deletedAccountApproved = false;
  for (const review of reviews) {
    const state = review.state.toUpperCase();
    if (!VERDICT_STATES.has(state)) continue;
    if (review.user === null) {
      deletedAccountApproved ||= state === "APPROVED";
      continue;
    }
    verdicts.set(review.user.id, { reviewer: review.user, review });
  }
  return { verdicts, deletedAccountApproved };
}

function whyNotCounted(
  review: Review,
  reviewer: Reviewer,
  via: string | null,
  input: ApprovalInput,
  file: string,
  reviewable: readonly Owner[],
): string | null {
  if (reviewer.id === input.author.id) {
    return "is the author of the pull request, who cannot approve their own request";
  }
  switch (review.state.toUpperCase()) {
    case "CHANGES_REQUESTED":
      return "requested changes";
    case "DISMISSED":
      return "review was dismissed";
  }
  if (review.commit_id !== input.headSha) {
    return review.commit_id === null
      ? "approved an unknown commit, not the current head"
      : `approved an older commit (${review.commit_id.slice(0, 7)}), not the current head`;
  }
  if (via === null) {
    // Whoever cannot write never counts, so their team memberships are not looked up (gather):
    // a known permission short of write is the reason, whatever teams they may be in.
    const known = input.reviewerPermissions.get(reviewer.id);
    if (known !== undefined && !canWrite(known)) return lacksWrite(known);
    const throughTeam = ownerVia(reviewer, reviewable, input.teamMembers);
    return throughTeam === null
      ? `is not a code owner of ${file}`
      : `is a code owner only through ${throughTeam}, which has no write access to the repository`;
  }
  const permission = input.reviewerPermissions.get(reviewer.id) ?? "none";
  if (!canWrite(permission)) return lacksWrite(permission);
  if (input.allowed != null && !isAllowed(reviewer, input.allowed, input.teamMembers)) {
    return `is not among the catalog's approvers for this secret (${input.allowed.map(formatOwner).join(", ")})`;
  }
  return null;
}

function lacksWrite(permission: Permission): string {
  return `has ${permission === "none" ? "no" : permission} access to the repository; a code owner needs write access`;
}

function isAllowed(reviewer: Reviewer, allowed: readonly ApproverRef[], teamMembers: ReadonlyMap<string, ReadonlySet<number>>): boolean {
  const login = reviewer.login.toLowerCase();
  return allowed.some((entry) =>
    entry.kind === "user" ? entry.login.toLowerCase() === login : (teamMembers.get(teamKey(entry))?.has(reviewer.id) ?? false),
  );
}

/** The first owner entry, in CODEOWNERS order, that the reviewer is or belongs to. */
function ownerVia(reviewer: Reviewer, owners: readonly Owner[], teamMembers: ReadonlyMap<string, ReadonlySet<number>>): string | null {
  const login = reviewer.login.toLowerCase();
  const owner = owners.find((candidate) =>
    candidate.kind === "user"
      ? candidate.login.toLowerCase() === login
      : candidate.kind === "team" && (teamMembers.get(teamKey(candidate))?.has(reviewer.id) ?? false),
  );
  return owner === undefined ? null : formatOwner(owner);
}

function summarize(facts: {
  approvers: readonly Approver[];
  required: number;
  approved: boolean;
  reviewable: readonly Owner[];
  emails: readonly string[];
  author: Reviewer;
  file: string;
}): string {
  const { approvers, required, file } = facts;
  const count = approvers.length;
  let summary = `${count} of ${required} approval${required === 1 ? "" : "s"}`;
  if (count > 0) summary += `: ${approvers.map((a) => `@${a.login}`).join(", ")}`;
  if (!facts.approved) {
    const missing = required - count;
    const whom =
      missing === 1 ? (count === 0 ? "a code owner" : "another code owner") : `${missing} ${count === 0 ? "" : "more "}code owners`;
    const pending = pendingOwners(facts.reviewable, approvers, facts.author);
    summary +=
      pending.length > 0
        ? `; waiting for ${whom}: ${pending.join(", ")}`
        : `; waiting for ${whom}, but CODEOWNERS names no one else who can approve ${file}: add owners for it on the default branch`;
  }
  if (facts.emails.length > 0) {
    summary += `. Email owners cannot be matched to reviewers and are ignored: ${facts.emails.join(", ")}`;
  }
  return summary;
}

/** Owners who could still approve: teams, and named users who are neither approvers nor the author. */
function pendingOwners(owners: readonly Owner[], approvers: readonly Approver[], author: Reviewer): string[] {
  const done = new Set([...approvers.map((a) => a.login.toLowerCase()), author.login.toLowerCase()]);
  return owners.filter((owner) => owner.kind !== "user" || !done.has(owner.login.toLowerCase())).map(formatOwner);
}
