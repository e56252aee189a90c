/**
 * Bounds on what one requests file can cost: the length of a reason, the time a catalog
 * pattern may spend on it, and the number of problems reported (each one a check-run
 * annotation and a summary line).
 */
import { describe, expect, it, jest } from "@jest/globals";
import type { Catalog, CatalogSecret } from "../../src/policy/catalog.js";
import { matchReasonPattern } from "../../src/policy/match-reason-pattern.js";
import {
  MAX_FILE_BYTES,
  MAX_REASON_LENGTH,
  MAX_REPORTED_PROBLEMS,
  PROBLEMS_COLLECTED,
  parseMessages,
  validationMessages,
  validationMessages as say,
} from "../../src/request/request-messages.js";
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

describe("reason_pattern is matched in linear time (RE2), so no pattern can stall the app", () => {
  it.each([
    ["a match", "^INC-\\d+", "INC-4211: inspect", "match"],
    ["a mismatch", "^INC-\\d+", "inspect INC-4211", "mismatch"],
    ["a pattern that does not compile", "^(INC-\\d+", "INC-4211: inspect", "invalid-pattern"],
    ["a pattern RE2 cannot run (lookahead): fails closed", "^(?=INC)INC-\\d+", "INC-4211: inspect", "invalid-pattern"],
    // Each of these keeps JavaScript's backtracking engine busy for minutes or longer; RE2 answers at once.
    ["(a+)+ on 40 a's and a !", "^(a+)+$", `${"a".repeat(40)}!`, "mismatch"],
    ["\\s*\\s*\\s*x on 500 spaces", "\\s*\\s*\\s*x", " ".repeat(MAX_REASON_LENGTH), "mismatch"],
    ["^.*.*.*.*=INC on 500 characters", "^.*.*.*.*=INC", "a".repeat(MAX_REASON_LENGTH), "mismatch"],
    ["^.*.*.*.*=INC where it matches", "^.*.*.*.*=INC", `${"a".repeat(100)}=INC`, "match"],
  ] as const)("%s", (_name, pattern, reason, outcome) => {
    expect(matchReasonPattern(pattern, reason)).toBe(outcome);
  });

  // A hand-built catalog (the loader refuses these patterns) with the worst pattern and a file of
  // crafted reasons: with a backtracking engine this validation would not end within the test's
  // time limit; with RE2 each reason is an ordinary mismatch at its line.
  it.each(["^(\\w+\\s?)+$", "^.*.*.*.*=INC", "\\s*\\s*\\s*\\s*x"])("judges 20 crafted reasons against %s, each at its line", (pattern) => {
    const secret = HOSTILE_CATALOG.secrets.get("PROD_DB_URL") as CatalogSecret;
    const catalog: Catalog = { ...HOSTILE_CATALOG, secrets: new Map([["PROD_DB_URL", { ...secret, reasonPattern: pattern }]]) };
    const bait = `"${"a".repeat(MAX_REASON_LENGTH - 1)}!"`;
    const entries = Array.from({ length: 20 }, () => oneEntry({ reason: bait }).replace("requests:\n", ""));
    const result = validateHostile(`requests:\n${entries.join("")}`, catalog);
    const mismatches = result.problems.filter((problem) => problem.message === say.reasonMismatch(pattern, "PROD_DB_URL"));
    expect(mismatches.map((problem) => problem.line)).toEqual(Array.from({ length: 20 }, (_, i) => 5 + 4 * i));
  });
});

describe("problems reported", () => {
  it(`stop at ${MAX_REPORTED_PROBLEMS}, the last saying there are more`, () => {
    const text = `requests:\n${"- {}\n".repeat(10_000)}`; // 4 missing keys each: 40,000 problems
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_FILE_BYTES);
    const { problems, requests } = validateHostile(text);
    expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(problems[MAX_REPORTED_PROBLEMS - 1]).toEqual({ line: 14, column: 3, message: say.moreProblems() });
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

  /** A flow map that fills the size cap with `key: 1` pairs; `wrap` places it in the file. */
  function flowMap(wrap: (pairs: string) => string, key: (n: number) => string): { text: string; keys: number } {
    const pairs: string[] = [];
    for (let n = 0; ; n += 1) {
      const next = [...pairs, `${key(n)}: 1`];
      if (Buffer.byteLength(wrap(next.join(", "))) > MAX_FILE_BYTES) break;
      pairs.push(`${key(n)}: 1`);
    }
    return { text: wrap(pairs.join(", ")), keys: pairs.length };
  }

  describe.each([
    ["at the top of the file", (pairs: string) => `{${pairs}}`],
    [
      "in an entry",
      (pairs: string) => `requests: [{secret: PROD_DB_URL, environment: production, duration: 2h, reason: "INC-4211: inspect", ${pairs}}]`,
    ],
  ])("a 64 KiB flow map of unknown keys %s", (_where, wrap) => {
    const { text, keys } = flowMap(wrap, (n) => `k${n}`);

    it(`is reported as ${MAX_REPORTED_PROBLEMS - 1} unknown keys and a note, and only those are looked at`, () => {
      expect(keys).toBeGreaterThan(6_000);
      const unknownKey = jest.spyOn(parseMessages, "unknownKey");
      try {
        const { problems, requests } = validateHostile(text);
        expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
        expect(problems.slice(0, 2).map((problem) => problem.message)).toEqual([
          expect.stringMatching(/^unknown key "k0": /u),
          expect.stringMatching(/^unknown key "k1": /u),
        ]);
        expect(problems[MAX_REPORTED_PROBLEMS - 1]?.message).toBe(say.moreProblems());
        expect(requests).toEqual([]);
        // One message (with its closest-name search) per key that can be shown, not per key.
        expect(unknownKey.mock.calls.length).toBeLessThanOrEqual(PROBLEMS_COLLECTED);
      } finally {
        unknownKey.mockRestore();
      }
    });
  });

  it("reports a 64 KiB flow map of one key repeated at its first repeats, without comparing every pair", () => {
    const { text, keys } = flowMap(
      (pairs) => `{${pairs}}`,
      () => "k",
    );
    expect(keys).toBeGreaterThan(10_000);
    const { problems } = validateHostile(text);
    expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(problems[0]).toMatchObject({ line: 1, column: 8, message: "YAML syntax error: Map keys must be unique" });
    expect(problems[MAX_REPORTED_PROBLEMS - 1]?.message).toBe(say.moreProblems());
  });

  it("stops checking entries once enough problems are found", () => {
    const entry = (n: number) => `- {secret: NOT_IN_CATALOG_${n}, environment: production, duration: 2h, reason: "INC-4211: inspect"}\n`;
    const text = `requests:\n${Array.from({ length: 500 }, (_, n) => entry(n)).join("")}`;
    const unknownSecret = jest.spyOn(validationMessages, "unknownSecret");
    try {
      const { problems } = validateHostile(text);
      expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS);
      expect(problems[MAX_REPORTED_PROBLEMS - 1]).toEqual({ line: 51, column: 12, message: say.moreProblems() });
      expect(unknownSecret.mock.calls.length).toBe(PROBLEMS_COLLECTED);
    } finally {
      unknownSecret.mockRestore();
    }
  });
});
