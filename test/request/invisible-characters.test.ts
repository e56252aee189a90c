import { describe, expect, it } from "@jest/globals";
import { firstInvisibleCharacter, invisibleCharactersInSource, trimText, VISIBLE_TEXT } from "../../src/request/invisible-characters.js";

describe("firstInvisibleCharacter", () => {
  it.each([
    ["PROD\u202EURL", "U+202E"],
    ["a\u2066b\u2069", "U+2066"],
    ["a\u200Fb", "U+200F"],
    ["bell\u0007", "U+0007"],
    ["del\u007F", "U+007F"],
    ["c1\u0085", "U+0085"],
    ["in\tside", "U+0009"],
    ["two\nlines", "U+000A"],
    ["line\u2028separator", "U+2028"],
  ])("finds the hidden character in %j", (text, codePoint) => {
    expect(firstInvisibleCharacter(text)).toBe(codePoint);
  });

  it.each([["INC-4211: inspect stuck migrations"], ["  padded\n"], ["\tindented\t"], ["ünïcödé ✓ 日本"], [""]])(
    "finds none in %j",
    (text) => {
      expect(firstInvisibleCharacter(text)).toBeNull();
    },
  );
});

describe("trimText", () => {
  it("removes only spaces, tabs and line breaks at the edges", () => {
    expect(trimText(" \t\r\n a b \n")).toBe("a b");
    expect(trimText("\u00A0a\u00A0")).toBe("\u00A0a\u00A0");
    expect(trimText("\u202Ea")).toBe("\u202Ea");
  });

  it("stays fast on long runs of spaces", () => {
    const text = `${" ".repeat(60_000)}x${" ".repeat(60_000)}`;
    expect(trimText(text)).toBe("x");
  });
});

describe("VISIBLE_TEXT (the schema's pattern)", () => {
  it("refuses controls and bidi characters other than tabs and line breaks", () => {
    expect(VISIBLE_TEXT.test("plain text\twith tab\n")).toBe(true);
    expect(VISIBLE_TEXT.test("a\u202Eb")).toBe(false);
    expect(VISIBLE_TEXT.test("a\u0000b")).toBe(false);
  });
});

describe("invisibleCharactersInSource", () => {
  it("reports the first per line, and treats tabs and line breaks as layout", () => {
    const source = "a: \u202Ex\u202E\n\tb: 1\r\nc: \u0007\n";
    expect(invisibleCharactersInSource(source)).toEqual([
      { offset: 3, codePoint: "U+202E" },
      { offset: 17, codePoint: "U+0007" },
    ]);
  });
});
