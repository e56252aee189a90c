import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { LedgerClosedError, type Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { revokeGrant, revokeGrantUntold, type RevokeOutcome } from "./revoke-grant.js";
import { errorSummary } from "../util/error-message.js";

export interface SweepResult {
  /** Due grants looked at. */
  due: number;
  ended: number;
  /** Still due after this pass (failed deletes, kept with backoff). */
  retrying: number;
}

export interface SweepOptions {
  /** Grants read from the ledger per page. */
  pageSize?: number;
  /**
   * Revocations in flight at once. Each one spends nearly all its time waiting for its
   * installation's turn to send its DELETE (a second or more apart under GitHub's pacing), not
   * on this process; and only revocations in flight have their DELETE queued ahead of other
   * writes. So the limit is high, and pages are read while earlier grants are still being
   * revoked. A revocation leaves its slot once its end is recorded: the PR is told (a comment
   * and one label write) after every due grant's DELETE, at most this many installations at once.
   */
  concurrency?: number;
  /** Grants being revoked right now elsewhere in this process (exact timers); skipped here. */
  inFlight?: Set<string>;
  /**
   * Once aborted (the server is stopping), no further page is read and no further revocation
   * starts; the ones already started are finished and awaited. The grants left stay due.
   */
  signal?: AbortSignal;
  /**
   * Grants the caller knows are not due yet although the ledger's wall-clock times say so (the
   * wall clock stepped forward past a grant this process wrote): skipped, left to their timer.
   */
  notYetDue?: (grant: Grant) => boolean;
  /** Told each revocation's outcome (the server re-arms a grant's timer for its backoff). */
  onOutcome?: (outcome: RevokeOutcome) => void;
  /** Who claims the due grants this sweep revokes (default: this process, `PROCESS_CLAIM_OWNER`). */
  claimOwner?: string;
  /** How long a claim holds before another process may take the grant (default `CLAIM_LEASE_MS`). */
  claimLeaseMs?: number;
  /**
   * Other periodic work, run after the expiries unless stopping; a failure is logged and does
   * not fail the sweep. The server and `jit-access sweep` pass the request lapses here
   * (`lapsePass`), which belong to the grant stage.
   */
  alsoRun?: ReadonlyArray<{ what: string; run(): Promise<unknown> }>;
}

/** This process as a claimer of due grants: host, pid and a random part (a pid is reused after a restart). */
export const PROCESS_CLAIM_OWNER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * How long a sweep's claim on a due grant holds: longer than a revocation takes (its DELETE,
 * paced a second or more apart behind other writes of the installation; the claim is released
 * once the end is recorded, before the PR is told), so
 * that only a process that died (or hung) loses its claims, and another sweep then ends its grants.
 */
export const CLAIM_LEASE_MS = 10 * 60_000;

/**
 * One pass over the ledger: every live grant whose expiry has passed, or whose early end failed
 * before (a pending revoke), is ended once its retry backoff, if any, is over. Reads the ledger page by page, never scans GitHub. Used by the
 * server's periodic sweep and by `jit-access sweep` for cron.
 *
 * Each page of due grants is claimed (`claimDueGrants`) before it is revoked, and each claim is
 * released once its grant's revocation is over (or skipped): several replicas, and the CLI beside
 * them, split a sweep and none revokes a grant another is revoking. A process that dies holding
 * claims loses them when their lease ends, and the next sweep anywhere ends those grants.
 */
export async function sweepOnce(deps: LifecycleDeps, log: Log, options: SweepOptions = {}): Promise<SweepResult> {
  const pageSize = options.pageSize ?? 200;
  const concurrency = options.concurrency ?? DEFAULT_SWEEP_CONCURRENCY;
  const inFlight = options.inFlight ?? new Set<string>();
  const now = new Date(deps.clock.now());
  const result: SweepResult = { due: 0, ended: 0, retrying: 0 };
  const running = new Set<Promise<void>>();
  const untold = new UntoldPullRequests();
  // Only this loop waits for a free slot, so one pending wake-up is enough.
  let slotFreed: (() => void) | null = null;
  let after: { expiresAt: Date; id: string } | undefined;
  const stopping = (): boolean => options.signal?.aborted === true;
  const owner = options.claimOwner ?? PROCESS_CLAIM_OWNER;
  const leaseMs = options.claimLeaseMs ?? CLAIM_LEASE_MS;
  // A claim that cannot be released (the ledger closed or failed) ends with its lease.
  const release = (grant: Grant): Promise<void> =>
    deps.store.releaseClaim(grant.id, owner).then(
      () => undefined,
      () => undefined,
    );
  try {
    while (!stopping()) {
      const page = await deps.store.claimDueGrants(now, pageSize, { owner, until: new Date(deps.clock.now() + leaseMs) }, after);
      if (page.length === 0) break;
      const last = page[page.length - 1]!;
      after = { expiresAt: last.expiresAt, id: last.id };
      for (const [index, grant] of page.entries()) {
        if (inFlight.has(grant.id) || options.notYetDue?.(grant)) {
          await release(grant);
          continue;
        }
        while (running.size >= concurrency && !stopping()) await new Promise<void>((resolve) => (slotFreed = resolve));
        if (stopping()) {
          await Promise.all(page.slice(index).map(release));
          break;
        }
        result.due++;
        inFlight.add(grant.id);
        const task: Promise<void> = expireOne(deps, grant, log, result, options.onOutcome)
          .then((tell) => {
            if (tell !== null) untold.add(grant.installationId, tell);
            return release(grant);
          })
          .finally(() => {
            inFlight.delete(grant.id);
            running.delete(task);
            slotFreed?.();
            slotFreed = null;
          });
        running.add(task);
      }
      if (page.length < pageSize) break;
    }
  } finally {
    // Revocations already started finish, even when reading a page failed: none is left running
    // behind the caller's back (expireOne never rejects). Then their PRs are told, stopping or not.
    await Promise.all(running);
    await untold.tellAll(concurrency);
  }
  for (const work of options.alsoRun ?? []) {
    if (stopping()) break;
    try {
      await work.run();
    } catch (error) {
      if (!(error instanceof LedgerClosedError)) {
        log.warn({ error: errorSummary(error) }, `could not look for ${work.what}`);
      }
    }
  }
  return result;
}

/** See `SweepOptions.concurrency`. */
export const DEFAULT_SWEEP_CONCURRENCY = 1000;

async function expireOne(
  deps: LifecycleDeps,
  grant: Grant,
  log: Log,
  result: SweepResult,
  onOutcome?: (outcome: RevokeOutcome) => void,
): Promise<(() => Promise<void>) | null> {
  try {
    const revocation = await revokeGrantUntold(
      deps,
      grant.pendingEnd ? { grant, ...grant.pendingEnd } : { grant, kind: "expired", reason: "expired", actor: "jit-access" },
      log,
    );
    count(result, revocation.outcome);
    onOutcome?.(revocation.outcome);
    return revocation.tellPullRequest;
  } catch (error) {
    result.retrying++;
    if (error instanceof LedgerClosedError) {
      log.info({ grant: grant.id }, "the ledger closed during the sweep; the grant stays due for the next one");
      return null;
    }
    log.error({ grant: grant.id, error: errorSummary(error) }, "sweep could not process a grant");
    return null;
  }
}

/**
 * The PR feedback of the grants a sweep ended, held until every due grant's DELETE is sent, by
 * installation: each installation's PRs are told one after another (its writes go one at a time
 * anyway, its comments three seconds apart), so the writes waiting in the installation lanes
 * stay few however many grants a sweep ends. What is held is one small closure per grant.
 */
const NOTHING_TO_TELL = (): Promise<void> => Promise.resolve();

class UntoldPullRequests {
  readonly #byInstallation = new Map<number, Array<() => Promise<void>>>();

  add(installationId: number, tell: () => Promise<void>): void {
    const list = this.#byInstallation.get(installationId);
    if (list) list.push(tell);
    else this.#byInstallation.set(installationId, [tell]);
  }

  /** Tells every PR held, `concurrency` installations at a time; never rejects. */
  async tellAll(concurrency: number): Promise<void> {
    const lists = [...this.#byInstallation.values()];
    this.#byInstallation.clear();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < lists.length) {
        const list = lists[next++]!;
        for (const [index, tell] of list.entries()) {
          // Each closure is dropped once it has run.
          list[index] = NOTHING_TO_TELL;
          await tell();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), lists.length) }, worker));
  }
}

/** Revokes one grant because its time is up. */
export function expireGrant(deps: LifecycleDeps, grant: Grant, log: Log): Promise<RevokeOutcome> {
  return revokeGrant(deps, { grant, kind: "expired", reason: "expired", actor: "jit-access" }, log);
}

function count(result: SweepResult, outcome: RevokeOutcome): void {
  if (outcome.kind === "ended") result.ended++;
  else if (outcome.kind === "retry") result.retrying++;
}
