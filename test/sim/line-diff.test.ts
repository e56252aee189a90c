import { describe, expect, it } from "@jest/globals";
import { lineDiff } from "../../sim/model/line-diff.js";

describe("lineDiff", () => {
  it.each([
    ["a new file", undefined, "a\nb\n", { additions: 2, deletions: 0, patch: "@@ -0,0 +1,2 @@\n+a\n+b" }],
    ["a removed file", "a\nb\n", undefined, { additions: 0, deletions: 2, patch: "@@ -1,2 +0,0 @@\n-a\n-b" }],
    ["an unchanged file", "a\n", "a\n", { additions: 0, deletions: 0, patch: "" }],
    ["a changed line, deletions first", "a\nb\nc\n", "a\nB\nc\n", { additions: 1, deletions: 1, patch: "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c" }],
  ])("diffs %s", (_label, before, after, expected) => {
    expect(lineDiff(before, after)).toEqual(expected);
  });

  it("keeps three lines of context and splits distant changes into hunks", () => {
    const before = Array.from({ length: 20 }, (_, index) => `line ${index + 1}`).join("\n") + "\n";
    const after = before.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n");
    const { patch, additions, deletions } = lineDiff(before, after);
    expect([additions, deletions]).toEqual([2, 2]);
    expect(patch.split("\n").filter((line) => line.startsWith("@@"))).toEqual(["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"]);
  });
});
