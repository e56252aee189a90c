/**
 * Requests lapse: a head that has not gathered its approvals within `request_ttl` of its first
 * evaluation grants nothing (DESIGN.md §8). The ledger keeps each head's first evaluation
 * (`request_heads`); an evaluation after the time is up decides `lapsed` (decide-pull-request.ts),
 * and the sweep finds heads whose time is up with no event to notice it: no timer per request.
 */
import { errorSummary } from "../util/error-message.js";
import { RepoClient } from "../github/repo-client.js";
import type { RequestHead } from "../ledger/store.js";
import type { Decision, LapseClock } from "../approve/decide-pull-request.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { evaluatePullRequest } from "./evaluate-pull-request.js";
import { lapsedMessage } from "../feedback/check-feedback.js";

/** A head the sweep cannot evaluate (GitHub unreachable, the app uninstalled) is settled as lapsed silently a day after its time. */
export const LAPSE_GIVE_UP_MS = 24 * 3_600_000;

/** Records the head's first evaluation (the ledger keeps the first one). */
export async function startLapseClock(deps: LifecycleDeps, installationId: number, lapse: LapseClock): Promise<void> {
  if (!lapse.record) return;
  await deps.store.recordRequestHead({ ...lapse.head, installationId, firstEvaluatedAt: new Date(deps.clock.now()), ttlMs: lapse.ttlMs });
}

/** The head gathered its approvals in time: it never lapses. */
export async function stopLapseClock(deps: LifecycleDeps, installationId: number, lapse: LapseClock): Promise<void> {
  await startLapseClock(deps, installationId, lapse);
  await deps.store.settleRequestHead(lapse.head, "approved", new Date(deps.clock.now()));
}

/** Settles the head as lapsed; the first to do so audits it and queues a `lapsed` event per request. */
export async function settleLapsed(deps: LifecycleDeps, decision: Extract<Decision, { kind: "lapsed" }>): Promise<void> {
  const settled = await deps.store.settleRequestHead(decision.head, "lapsed", new Date(deps.clock.now()));
  if (settled?.settled !== true) return;
  await deps.store.appendAudit(decision.audit);
  for (const r of decision.requests) {
    await deps.notifier?.notify(
      "lapsed",
      {
        owner: decision.head.owner,
        repo: decision.head.repo,
        prNumber: decision.head.prNumber,
        secret: r.secret.name,
        environment: r.environment,
        requester: decision.requester,
        reason: r.reason,
      },
      new Date(deps.clock.now()),
      lapsedMessage(settled.head.ttlMs),
    );
  }
}

/**
 * The sweep's part: every head whose time is up and that is neither lapsed nor approved is
 * evaluated afresh (which fails its check run, audits and notifies), then settled lapsed in any
 * case, so it is looked at once. A head that cannot be evaluated now is tried again at the next
 * sweep, for a day. Resolves to how many heads were settled.
 */
/** The sweep's periodic work item for lapsed requests (`SweepOptions.alsoRun`). */
export function lapsePass(deps: LifecycleDeps, log: Log): { what: string; run(): Promise<number> } {
  return { what: "lapsed requests", run: () => lapseDueRequests(deps, log) };
}

export async function lapseDueRequests(deps: LifecycleDeps, log: Log, limit = 100): Promise<number> {
  const now = deps.clock.now();
  const heads = await deps.store.lapsingRequestHeads(new Date(now), limit);
  let settled = 0;
  for (const head of heads) {
    if (await lapseOne(deps, log, head)) settled++;
  }
  return settled;
}

async function lapseOne(deps: LifecycleDeps, log: Log, head: RequestHead): Promise<boolean> {
  try {
    // Revoke-only: nothing can be granted anyway; the head is settled when the catalog is back.
    if (deps.revokeOnly !== undefined) return false;
    const client = new RepoClient(await deps.octokitFor(head.installationId), head.owner, head.repo);
    await evaluatePullRequest(deps, { installationId: head.installationId, client, prNumber: head.prNumber, log, trigger: "lapse" });
  } catch (error) {
    const message = errorSummary(error);
    if (deps.clock.now() - head.lapsesAt.getTime() < LAPSE_GIVE_UP_MS) {
      log.warn(
        { repository: `${head.owner}/${head.repo}`, pr: head.prNumber, error: message },
        "could not evaluate a lapsing request; retrying at the next sweep",
      );
      return false;
    }
    log.warn(
      { repository: `${head.owner}/${head.repo}`, pr: head.prNumber, error: message },
      "a lapsing request could not be evaluated for a day; settled as lapsed",
    );
  }
  // The PR moved on (a new head, closed) or was told by the evaluation: either way this head is done.
  const result = await deps.store.settleRequestHead(head, "lapsed", new Date(deps.clock.now()));
  return result?.settled === true || result?.head.lapsedAt !== null;
}
