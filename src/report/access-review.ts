/**
 * An access review: who had which secret, in which environment, when, for how long, why, and
 * who approved it, over a period, with what went wrong listed first. Pure: the grants and audit
 * records of the period in, the review out, as plain JSON data (`jit-access report --format json`
 * prints it as it is; `render-html.ts` draws it).
 *
 * The grants of a period are those whose life overlaps it: written before its end and not ended
 * before its start (`LedgerStore.grantsInPeriod`), narrowed by a repository glob and a secret.
 * The builder takes them a page at a time, then the audit records from the first of them on.
 *
 * - A grant's access starts when its secret was written (`grantedAt`); a grant whose write was
 *   never confirmed (a crash, an uncertain write) counts from the uncertain write or from its
 *   ledger row, as its expiry does. A grant that `failed` was never written: it has no access,
 *   no bar and no duration, but it is in the table and counts for the exceptions.
 * - How a grant ended: `expired`; `closed` (revoked because its pull request was closed without
 *   merging); `revoked` (any other early end: an operator, a withdrawn approval); `live` (not
 *   ended yet); `failed`. A break-glass grant (granted at once, without approval: `Grant.breakGlass`)
 *   is `break-glass` however it ended, unless it was never written (`failed`).
 * - Approvers are shown with the permission each held on the repository when the grant was
 *   recorded, and the CODEOWNERS entry they owned through; the ledger has it for grants recorded
 *   since schema version 13, and says "not recorded" for older ones rather than guess.
 * - Durations (median, longest) are of the grants that ended: end minus start.
 * - A revocation ran late when the secret was deleted more than `LATE_AFTER_MS` after the
 *   expiry, or is still not deleted that long after it at the end of the review (the period's
 *   end, or now when the period has not ended).
 * - Exceptions: a grant with no recorded approver (other than a reviewed break-glass grant); a
 *   grant whose secret outlived the end the ledger set (a late revocation, an early end still
 *   pending, or a delete that failed after the grant had ended); a break in the audit hash chain.
 */
import type { AuditVerification } from "../ledger/audit-chain.js";
import type { AuditEvent, Grant, GrantState } from "../ledger/store.js";
import { CLOSED_UNMERGED_REASON } from "../revoke/end-reasons.js";
import { matchesRepoGlob } from "../policy/repo-glob.js";
import { formatDuration } from "../util/duration.js";

/** A revocation later than this after the expiry ran late (the sweep's default interval). */
export const LATE_AFTER_MS = 60_000;

export interface ReviewScope {
  /** The period's start. */
  since: Date;
  /** The period's end (exclusive). */
  until: Date;
  /** When the review is made: a period that ends later is reviewed up to now. */
  now: Date;
  /** A glob over `owner/name` (`acme/*`); every repository when absent. */
  repo?: string;
  /** One secret name (compared case-insensitively); every secret when absent. */
  secret?: string;
  /** GitHub's web address for pull request links: `https://github.com`, or a GitHub Enterprise host's. */
  webUrl: string;
}

export const ENDINGS = ["expired", "revoked", "closed", "break-glass", "live", "failed"] as const;
export type Ending = (typeof ENDINGS)[number];

/** One grant as the review shows it; times are ISO 8601 strings in UTC. */
export interface ReviewGrant {
  id: string;
  /** `owner/name`. */
  repository: string;
  environment: string;
  secret: string;
  requester: string;
  /** Logins of the approvers the grant recorded. */
  approvers: string[];
  /**
   * Each approver's permission on the repository when the grant was recorded, and the CODEOWNERS
   * entry they owned through (`@login`, or `@org/team`); null when the ledger did not record it
   * (grants recorded before it kept it).
   */
  approverPermissions: Array<{ login: string; permission: string; via: string }> | null;
  /** Whether the grant was break-glass: granted at once, without approval, to be reviewed afterwards. */
  breakGlass: boolean;
  /** The code owner whose approval afterwards reviewed a break-glass grant, and when; null until then (and for other grants). */
  breakGlassReview: { reviewer: string; at: string } | null;
  reason: string;
  prNumber: number;
  prUrl: string;
  headSha: string;
  requestedMs: number;
  /** When access started (see the module comment); null for a grant that was never written. */
  start: string | null;
  /** Whether the ledger recorded the secret as written (`grantedAt`). */
  writeConfirmed: boolean;
  /** When the grant ended; null while it is live. */
  end: string | null;
  /** End minus start; for a live grant, up to the end of the review; null when never written. */
  actualMs: number | null;
  ending: Ending;
  /** The ledger's state now. */
  state: GrantState;
  expiresAt: string;
  endReason: string | null;
  /** Who ended it, from its audit record (a login, `jit-access`, `operator:NAME`). */
  endedBy: string | null;
  revokeAttempts: number;
  /** How long after the expiry the secret was deleted (or is still not), when more than `LATE_AFTER_MS`. */
  lateMs: number | null;
  /** How long before the expiry a revoked grant ended. */
  earlyMs: number | null;
}

export interface GrantNote {
  grantId: string;
  why: string;
}

export interface Count {
  login: string;
  grants: number;
}

export interface SecretSummary {
  repository: string;
  environment: string;
  secret: string;
  grants: number;
  endings: Record<Ending, number>;
}

export type AuditChainState =
  | { intact: true; records: number; lastSeq: number | null; lastHash: string }
  | { intact: false; seq: number; problem: string; recordsIntact: number };

export interface AccessReview {
  /** When the review was made. */
  generatedAt: string;
  /** `asOf`: the end of what the review can tell, the period's end or `generatedAt`, whichever is earlier. */
  period: { since: string; until: string; asOf: string };
  filters: { repo: string | null; secret: string | null };
  lateAfterMs: number;
  exceptions: {
    withoutApproval: GrantNote[];
    outlived: GrantNote[];
    auditChain: AuditChainState;
  };
  summary: {
    /** Grants with access in the period (every grant but the failed ones). */
    grants: number;
    /** Grants approved but never written. */
    notWritten: number;
    /** Grants still live now. */
    live: number;
    bySecret: SecretSummary[];
    requesters: Count[];
    approvers: Count[];
    durations: { ended: number; medianMs: number | null; longest: { grantId: string; ms: number } | null };
    /** Break-glass grants with access in the period, one per grant, and how many of them were reviewed. */
    breakGlass: { grants: number; reviewed: number };
    revocationFailures: Array<{ grantId: string; attempts: number; lastError: string | null; resolved: boolean }>;
    lateRevocations: Array<{ grantId: string; lateMs: number; stillLive: boolean }>;
    revokedEarly: Array<{ grantId: string; earlyMs: number; reason: string | null; by: string | null }>;
  };
  /** One per secret and environment (and repository), with the grants that had access, by start. */
  timelines: Array<{ repository: string; environment: string; secret: string; grantIds: string[] }>;
  /** Every grant of the period, by creation. */
  grants: ReviewGrant[];
}

/**
 * Collects a review: `addGrants` with each page of `grantsInPeriod`, then `addAudit` with the
 * audit records from `auditFrom()` on, then `finish` with the hash chain's verification.
 */
export class AccessReviewBuilder {
  readonly #scope: ReviewScope;
  readonly #asOf: number;
  readonly #grants = new Map<string, Grant>();
  readonly #endedBy = new Map<string, string>();
  /** Grants with a delete that failed after they had ended: the error, or null. */
  readonly #leftovers = new Map<string, string | null>();

  constructor(scope: ReviewScope) {
    if (!(scope.since.getTime() < scope.until.getTime())) throw new Error("the period must start before it ends");
    this.#scope = scope;
    this.#asOf = Math.min(scope.until.getTime(), scope.now.getTime());
  }

  /** Grants of the period (one page of `grantsInPeriod`); those outside the filters are left out. */
  addGrants(grants: readonly Grant[]): void {
    for (const grant of grants) if (this.#inScope(grant)) this.#grants.set(grant.id, grant);
  }

  /** Where the audit records the review needs start: the period's start, or the first grant's creation. */
  auditFrom(): Date {
    let from = this.#scope.since.getTime();
    for (const grant of this.#grants.values()) from = Math.min(from, grant.createdAt.getTime());
    return new Date(from);
  }

  /** Audit records from `auditFrom()` on, in seq order, a page at a time. */
  addAudit(events: readonly AuditEvent[]): void {
    for (const event of events) {
      const grant = event.grantId === undefined ? undefined : this.#grants.get(event.grantId);
      if (grant === undefined) continue;
      if ((event.action === "revoked" || event.action === "expired") && !this.#endedBy.has(grant.id))
        this.#endedBy.set(grant.id, event.actor);
      if (event.action === "revoke_failed" && grant.endedAt !== null && event.at.getTime() >= grant.endedAt.getTime()) {
        const error = event.details?.error;
        this.#leftovers.set(grant.id, typeof error === "string" ? error : null);
      }
    }
  }

  finish(chain: AuditVerification): AccessReview {
    const grants = [...this.#grants.values()].map((grant) => this.#reviewGrant(grant));
    const byId = new Map(grants.map((grant) => [grant.id, grant]));
    const written = grants.filter((grant) => grant.start !== null);
    const ended = written.filter((grant) => grant.end !== null);
    const durations = ended.map((grant) => ({ grantId: grant.id, ms: grant.actualMs! }));
    const longest = durations.reduce<{ grantId: string; ms: number } | null>(
      (best, d) => (best === null || d.ms > best.ms ? d : best),
      null,
    );

    return {
      generatedAt: this.#scope.now.toISOString(),
      period: { since: this.#scope.since.toISOString(), until: this.#scope.until.toISOString(), asOf: new Date(this.#asOf).toISOString() },
      filters: { repo: this.#scope.repo ?? null, secret: this.#scope.secret ?? null },
      lateAfterMs: LATE_AFTER_MS,
      exceptions: {
        withoutApproval: grants
          .filter((grant) => grant.approvers.length === 0 && !(grant.breakGlass && grant.breakGlassReview !== null))
          .map((grant) => ({
            grantId: grant.id,
            why: `${grant.breakGlass ? "break-glass grant not reviewed" : "no approver recorded"}${grant.ending === "failed" ? " (the secret was never written)" : ""}`,
          })),
        outlived: grants.flatMap((grant) => this.#outlived(grant)),
        auditChain: chain.ok
          ? { intact: true, records: chain.count, lastSeq: chain.lastSeq, lastHash: chain.lastHash }
          : { intact: false, seq: chain.seq, problem: chain.problem, recordsIntact: chain.count },
      },
      summary: {
        grants: written.length,
        notWritten: grants.length - written.length,
        live: grants.filter((grant) => grant.end === null && grant.ending !== "failed").length,
        bySecret: bySecret(written),
        requesters: counts(written.map((grant) => [grant.requester])),
        approvers: counts(written.map((grant) => grant.approvers)),
        durations: { ended: ended.length, medianMs: median(durations.map((d) => d.ms)), longest },
        breakGlass: {
          grants: written.filter((grant) => grant.breakGlass).length,
          reviewed: written.filter((grant) => grant.breakGlass && grant.breakGlassReview !== null).length,
        },
        revocationFailures: written
          .filter((grant) => grant.revokeAttempts > 0)
          .map((grant) => ({
            grantId: grant.id,
            attempts: grant.revokeAttempts,
            lastError: this.#grants.get(grant.id)!.lastError,
            resolved: grant.end !== null,
          })),
        lateRevocations: written
          .filter((grant) => grant.lateMs !== null)
          .map((grant) => ({ grantId: grant.id, lateMs: grant.lateMs!, stillLive: grant.end === null })),
        revokedEarly: written
          .filter((grant) => grant.earlyMs !== null)
          .map((grant) => ({ grantId: grant.id, earlyMs: grant.earlyMs!, reason: grant.endReason, by: grant.endedBy })),
      },
      timelines: timelines(written, byId),
      grants,
    };
  }

  #inScope(grant: Grant): boolean {
    const { repo, secret } = this.#scope;
    if (repo !== undefined && !matchesRepoGlob(repo, `${grant.owner}/${grant.repo}`)) return false;
    return secret === undefined || grant.secret.toUpperCase() === secret.toUpperCase();
  }

  #reviewGrant(grant: Grant): ReviewGrant {
    const failed = grant.state === "failed";
    const start = failed ? null : (grant.grantedAt ?? grant.writeUncertainAt ?? grant.createdAt);
    const live = grant.endedAt === null && !failed;
    const end = failed ? null : grant.endedAt;
    const expiry = grant.expiresAt.getTime();
    let ending: Ending;
    if (failed) ending = "failed";
    else if (grant.breakGlass === true) ending = "break-glass";
    else if (live) ending = "live";
    else if (grant.state === "expired") ending = "expired";
    else ending = grant.endReason === CLOSED_UNMERGED_REASON ? "closed" : "revoked";

    // Late: deleted that long after the expiry, or, live, not deleted that long after it now.
    const overshoot = start === null ? null : (end?.getTime() ?? this.#asOf) - expiry;
    const lateMs = overshoot !== null && overshoot > LATE_AFTER_MS ? overshoot : null;
    const earlyMs = grant.state === "revoked" && end !== null && end.getTime() < expiry ? expiry - end.getTime() : null;
    return {
      id: grant.id,
      repository: `${grant.owner}/${grant.repo}`,
      environment: grant.environment,
      secret: grant.secret,
      requester: grant.requester.login,
      approvers: grant.approvers.map((person) => person.login),
      approverPermissions:
        grant.approverPermissions == null
          ? null
          : grant.approverPermissions.map(({ login, permission, via }) => ({ login, permission, via })),
      breakGlass: grant.breakGlass === true,
      breakGlassReview:
        grant.breakGlass === true && grant.breakGlassReview != null
          ? { reviewer: grant.breakGlassReview.reviewer.login, at: grant.breakGlassReview.at.toISOString() }
          : null,
      reason: grant.reason,
      prNumber: grant.prNumber,
      prUrl: `${this.#scope.webUrl}/${encodeURIComponent(grant.owner)}/${encodeURIComponent(grant.repo)}/pull/${grant.prNumber}`,
      headSha: grant.headSha,
      requestedMs: grant.durationMs,
      start: start?.toISOString() ?? null,
      writeConfirmed: grant.grantedAt !== null,
      end: end?.toISOString() ?? null,
      actualMs: start === null ? null : Math.max(0, (end?.getTime() ?? this.#asOf) - start.getTime()),
      ending,
      state: grant.state,
      expiresAt: grant.expiresAt.toISOString(),
      endReason: grant.endReason,
      endedBy: this.#endedBy.get(grant.id) ?? null,
      revokeAttempts: grant.revokeAttempts,
      lateMs,
      earlyMs,
    };
  }

  /** Why the grant's secret outlived the end the ledger set for it, if it did. */
  #outlived(grant: ReviewGrant): GrantNote[] {
    const notes: GrantNote[] = [];
    const source = this.#grants.get(grant.id)!;
    if (grant.lateMs !== null) {
      notes.push({
        grantId: grant.id,
        why:
          grant.end === null
            ? `still live ${formatDuration(grant.lateMs)} after its expiry at the end of the review`
            : `deleted ${formatDuration(grant.lateMs)} after its expiry`,
      });
    }
    if (grant.end === null && source.pendingEnd !== null) {
      notes.push({
        grantId: grant.id,
        why: `ended early (${source.pendingEnd.reason}) but not yet deleted: ${source.revokeAttempts} failed ${source.revokeAttempts === 1 ? "attempt" : "attempts"}`,
      });
    }
    if (this.#leftovers.has(grant.id)) {
      const error = this.#leftovers.get(grant.id);
      notes.push({
        grantId: grant.id,
        why: `deleting the secret failed after the grant had ended${error ? ` (${error})` : ""}; it may still be in the environment until \`jit-access reconcile\` removes it`,
      });
    }
    return notes;
  }
}

function bySecret(grants: readonly ReviewGrant[]): SecretSummary[] {
  const groups = new Map<string, SecretSummary>();
  for (const grant of grants) {
    const key = groupKey(grant);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        repository: grant.repository,
        environment: grant.environment,
        secret: grant.secret,
        grants: 0,
        endings: Object.fromEntries(ENDINGS.map((ending) => [ending, 0])) as Record<Ending, number>,
      };
      groups.set(key, group);
    }
    group.grants += 1;
    group.endings[grant.ending] += 1;
  }
  return [...groups.values()].sort(byGroup);
}

function timelines(grants: readonly ReviewGrant[], byId: ReadonlyMap<string, ReviewGrant>): AccessReview["timelines"] {
  const groups = new Map<string, { repository: string; environment: string; secret: string; grantIds: string[] }>();
  for (const grant of grants) {
    const key = groupKey(grant);
    const group = groups.get(key) ?? { repository: grant.repository, environment: grant.environment, secret: grant.secret, grantIds: [] };
    group.grantIds.push(grant.id);
    groups.set(key, group);
  }
  const startOf = (id: string): string => byId.get(id)!.start!;
  for (const group of groups.values())
    group.grantIds.sort((a, b) => (startOf(a) < startOf(b) ? -1 : startOf(a) > startOf(b) ? 1 : a < b ? -1 : 1));
  return [...groups.values()].sort(byGroup);
}

/** Names compare case-insensitively, as GitHub's do. */
function groupKey(grant: Pick<ReviewGrant, "repository" | "environment" | "secret">): string {
  return JSON.stringify([grant.repository.toLowerCase(), grant.environment.toLowerCase(), grant.secret.toUpperCase()]);
}

function byGroup(
  a: Pick<ReviewGrant, "repository" | "environment" | "secret">,
  b: Pick<ReviewGrant, "repository" | "environment" | "secret">,
): number {
  return groupKey(a) < groupKey(b) ? -1 : groupKey(a) > groupKey(b) ? 1 : 0;
}

/** How many grants each login appears on, most first, then by login. */
function counts(loginsPerGrant: readonly (readonly string[])[]): Count[] {
  const found = new Map<string, Count>();
  for (const logins of loginsPerGrant) {
    for (const login of new Set(logins.map((l) => l.toLowerCase()))) {
      const count = found.get(login) ?? { login: logins.find((l) => l.toLowerCase() === login)!, grants: 0 };
      count.grants += 1;
      found.set(login, count);
    }
  }
  return [...found.values()].sort((a, b) => b.grants - a.grants || (a.login.toLowerCase() < b.login.toLowerCase() ? -1 : 1));
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
