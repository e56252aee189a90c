/**
 * CODEOWNERS patterns come from repository users and are matched in the app's one event loop.
 * The matcher must answer as the regular expression it replaced did, in time proportional to
 * pattern times path, on patterns that made that regular expression backtrack for minutes.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { compilePattern, patternProblem } from "../../src/policy/codeowners-pattern.js";
import { ownersFor, parseCodeowners } from "../../src/policy/codeowners.js";
import { compileRegexPattern } from "./oracle/codeowners-regex-oracle.js";

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

describe("the matcher agrees with the regular expression it replaced", () => {
  it("on generated patterns and paths", () => {
    fc.assert(
      fc.property(patternText, pathText, (pattern, path) => {
        fc.pre(patternProblem(pattern) === null);
        expect(compilePattern(pattern)(path)).toBe(compileRegexPattern(pattern)(path));
      }),
      { numRuns: 5_000 },
    );
  });
});
