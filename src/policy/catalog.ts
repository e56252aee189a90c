/**
 * The operator catalog: which secrets exist, where their values come from, and who may
 * receive them. Loaded once at start-up from `JIT_CATALOG`; repository writers cannot change it.
 * The loader lives in `load-catalog.ts`; this file holds the types every other module uses.
 */

/** Where a secret's value is read from at grant time. */
export type SecretSource =
  | { kind: "env"; variable: string }
  | { kind: "file"; path: string };

export interface CatalogSecret {
  /** The secret's name in the environment, as written in the catalog (GitHub upper-cases it). */
  name: string;
  source: SecretSource;
  /** Globs over `owner/name`, e.g. `acme/*`. */
  repositories: string[];
  environments: string[];
  maxDurationMs: number;
  /** No minimum unless set. */
  minDurationMs?: number;
  /** Distinct code owners that must approve; at least 1. */
  approvals: number;
  /** A reason must match this regular expression when set (source text, compiled with `u`). */
  reasonPattern?: string;
  /**
   * Who may approve, among the code owners of the requests file: these users and the active
   * members of these teams. Null or absent: any code owner with write access.
   */
  approvers?: ApproverRef[] | null;
  /** Grant only into environments that have at least one protection rule. */
  requireProtectedEnvironment?: boolean;
}

/** An entry of the catalog's `approvers`: `@user` or `@org/team`. */
export type ApproverRef = { kind: "user"; login: string } | { kind: "team"; org: string; slug: string };

export interface Catalog {
  /** Path the catalog was loaded from, for messages. */
  file: string;
  /** Keyed by the secret's name in upper case (GitHub secret names are case-insensitive). */
  secrets: Map<string, CatalogSecret>;
}
