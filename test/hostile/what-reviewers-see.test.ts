/**
 * A request must mean what a reviewer reads. These inputs used to pass or to earn a misleading
 * message: characters that render as nothing, look-alike letters, tags the YAML library could
 * not resolve, a second document.
 */
import { describe, expect, it } from "@jest/globals";
import { secretNameProblem } from "../../src/policy/secret-name.js";
import { parseRequests } from "../../src/request/parse-requests.js";
import { parseMessages } from "../../src/request/request-messages.js";
import { oneEntry, placed, validateHostile } from "./helpers/validate-hostile.js";

const invisible = (what: string, codePoint: string) => parseMessages.invisible(what, codePoint);

describe("characters that render as nothing are refused, never stripped", () => {
  it.each([
    [
      "a zero-width space in a reason",
      oneEntry({ reason: '"INC-4211 inspect\u200B migrations"' }),
      `L5: ${invisible("this line", "U+200B")}`,
    ],
    ["a zero-width joiner in a secret", oneEntry({ secret: "PROD_DB\u200D_URL" }), `L2: ${invisible("this line", "U+200D")}`],
    ["a soft hyphen in an environment", oneEntry({ environment: "produc\u00ADtion" }), `L3: ${invisible("this line", "U+00AD")}`],
    ["a word joiner written as an escape", oneEntry({ environment: '"produc\\u2060tion"' }), `L3: ${invisible("environment", "U+2060")}`],
    [
      "tag characters (invisible ASCII)",
      oneEntry({ reason: `"INC-4211 ok${"\u{E0069}\u{E0067}"}"` }),
      `L5: ${invisible("this line", "U+E0069")}`,
    ],
    [
      "a byte order mark after the start",
      oneEntry({ reason: '"INC-4211 \uFEFFinspect migrations"' }),
      `L5: ${invisible("this line", "U+FEFF")}`,
    ],
    [
      "a Hangul filler that displays as a blank",
      oneEntry({ reason: '"INC-4211 \u3164 migrations"' }),
      `L5: ${invisible("this line", "U+3164")}`,
    ],
  ])("%s", (_name, text, problem) => {
    expect(placed(validateHostile(text))).toEqual([problem]);
  });

  it("accepts a byte order mark that starts the file, as editors write it", () => {
    const result = validateHostile(`\uFEFF${oneEntry()}`);
    expect(result.problems).toEqual([]);
    expect(result.requests.map((request) => request.entry.secret)).toEqual(["PROD_DB_URL"]);
  });
});

describe("look-alike letters are named by code point", () => {
  it("in a key", () => {
    const text = [
      "requests:",
      "  - \u0455ecret: PROD_DB_URL",
      "    environment: production",
      "    duration: 2h",
      '    reason: "INC-4211: inspect"',
      "",
    ].join("\n");
    expect(placed(validateHostile(text))).toContain('L2: unknown key "\u0455ecret" ("\u0455" is U+0455, not ASCII): did you mean secret?');
  });

  it("in a secret name", () => {
    expect(secretNameProblem("\u0420ROD_DB_URL")).toBe(
      'secret names may contain only letters, digits and _ (ASCII only; "\u0420" is U+0420)',
    );
    expect(secretNameProblem("PROD-DB")).toBe("secret names may contain only letters, digits and _");
  });

  it("in an environment", () => {
    expect(placed(validateHostile(oneEntry({ environment: "\u0440roduction" })))).toEqual([
      'L3: PROD_DB_URL cannot be granted to environment "\u0440roduction" ("\u0440" is U+0440, not ASCII); the catalog allows: production, staging',
      'L3: environment "\u0440roduction" ("\u0440" is U+0440, not ASCII) does not exist in acme/api; existing environments: production, staging',
    ]);
  });
});

describe("YAML features get a message that says what to do", () => {
  it.each([
    ["a tag YAML cannot resolve", oneEntry({ reason: "!!js/function 'function () {}'" }), parseMessages.tag("!!js/function")],
    ["a local tag", oneEntry({ secret: "!secret PROD_DB_URL" }), parseMessages.tag("!secret")],
  ])("%s is refused as a tag", (_name, text, message) => {
    const { entries, problems } = parseRequests(text);
    expect(entries).toEqual([]);
    expect(problems.map((problem) => problem.message)).toEqual([message]);
  });

  it("a second document is pointed at, without naming library functions", () => {
    const { problems } = parseRequests(`requests: []\n---\n${oneEntry()}`);
    expect(problems.map(({ line, column, message }) => ({ line, column, message }))).toEqual([
      { line: 2, column: 1, message: parseMessages.multipleDocuments() },
    ]);
    expect(parseMessages.multipleDocuments()).not.toMatch(/parseAllDocuments/);
  });
});
