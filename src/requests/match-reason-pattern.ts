/**
 * Tests a reason against the catalog's `reason_pattern` within a time limit. The pattern is the
 * operator's, but the reason is written by whoever opens the pull request, and a backtracking
 * pattern such as `\s*\s*\s*x` spends tens of seconds on a few hundred crafted characters,
 * during which the app answers no webhook and runs no expiry. So the match runs in a separate
 * V8 context whose `timeout` interrupts it, and a match that runs out of time fails closed.
 * For any pattern that is not pathological the answer is the plain `RegExp` answer.
 */
import { createContext, Script } from "node:vm";

/**
 * Far above what a reasonable pattern needs on a capped reason (microseconds), and above the
 * pauses a loaded machine adds: at 100 ms, 9 in 20,000 plain matches ran out of time on two
 * busy cores with heavy garbage collection.
 */
export const REASON_MATCH_TIMEOUT_MS = 1_000;

export type ReasonMatch = "match" | "mismatch" | "invalid-pattern" | "too-slow";
export type ReasonMatcher = (pattern: string, reason: string) => ReasonMatch;

const sandbox = { pattern: "", reason: "" };
createContext(sandbox);
const test = new Script("new RegExp(pattern, 'u').test(reason)");

export function matchReasonPattern(pattern: string, reason: string): ReasonMatch {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    // The catalog loader refuses a bad pattern; if one slips through, it fails closed.
    if (error instanceof SyntaxError) return "invalid-pattern";
    throw error;
  }
  sandbox.pattern = pattern;
  sandbox.reason = reason;
  try {
    return test.runInContext(sandbox, { timeout: REASON_MATCH_TIMEOUT_MS }) === true ? "match" : "mismatch";
  } catch (error) {
    if (isTimeout(error)) return "too-slow";
    throw error;
  } finally {
    sandbox.reason = "";
  }
}

function isTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "ERR_SCRIPT_EXECUTION_TIMEOUT";
}

/**
 * A matcher for one validation: once a pattern runs out of time, every later reason checked
 * against it fails closed at once, so a file of many entries costs one timeout per pattern.
 */
export function reasonMatcherForOneFile(): ReasonMatcher {
  const slow = new Set<string>();
  return (pattern, reason) => {
    if (slow.has(pattern)) return "too-slow";
    const outcome = matchReasonPattern(pattern, reason);
    if (outcome === "too-slow") slow.add(pattern);
    return outcome;
  };
}
