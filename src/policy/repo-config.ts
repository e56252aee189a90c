/**
 * Repository configuration `.github/jit-access.yml`, read from the default branch.
 * It may only tighten the catalog: shorter durations, more approvals, grants bound to their
 * requesters; never widen it.
 * The parser lives in `load-repo-config.ts`.
 */
export interface RepoConfig {
  /** Path of the requests file in the repository; default `jit-requests.yml`. */
  requestsFile: string;
  /** Upper bound on every request's duration; the lower of this and the catalog's wins. */
  maxDurationMs?: number;
  /** Minimum approvals for every request; the higher of this and the catalog's wins. */
  approvals?: number;
  /**
   * Every grant in the repository serves only its requester's own workflow runs where jit-access
   * is the environment's deployment protection rule (the catalog's `bind_to_requester` does the
   * same per secret; either one binds).
   */
  bindToRequester?: boolean;
  /** False forbids break-glass in this repository, whatever the catalog allows; true or unset leaves it to the catalog. */
  breakGlass?: boolean;
}

export const DEFAULT_REPO_CONFIG: RepoConfig = { requestsFile: "jit-requests.yml" };
