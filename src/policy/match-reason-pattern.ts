/**
 * Tests a reason against the catalog's `reason_pattern`. The pattern is the operator's, but the
 * reason is written by whoever opens the pull request, and a backtracking engine (JavaScript's
 * RegExp) spends seconds to minutes on a crafted reason for patterns such as `^.*.*.*.*=INC` or
 * `\s*\s*\s*x`, during which the app answers no webhook and runs no expiry. So reasons are
 * matched with RE2 (re2js, a pure JavaScript port: no native code, nothing downloaded), whose
 * time grows linearly with the reason, for any pattern. A 500-character reason takes well under
 * a millisecond; no timer or worker is needed, and matching stays synchronous and pure.
 *
 * The pattern is written as a JavaScript regular expression with the `u` flag, and must also be
 * one RE2 understands: no lookaround, no backreferences. Both are checked when the catalog is
 * loaded (`reasonPatternProblem`), together with a cost check: a pattern that takes over
 * PATTERN_COST_LIMIT_MS on a crafted 500-character reason, in RE2 or in JavaScript's own engine,
 * is refused there. Patterns are compiled once and kept.
 */
import { RE2JS } from "re2js";
import { createContext, Script } from "node:vm";
import { errorMessage } from "../util/error-message.js";

/** A reason is a sentence, shown in check runs and comments and kept in the ledger; not an essay. */
export const MAX_REASON_LENGTH = 500;

export type ReasonMatch = "match" | "mismatch" | "invalid-pattern";
export type ReasonMatcher = (pattern: string, reason: string) => ReasonMatch;

/** A pattern that takes longer than this on a crafted reason of MAX_REASON_LENGTH is refused at load. */
export const PATTERN_COST_LIMIT_MS = 100;
/** Attempts before a pattern is called slow: a garbage-collection pause alone must not refuse one. */
const ATTEMPTS = 3;

const compiled = new Map<string, RE2JS | null>();

/** The RE2 form of a JavaScript pattern, or null when RE2 cannot run it. Cached. */
function compile(pattern: string): RE2JS | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = compileOrError(pattern).re;
    compiled.set(pattern, re);
  }
  return re;
}

function compileOrError(pattern: string): { re: RE2JS; error: null } | { re: null; error: string } {
  try {
    return { re: RE2JS.compile(RE2JS.translateRegExp(pattern)), error: null };
  } catch (error) {
    return { re: null, error: errorMessage(error) };
  }
}

export function matchReasonPattern(pattern: string, reason: string): ReasonMatch {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    // The catalog loader refuses a bad pattern; if one slips through, it fails closed.
    if (error instanceof SyntaxError) return "invalid-pattern";
    throw error;
  }
  const re = compile(pattern);
  if (re === null) return "invalid-pattern";
  return re.test(reason) ? "match" : "mismatch";
}

/** One matcher for a whole file; kept so that callers need not change. Patterns are cached anyway. */
export function reasonMatcherForOneFile(): ReasonMatcher {
  return matchReasonPattern;
}

/**
 * Why the catalog must refuse `pattern` (which already compiles as a JavaScript RegExp with the
 * `u` flag), or null: RE2 cannot run it, or it is too slow on a crafted reason.
 */
export function reasonPatternProblem(pattern: string): string | null {
  let problem = judged.get(pattern);
  if (problem === undefined) {
    problem = judge(pattern);
    judged.set(pattern, problem);
  }
  return problem;
}

/** Each pattern is judged once per process: a catalog reload does not pay again. */
const judged = new Map<string, string | null>();

function judge(pattern: string): string | null {
  const { re, error } = compileOrError(pattern);
  if (re === null) {
    return `reason_pattern uses syntax that the linear-time matcher (RE2) does not support, such as lookahead, lookbehind or backreferences: ${error}; rewrite it without them`;
  }
  warmUp();
  // The fastest of ATTEMPTS tries, compiling afresh each time: a pause of the process must not refuse a pattern.
  let fastest = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < ATTEMPTS && fastest > PATTERN_COST_LIMIT_MS; attempt += 1) {
    const started = performance.now();
    const fresh = RE2JS.compile(RE2JS.translateRegExp(pattern));
    for (const reason of craftedReasons(pattern)) fresh.test(reason);
    fastest = Math.min(fastest, performance.now() - started);
  }
  if (fastest > PATTERN_COST_LIMIT_MS) return tooSlow(`${Math.round(fastest)} ms in RE2`);
  const backtracking = slowInJavaScript(pattern);
  return backtracking === null ? null : tooSlow(backtracking);
}

let warm = false;
/** RE2's first compile in a process builds its tables; that one-off cost is no pattern's. */
function warmUp(): void {
  if (warm) return;
  RE2JS.compile("^\\p{L}[\\w\\s]*.*$").test("warm-up é");
  warm = true;
}

function tooSlow(how: string): string {
  return (
    `reason_pattern takes ${how} on a crafted reason of ${MAX_REASON_LENGTH} characters, over the limit of ${PATTERN_COST_LIMIT_MS} ms; ` +
    "quantifiers next to each other that can match the same text (.*.*, \\s*\\s*) make it slow: keep one, e.g. ^.*=INC for ^.*.*=INC"
  );
}

/**
 * Reasons that make a backtracking engine try every way of splitting them: a run of one
 * character the pattern's quantifiers can all match, then a character that makes the match
 * fail at the end. The runs use characters of the pattern itself and a few common classes.
 */
function craftedReasons(pattern: string): string[] {
  const fillers = new Set(["a", "A", "0", " ", "-", "=", "_", ".", ":"]);
  for (const ch of pattern.replace(/\\./gu, "")) if (/[\p{L}\p{N}\p{P}\p{S} ]/u.test(ch) && !"()[]{}|^$*+?\\".includes(ch)) fillers.add(ch);
  const reasons: string[] = [];
  for (const filler of fillers) {
    reasons.push(filler.repeat(MAX_REASON_LENGTH));
    reasons.push(`${filler.repeat(MAX_REASON_LENGTH - 1)}\u00a7`);
  }
  return reasons;
}

// JavaScript's engine runs in a separate V8 context whose `timeout` interrupts it.
const sandbox = { pattern: "", reason: "" };
createContext(sandbox);
const jsTest = new Script("new RegExp(pattern, 'u').test(reason)");

/**
 * "over 100 ms" when some crafted reason keeps JavaScript's engine busy past the limit on every
 * one of ATTEMPTS tries, else null. The pattern is also what requesters and their editors test
 * a reason against, in that engine; one that backtracks for long there is a trap to copy.
 */
function slowInJavaScript(pattern: string): string | null {
  sandbox.pattern = pattern;
  try {
    for (const reason of craftedReasons(pattern)) {
      sandbox.reason = reason;
      let timeouts = 0;
      while (timeouts < ATTEMPTS && ranOutOfTime()) timeouts += 1;
      if (timeouts === ATTEMPTS) return `over ${PATTERN_COST_LIMIT_MS} ms in JavaScript's own engine`;
    }
    return null;
  } finally {
    sandbox.reason = "";
  }
}

function ranOutOfTime(): boolean {
  try {
    jsTest.runInContext(sandbox, { timeout: PATTERN_COST_LIMIT_MS });
    return false;
  } catch (error) {
    if (typeof error === "object" && error !== null && "code" in error && error.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return true;
    throw error;
  }
}
