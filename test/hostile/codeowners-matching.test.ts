/**
 * CODEOWNERS patterns come from repository users and are matched in the app's one event loop.
 * The matcher must answer in time proportional to pattern times path, on patterns that made the
 * regular expression it replaced backtrack for minutes, and agree with an independently written
 * matcher (test/hostile/oracle) on every small pattern and path.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { compilePattern, patternProblem } from "../../src/approve/codeowners-pattern.js";
import { ownersFor, parseCodeowners } from "../../src/approve/codeowners.js";
import { oracleOwns } from "./oracle/codeowners-oracle.js";

describe("patterns that make a backtracking matcher run for minutes", () => {
  // With the regular expression, 12 `*?` pairs took over 30 s on jit-requests.yml; each pair multiplies it.
  const longPath = `${"a/".repeat(40)}${"a".repeat(200)}.yml`;
  it.each([
    { name: "40 `*?` pairs then z", pattern: "*?".repeat(40) + "z", path: "jit-requests.yml", owns: false },
    { name: "40 `*?` pairs then l", pattern: "*?".repeat(40) + "l", path: "jit-requests.yml", owns: false },
    { name: "8 `*?` pairs then l", pattern: "*?".repeat(8) + "l", path: "jit-requests.yml", owns: true },
    { name: "60 `*a` then z, on a long path", pattern: "**/" + "*a".repeat(60) + "z", path: longPath, owns: false },
    { name: "60 `a*` then .yml, on a long path", pattern: "**/" + "a*".repeat(60) + ".yml", path: longPath, owns: true },
    { name: "30 `**/a/` then b, on a long path", pattern: "/" + "**/a/".repeat(30) + "**/b", path: longPath, owns: false },
  ])("$name", ({ pattern, path, owns }) => {
    expect(compilePattern(pattern)(path)).toBe(owns);
  });

  it("through parseCodeowners and ownersFor, as the app uses them", () => {
    const text = `* @acme/everyone\n${"*?".repeat(60)}z @mallory\n`;
    const { rules, errors } = parseCodeowners(text);
    expect(errors).toEqual([]);
    expect(ownersFor(rules, "jit-requests.yml").rule?.line).toBe(1);
  });
});

/** Pattern and path text from a small alphabet, so that matches are common and runs stay short. */
const patternText = fc
  .array(fc.constantFrom("a", "b", ".", "*", "**", "?", "/", "\\*", "\\ ", "é", "\u{1F600}", "[x]"), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(""));
const pathText = fc
  .array(fc.constantFrom("a", "b", ".", "/", "ab", "*", " ", "é", "\u{1F600}", "[x]"), { minLength: 1, maxLength: 10 })
  .map((parts) => parts.join(""));

describe("the oracle is right where an outside implementation says what is right", () => {
  // The same 153 path checks the app's matcher passes (test/approve/codeowners-pattern.test.ts),
  // so that agreement below is agreement with a matcher known to be right on them.
  const peerCases = JSON.parse(readFileSync("test/fixtures/codeowners/patterns.json", "utf8")) as {
    pattern: string;
    paths: Record<string, boolean>;
  }[];
  const checks = peerCases.flatMap((c) => Object.entries(c.paths).map(([path, owns]) => ({ pattern: c.pattern, path, owns })));
  it.each(checks)("$pattern vs $path -> $owns", ({ pattern, path, owns }) => {
    expect(oracleOwns(pattern, path)).toBe(owns);
  });
});

describe("the matcher agrees with an independently written one", () => {
  it("on generated patterns and paths", () => {
    fc.assert(
      fc.property(patternText, pathText, (pattern, path) => {
        fc.pre(patternProblem(pattern) === null);
        expect(compilePattern(pattern)(path)).toBe(oracleOwns(pattern, path));
      }),
      { numRuns: 20_000 },
    );
  });
});
