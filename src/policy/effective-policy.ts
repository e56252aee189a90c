/**
 * The policy that applies to one request: the catalog's bounds for the secret, tightened by the
 * repository's `.github/jit-access.yml`. The repository config can only tighten: it shortens the
 * longest duration, raises the number of approvals and binds grants to their requesters, never
 * the reverse. Pure.
 */
import type { CatalogSecret } from "./catalog.js";
import type { RepoConfig } from "./repo-config.js";

export interface EffectivePolicy {
  /** Longest duration a request may ask for. */
  maxDurationMs: number;
  /** Shortest duration a request may ask for; no minimum unless set. */
  minDurationMs?: number;
  /** Distinct code owners that must approve. */
  approvals: number;
  /** A reason must match this regular expression (compiled with `u`) when set. */
  reasonPattern?: string;
  /**
   * The grant serves only its requester's own workflow runs where jit-access is the
   * environment's deployment protection rule: the catalog's or the repository's
   * `bind_to_requester` (either one binds; the repository cannot unbind what the catalog binds).
   */
  boundToRequester: boolean;
}

export function effectivePolicy(secret: CatalogSecret, config: RepoConfig): EffectivePolicy {
  const policy: EffectivePolicy = {
    maxDurationMs: Math.min(secret.maxDurationMs, config.maxDurationMs ?? secret.maxDurationMs),
    approvals: Math.max(secret.approvals, config.approvals ?? secret.approvals),
    boundToRequester: secret.bindToRequester || config.bindToRequester === true,
  };
  if (secret.minDurationMs !== undefined) policy.minDurationMs = secret.minDurationMs;
  if (secret.reasonPattern !== undefined) policy.reasonPattern = secret.reasonPattern;
  return policy;
}
