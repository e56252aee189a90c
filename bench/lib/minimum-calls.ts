/**
 * The GitHub API calls one approved grant needs at least, by DESIGN.md, each with its reason.
 * The benchmark prints them next to the calls the app made.
 */
export interface NeededCall {
  route: string;
  count: number;
  why: string;
  /** What a cache could save, and what it would need. */
  cacheable?: string;
}

export const MINIMUM_GRANT_CALLS: NeededCall[] = [
  {
    route: "GET /repos/{owner}/{repo}/pulls/{pull_number}",
    count: 2,
    why: "re-read head commit, author, base and default branch: the webhook payload may be older than the head (§3); and again once the ledger row exists, alongside the PUT, so that a close handled in between ends the grant",
  },
  {
    route: "GET /repos/{owner}/{repo}/compare/{basehead}",
    count: 1,
    why: "the merge base (what reviewers see the PR against, §1) and the base branch's tip",
  },
  {
    route: "GET /repos/{owner}/{repo}/contents/{path}",
    count: 4,
    why: "the requests file at head and at the merge base (the request is what head adds, §1); .github/jit-access.yml and CODEOWNERS from the default branch (policy is never read from the PR, §2)",
    cacheable: "the file at the merge base, by commit (content at a commit never changes): 4 → 3 for PRs cut from the same commit",
  },
  {
    route: "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    count: 1,
    why: "each reviewer's latest review on the current head (§3)",
  },
  {
    route: "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    count: 2,
    why: "the author must have write permission (§1); so must each approver whose approval counts (§3)",
  },
  { route: "GET /repos/{owner}/{repo}/environments", count: 1, why: "the requested environment must exist (§1)" },
  {
    route: "GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key",
    count: 0,
    why: "seal the value for the environment's key (§4); kept per environment by key_id, read again when a PUT is refused for a rotated key",
  },
  {
    route: "GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
    count: 2,
    why: "the secret's metadata before the PUT (is it someone else's? issue 21) and after it (its updated_at, the app's write mark)",
  },
  { route: "PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}", count: 1, why: "the grant itself (§4)" },
  { route: "POST /repos/{owner}/{repo}/check-runs", count: 1, why: "check run success on the head (§4)" },
  {
    route: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    count: 1,
    why: "one comment: secret, environment, expiry, approvers (§4)",
  },
  { route: "POST /repos/{owner}/{repo}/issues/{issue_number}/labels", count: 1, why: "label jit:granted, set in one call (§4)" },
];

/** Calls a grant makes that the design does not need, or needs only once per installation. */
export const NOT_PER_GRANT: Record<string, string> = {
  "GET /repos/{owner}/{repo}": "default branch and full name: no longer read, the pull request's response carries both (base.repo)",
  "POST /app/installations/{installation_id}/access_tokens":
    "installation token: once per installation per hour (cached), so only cold grants pay it",
};

export function minimumTotal(): number {
  return MINIMUM_GRANT_CALLS.reduce((total, call) => total + call.count, 0);
}
