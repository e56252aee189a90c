/**
 * The ledger as the server runs it, counted: every call that fails is a ledger error (by the
 * operation's name), and every grant state change this process makes is a grant outcome; an
 * end at expiry also records how long after the expiry it came (the revocation lag).
 *
 * A Proxy forwards every method, including ones the store gains later, to the store itself (its
 * private fields stay its own). A closed ledger (a stop under way) and a refused transition (a
 * race another process won, which the ledger exists to catch) are not errors of the ledger.
 */
import { IllegalTransitionError, LedgerClosedError, type Grant, type LedgerStore } from "../ledger/store.js";
import type { AppMetrics, GrantOutcome } from "./app-metrics.js";

const OUTCOME_OF: Partial<Record<string, (result: unknown, args: unknown[]) => GrantOutcome | null>> = {
  markActive: () => "granted",
  markFailed: () => "failed",
  deferGrant: () => "deferred",
  markEnded: (_result, args) => (args[1] === "expired" ? "expired" : "revoked"),
};

export function instrumentLedger<T extends LedgerStore>(store: T, metrics: AppMetrics): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || typeof property !== "string") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        let result: unknown;
        try {
          result = method.apply(target, args);
        } catch (error) {
          countError(metrics, property, error);
          throw error;
        }
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved: unknown) => {
            observe(metrics, property, resolved, args);
            return resolved;
          },
          (error: unknown) => {
            countError(metrics, property, error);
            throw error;
          },
        );
      };
    },
  });
}

function countError(metrics: AppMetrics, operation: string, error: unknown): void {
  if (error instanceof LedgerClosedError || error instanceof IllegalTransitionError) return;
  metrics.ledgerErrors.inc({ operation: /^[A-Za-z]{1,40}$/.test(operation) ? operation : "other" });
}

function observe(metrics: AppMetrics, operation: string, result: unknown, args: unknown[]): void {
  const outcome = OUTCOME_OF[operation]?.(result, args);
  if (!outcome) return;
  metrics.grantOutcome(outcome);
  if (outcome !== "expired") return;
  const grant = result as Partial<Grant> | undefined;
  if (!(grant?.expiresAt instanceof Date) || !(grant.endedAt instanceof Date)) return;
  metrics.revocationLag.observe(Math.max(0, grant.endedAt.getTime() - grant.expiresAt.getTime()) / 1000);
}
