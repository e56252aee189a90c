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
    count: 1,
    why: "re-read head commit, author, base and default branch: the webhook payload may be older than the head (§3)",
  },
  {
    route: "GET /repos/{owner}/{repo}/contents/{path}",
    count: 4,
    why: "the requests file at head and at base (the request is what head adds, §1); .github/jit-access.yml and CODEOWNERS from the default branch (policy is never read from the PR, §2)",
    cacheable: "the two default-branch files, per default-branch commit; learning that commit is itself a call (GET branch), so 4 → 3",
  },
  {
    route: "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    count: 1,
    why: "each reviewer's latest review on the current head (§3)",
  },
  { route: "GET /repos/{owner}/{repo}/collaborators/{username}/permission", count: 1, why: "the author must have write permission (§1)" },
  { route: "GET /repos/{owner}/{repo}/environments", count: 1, why: "the requested environment must exist (§1)" },
  {
    route: "GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key",
    count: 1,
    why: "seal the value for the environment's key (§4)",
    cacheable: "per environment, keyed by key_id; a PUT refused with 422 means read it again: 1 → 0 for warm grants",
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
  "GET /repos/{owner}/{repo}": "default branch and full name; the pull request's response already carries both (base.repo)",
  "POST /app/installations/{installation_id}/access_tokens":
    "installation token: once per installation per hour (cached), so only cold grants pay it",
};

export function minimumTotal(): number {
  return MINIMUM_GRANT_CALLS.reduce((total, call) => total + call.count, 0);
}
