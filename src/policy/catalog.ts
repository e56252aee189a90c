/**
 * The operator catalog: which secrets exist, where their values come from, and who may
 * receive them. Loaded once at start-up from `JIT_CATALOG`; repository writers cannot change it.
 * The loader lives in `load-catalog.ts`; this file holds the types every other module uses.
 */

/** Where a secret's value is read from at grant time. */
export type SecretSource = { kind: "env"; variable: string } | { kind: "file"; path: string };

/**
 * One entry of a secret's `approvers`, as written in the catalog (`@acme/dba`, `@alice`), with
 * the syntax of a CODEOWNERS owner. Logins, org and team slugs compare case-insensitively.
 */
export type ApproverRef = { kind: "user"; login: string } | { kind: "team"; org: string; slug: string };

export interface CatalogSecret {
  /** The secret's name in the environment, as written in the catalog (GitHub upper-cases it). */
  name: string;
  source: SecretSource;
  /**
   * Globs over `owner/name`, e.g. `acme/*`. A glob with `*` or `?` is only loaded when
   * `approvers` is set: a repository created later brings its own CODEOWNERS.
   */
  repositories: string[];
  environments: string[];
  maxDurationMs: number;
  /** No minimum unless set. */
  minDurationMs?: number;
  /** Distinct code owners that must approve; at least 1. */
  approvals: number;
  /**
   * Who may approve, besides being a code owner of the requests file: an approval counts only
   * when its reviewer is one of these users or an active member of one of these teams.
   * Null when the catalog sets no `approvers`: then any code owner counts. Never empty.
   */
  approvers: ApproverRef[] | null;
  /** A reason must match this regular expression when set (source text, compiled with `u`). */
  reasonPattern?: string;
  /**
   * Grant only into environments with at least one protection rule (required reviewers, wait
   * timer, deployment branch policy or a custom rule). False unless set.
   */
  requireProtectedEnvironment: boolean;
  /**
   * Where jit-access is the environment's custom deployment protection rule, a grant of this
   * secret lets through only workflow runs its requester started (and, for a re-run, re-ran).
   * False unless set.
   */
  bindToRequester: boolean;
  /** How long a request may wait for its approvals after its head's first evaluation; `DEFAULT_REQUEST_TTL_MS` unless set. */
  requestTtlMs?: number;
  /** Break-glass is allowed, for at most this long; not allowed unless set. */
  breakGlass?: { maxDurationMs: number };
  /** `/jit extend` allowed: by at most `maxMs` each time, at most `times` times. Absent: not allowed. */
  extension?: { maxMs: number; times: number };
  /** How long before expiry the requester is reminded; absent: the default (see `reminderLeadMs`). */
  notifyBeforeMs?: number;
}

/** A request lapses unapproved 24 hours after its head was first evaluated, unless the catalog says otherwise. */
export const DEFAULT_REQUEST_TTL_MS = 24 * 3_600_000;

export interface Catalog {
  /** Path the catalog was loaded from, for messages. */
  file: string;
  /** Keyed by the secret's name in upper case (GitHub secret names are case-insensitive). */
  secrets: Map<string, CatalogSecret>;
}
