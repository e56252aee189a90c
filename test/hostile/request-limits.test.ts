/**
 * Bounds on what one requests file can cost: the length of a reason, the time a catalog
 * pattern may spend on it, and the number of problems reported (each one a check-run
 * annotation and a summary line).
 */
import { describe, expect, it } from "@jest/globals";
import type { Catalog, CatalogSecret } from "../../src/policy/catalog.js";
import { matchReasonPattern, REASON_MATCH_TIMEOUT_MS } from "../../src/requests/match-reason-pattern.js";
import {
  MAX_FILE_BYTES,
  MAX_REASON_LENGTH,
  MAX_REPORTED_PROBLEMS,
  validationMessages as say,
} from "../../src/requests/request-messages.js";
import { HOSTILE_CATALOG, oneEntry, placed, validateHostile } from "./helpers/validate-hostile.js";

const reasonOf = (length: number): string => `"INC-1 ${"x".repeat(length - 6)}"`;

describe("reason length", () => {
  it(`accepts ${MAX_REASON_LENGTH} characters`, () => {
    expect(validateHostile(oneEntry({ reason: reasonOf(MAX_REASON_LENGTH) })).problems).toEqual([]);
  });

  it(`refuses ${MAX_REASON_LENGTH + 1}, at the reason`, () => {
    expect(placed(validateHostile(oneEntry({ reason: reasonOf(MAX_REASON_LENGTH + 1) })))).toEqual([
      `L5: ${say.reasonTooLong(MAX_REASON_LENGTH + 1)}`,
    ]);
  });

  it("refuses a reason that fills the whole size cap", () => {
    const frame = Buffer.byteLength(oneEntry({ reason: reasonOf(6) }));
    const text = oneEntry({ reason: reasonOf(MAX_FILE_BYTES - frame + 6) });
    expect(Buffer.byteLength(text)).toBe(MAX_FILE_BYTES);
    expect(placed(validateHostile(text))).toEqual([`L5: ${say.reasonTooLong(MAX_FILE_BYTES - frame + 6)}`]);
  });
});

describe("reason_pattern is matched within a time limit", () => {
  it.each([
    ["a match", "^INC-\\d+", "INC-4211: inspect", "match"],
    ["a mismatch", "^INC-\\d+", "inspect INC-4211", "mismatch"],
    ["a pattern that does not compile", "^(INC-\\d+", "INC-4211: inspect", "invalid-pattern"],
    // Exponential: nested quantifiers (the catalog loader refuses these; a hand-built catalog does not).
    ["(a+)+ on 40 a's and a !", "^(a+)+$", `${"a".repeat(40)}!`, "too-slow"],
    // Polynomial: adjacent quantifiers, which no load-time check refuses; minutes on 500 spaces.
    ["\\s*\\s*\\s*x on 500 spaces", "\\s*\\s*\\s*x", " ".repeat(MAX_REASON_LENGTH), "too-slow"],
  ] as const)("%s", (_name, pattern, reason, outcome) => {
    expect(matchReasonPattern(pattern, reason)).toBe(outcome);
  });

  const secret = HOSTILE_CATALOG.secrets.get("PROD_DB_URL") as CatalogSecret;
  const catalog: Catalog = { ...HOSTILE_CATALOG, secrets: new Map([["PROD_DB_URL", { ...secret, reasonPattern: "^(\\w+\\s?)+$" }]]) };
  const bait = `"${"a".repeat(40)}!"`;

  it("fails closed at the reason when the pattern runs out of time", () => {
    const result = validateHostile(oneEntry({ reason: bait }), catalog);
    expect(placed(result)).toEqual([`L5: ${say.reasonPatternTooSlow("PROD_DB_URL", REASON_MATCH_TIMEOUT_MS)}`]);
    expect(result.requests).toEqual([]);
  });

  it("spends one timeout per pattern in a file, not one per entry", () => {
    // 20 entries would block for 20 s if each ran into the timeout, past this test's limit.
    const entries = Array.from({ length: 20 }, () => oneEntry({ reason: bait }).replace("requests:\n", ""));
    const result = validateHostile(`requests:\n${entries.join("")}`, catalog);
    const slow = result.problems.filter((problem) => problem.message === say.reasonPatternTooSlow("PROD_DB_URL", REASON_MATCH_TIMEOUT_MS));
    expect(slow.map((problem) => problem.line)).toEqual(Array.from({ length: 20 }, (_, i) => 5 + 4 * i));
  }, 15_000);
});

describe("problems reported", () => {
  it(`stop at ${MAX_REPORTED_PROBLEMS}, the last saying how many more there are`, () => {
    const text = `requests:\n${"- {}\n".repeat(10_000)}`; // 4 missing keys each: 40,000 problems
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_FILE_BYTES);
    const { problems, requests } = validateHostile(text);
    expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(problems[MAX_REPORTED_PROBLEMS - 1]).toEqual({ line: 14, column: 3, message: say.moreProblems(40_000 - 49) });
    expect(problems.slice(0, 4).map((problem) => problem.message)).toEqual([
      "this request has no secret: add secret: PROD_DB_URL",
      "this request has no environment: add environment: production",
      "this request has no duration: add duration: 2h",
      'this request has no reason: add reason: "INC-4211: inspect stuck migrations"',
    ]);
    expect(requests).toEqual([]);
  });

  it(`are all listed up to ${MAX_REPORTED_PROBLEMS}`, () => {
    const text = `requests:\n${"- {secret: PROD_DB_URL, environment: production, duration: 2h}\n".repeat(MAX_REPORTED_PROBLEMS)}`;
    const { problems } = validateHostile(text);
    expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(problems.every((problem) => problem.message.startsWith("this request has no reason"))).toBe(true);
  });
});
