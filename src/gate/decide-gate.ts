/**
 * Decide: whether the gate lets one waiting job through, from the gathered facts alone. Pure:
 * no I/O and no clock of its own (`now` is given), so the same facts always give the same
 * answer and every case is a row in a table test.
 *
 * A job is approved only when all of these hold, in this order (the first that fails is the
 * reason given):
 * - GitHub says who started the run (`actor`) and this attempt (`triggering_actor`);
 * - the environment has a live grant bound to its requester: its secret's catalog entry says
 *   `bind_to_requester: true`, or the repository config does (then every grant is bound; a
 *   config that cannot be read binds nothing);
 * - one of those grants is the actor's (users compared by id);
 * - the triggering actor is the actor: a re-run by anyone else is rejected, whoever started the run;
 * - that grant was written and is live now, and the attempt started while it was live
 *   (`grantedAt` ≤ `run_started_at` < expiry).
 * Everything else is rejected, with a comment that says why and what to do.
 */
import type { Grant } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { asciiUpper } from "../util/ascii-case.js";
import { gateComment, type GateMessage, type GateReason } from "./gate-comment.js";

export interface GatePerson {
  id: number;
  login: string;
}

/** What the decision needs to know about the run (see `GateClient.workflowRun`). */
export interface GateRun {
  id: number;
  attempt: number;
  actor: GatePerson | null;
  triggeringActor: GatePerson | null;
  /** When this attempt started. */
  startedAt: Date;
}

/** The repository config's word on binding: read only when a live grant's secret is not bound by the catalog. */
export type RepoBinding = { ok: true; bindToRequester: boolean } | { ok: false; message: string };

export interface GateFacts {
  environment: string;
  run: GateRun;
  /** The live grants (granting or active) in this repository and environment. */
  grants: readonly Grant[];
  /** Undefined when not read: every live grant is bound by the catalog, or there is none. */
  repoBinding?: RepoBinding;
}

export interface GateContext {
  catalog: Catalog;
  /** Milliseconds since the epoch. */
  now: number;
}

export interface GateVerdict {
  state: "approved" | "rejected";
  reason: GateReason;
  /** The grant that lets the job through; null when rejected. */
  grant: Grant | null;
  /** The comment GitHub shows on the job (Markdown, at most 1,024 characters, names inert). */
  comment: string;
}

export function decideGate(facts: GateFacts, ctx: GateContext): GateVerdict {
  const { run, environment } = facts;
  const reject = (message: GateMessage): GateVerdict => ({
    state: "rejected",
    reason: message.reason,
    grant: null,
    comment: gateComment(message),
  });
  const { actor, triggeringActor } = run;
  if (actor === null || triggeringActor === null) return reject({ reason: "unknown-actor", environment });

  const bound = boundGrants(facts.grants, ctx.catalog, facts.repoBinding);
  if (bound.length === 0) {
    if (facts.grants.length === 0) return reject({ reason: "no-grant", actor, environment });
    if (facts.repoBinding?.ok === false) return reject({ reason: "repo-config-invalid", environment });
    return reject({ reason: "not-bound", environment });
  }
  const mine = bound.filter((grant) => grant.requester.id === actor.id);
  if (mine.length === 0) return reject({ reason: "not-requester", actor, environment });
  if (triggeringActor.id !== actor.id)
    return reject({ reason: "rerun-by-other", actor, triggeringActor, attempt: run.attempt, environment });

  const started = run.startedAt.getTime();
  const live = mine.filter((grant) => grant.expiresAt.getTime() > ctx.now);
  const written = live.filter((grant) => grant.state === "active" && grant.grantedAt !== null);
  const usable = written.filter((grant) => grant.grantedAt!.getTime() <= started && started < grant.expiresAt.getTime());
  if (usable.length > 0) {
    const grant = latestExpiry(usable);
    const secrets = [...new Set(usable.map((g) => asciiUpper(g.secret)))].sort();
    return {
      state: "approved",
      reason: "requester",
      grant,
      comment: gateComment({ reason: "requester", actor, environment, secrets, expiresAt: grant.expiresAt, now: ctx.now }),
    };
  }
  if (live.length === 0)
    return reject({ reason: "grant-expired", actor, environment, expiredAt: latestExpiry(mine).expiresAt, now: ctx.now });
  const startedBefore = written.filter((grant) => started < grant.grantedAt!.getTime());
  if (startedBefore.length > 0) {
    const grantedAt = new Date(Math.min(...startedBefore.map((grant) => grant.grantedAt!.getTime())));
    return reject({ reason: "started-before-grant", actor, environment, startedAt: run.startedAt, grantedAt, now: ctx.now });
  }
  if (written.length < live.length) return reject({ reason: "grant-not-written", actor, environment });
  // Started at or after the expiry of every grant that is still live now: only a clock far off could say so.
  return reject({ reason: "grant-expired", actor, environment, expiredAt: latestExpiry(live).expiresAt, now: ctx.now });
}

/**
 * The grants bound to their requesters: their secret's catalog entry binds them, or the
 * repository config binds every grant. A grant whose secret left the catalog is bound only by
 * the repository config.
 */
export function boundGrants(grants: readonly Grant[], catalog: Catalog, repoBinding: RepoBinding | undefined): Grant[] {
  const everyGrant = repoBinding?.ok === true && repoBinding.bindToRequester;
  return grants.filter((grant) => everyGrant || boundByCatalog(grant, catalog));
}

/** Whether the repository config must be read: some live grant's secret is not bound by the catalog. */
export function needsRepoBinding(grants: readonly Grant[], catalog: Catalog): boolean {
  return grants.some((grant) => !boundByCatalog(grant, catalog));
}

function boundByCatalog(grant: Grant, catalog: Catalog): boolean {
  return catalog.secrets.get(asciiUpper(grant.secret))?.bindToRequester === true;
}

function latestExpiry(grants: readonly Grant[]): Grant {
  return grants.reduce((latest, grant) => (grant.expiresAt.getTime() > latest.expiresAt.getTime() ? grant : latest));
}
