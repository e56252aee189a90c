import type { Grant } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../lifecycle/deps.js";
import { revokeGrant, type RevokeOutcome } from "../lifecycle/revoke-grant.js";

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
  /** Revocations in flight at once (each installation's writes are paced separately anyway). */
  concurrency?: number;
  /** Grants being revoked right now elsewhere in this process (exact timers); skipped here. */
  inFlight?: Set<string>;
}

/**
 * One pass over the ledger: every live grant whose expiry has passed (and whose retry backoff,
 * if any, is over) is revoked. Reads the ledger page by page, never scans GitHub. Used by the
 * server's periodic sweep and by `jit-access sweep` for cron.
 */
export async function sweepOnce(deps: LifecycleDeps, log: Log, options: SweepOptions = {}): Promise<SweepResult> {
  const pageSize = options.pageSize ?? 200;
  const concurrency = options.concurrency ?? 8;
  const inFlight = options.inFlight ?? new Set<string>();
  const now = new Date(deps.clock.now());
  const result: SweepResult = { due: 0, ended: 0, retrying: 0 };
  let after: { expiresAt: Date; id: string } | undefined;
  for (;;) {
    const page = await deps.store.dueGrants(now, pageSize, after);
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    after = { expiresAt: last.expiresAt, id: last.id };
    const work = page.filter((g) => !inFlight.has(g.id));
    result.due += work.length;
    await forEachLimited(work, concurrency, async (grant) => {
      inFlight.add(grant.id);
      try {
        count(result, await expireGrant(deps, grant, log));
      } catch (error) {
        result.retrying++;
        log.error({ grant: grant.id, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }, "sweep could not process a grant");
      } finally {
        inFlight.delete(grant.id);
      }
    });
    if (page.length < pageSize) break;
  }
  return result;
}

/** Revokes one grant because its time is up. */
export function expireGrant(deps: LifecycleDeps, grant: Grant, log: Log): Promise<RevokeOutcome> {
  return revokeGrant(deps, { grant, kind: "expired", reason: "expired", actor: "jit-access" }, log);
}

function count(result: SweepResult, outcome: RevokeOutcome): void {
  if (outcome.kind === "ended") result.ended++;
  else if (outcome.kind === "retry") result.retrying++;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
