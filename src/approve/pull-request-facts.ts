import type { EnvironmentInfo, FileContent, Permission, PullRequestInfo, RepositoryInfo, SecretMetadata } from "../github/repo-client.js";
import type { Grant, RequestHead } from "../ledger/store.js";
import type { Owner } from "./codeowners.js";
import type { Review } from "./decide-approval.js";
import type { RepoConfig } from "../policy/repo-config.js";

/**
 * Everything the decision about one pull request rests on, read from GitHub by
 * `gatherPullRequest` and judged by `decidePullRequest`. Plain data: no client, no clock.
 * Later parts are absent when an earlier one already settles the outcome (a closed PR needs no
 * files; a file the PR does not change needs no reviews), so that such events cost few calls.
 */
export interface PullRequestFacts {
  repository: RepositoryInfo;
  pr: PullRequestInfo;
  /** Absent when the PR is closed. */
  files?: RequestFileFacts;
  /**
   * Absent when the requests file is unchanged or the policy could not be read, unless the PR
   * has live grants: their approvals are checked again whatever the file shows.
   */
  approval?: ApprovalFacts;
  /**
   * Read ahead of a grant, when a review approves the head: the metadata of secrets the head's
   * requests file asks for (null: absent), keyed by `secretMetadataKey(environment, secret)`.
   * The grant uses it instead of reading it again; the decision does not look at it.
   */
  secretMetadata?: Map<string, SecretMetadata | null>;
}

export interface RequestFileFacts {
  /** The repository config from the default branch, or why it could not be read. */
  policy: { ok: true; repoConfig: RepoConfig } | { ok: false; message: string };
  /** The requests file's path: the config's, or the default when the config is unreadable. */
  path: string;
  /** The merge base of the PR's base and head: what GitHub shows reviewers the PR against. */
  mergeBaseSha: string;
  /** The file at the PR's head, at the merge base, and at the base branch's tip; null where it does not exist. */
  head: FileContent | null;
  mergeBase: FileContent | null;
  baseTip: FileContent | null;
}

export interface ApprovalFacts {
  /** The repository's Actions environments. */
  environments: EnvironmentInfo[];
  authorPermission: Permission;
  /** Code owners of the requests file, from CODEOWNERS on the default branch. */
  owners: Owner[];
  /** The PR's reviews, oldest first. */
  reviews: Review[];
  /**
   * `org/slug` (lower case) → ids of the reviewers who could count, can write, and are active
   * members, for the owning teams and the teams the catalog names as approvers. Empty when no
   * such reviewer can write (nobody's teams were looked up).
   */
  teamMembers: Map<string, Set<number>>;
  /** Reviewer id → current permission on the repository, for the reviewers who could count. */
  reviewerPermissions: Map<number, Permission>;
  /** `org/slug` (lower case) → the owning team's permission on the repository; empty when no reviewer who could count can write. */
  teamPermissions: Map<string, Permission>;
  /** The PR's live grants, from the ledger: their approvals are checked again (a dismissal ends them). */
  liveGrants: Grant[];
  /**
   * The head's first evaluation as the ledger recorded it (when it lapses, whether it lapsed or
   * was approved); null before the first evaluation, absent when the ledger was not asked.
   */
  requestHead?: RequestHead | null;
}

/**
 * Does the PR change the requests file, against its merge base (what "Files changed" shows)?
 * Compared by text and size: a file over the size cap is not downloaded (empty text), so two
 * different oversized files differ only in size, if at all.
 */
export function requestsFileChanged(files: Pick<RequestFileFacts, "head" | "mergeBase">): boolean {
  return !sameFile(files.head, files.mergeBase);
}

/** The base branch changed the requests file since the merge base: what reviewers see is not what would be granted. */
export function baseMovedRequestsFile(files: Pick<RequestFileFacts, "mergeBase" | "baseTip">): boolean {
  return !sameFile(files.mergeBase, files.baseTip);
}

function sameFile(a: FileContent | null, b: FileContent | null): boolean {
  return (a?.text ?? null) === (b?.text ?? null) && (a?.size ?? -1) === (b?.size ?? -1);
}
