import { describe, expect, it } from "@jest/globals";
import { MAX_NESTING, parseRequests } from "../../src/request/parse-requests.js";
import { MAX_FILE_BYTES, parseMessages as say } from "../../src/request/request-messages.js";

/** Lines joined with newlines, so that a test reads like the file, line 1 first. */
const file = (...lines: string[]): string => `${lines.join("\n")}\n`;

const ENTRY = [
  "  - secret: PROD_DB_URL",
  "    environment: production",
  "    duration: 2h",
  '    reason: "INC-4211: inspect stuck migrations"',
];

const where = (problems: Array<{ line: number; column: number; message: string }>) =>
  problems.map(({ line, column, message }) => ({ line, column, message }));

describe("parseRequests reads", () => {
  it("an entry with each value's place", () => {
    const { entries, problems } = parseRequests(file("# a comment", "requests:", ...ENTRY));
    expect(problems).toEqual([]);
    expect(entries).toEqual([
      {
        index: 0,
        secret: "PROD_DB_URL",
        environment: "production",
        duration: "2h",
        reason: "INC-4211: inspect stuck migrations",
        breakGlass: false,
        line: 3,
        fields: {
          secret: { line: 3, column: 13, endLine: 3, endColumn: 24 },
          environment: { line: 4, column: 18, endLine: 4, endColumn: 28 },
          duration: { line: 5, column: 15, endLine: 5, endColumn: 17 },
          reason: { line: 6, column: 13, endLine: 6, endColumn: 49 },
        },
      },
    ]);
  });

  it.each([
    ["an empty file", ""],
    ["a file of comments", file("# nothing requested")],
    ["an empty list", file("requests: []")],
    ["requests: with nothing after it", file("requests:")],
  ])("%s as no requests", (_name, text) => {
    expect(parseRequests(text)).toEqual({ entries: [], problems: [] });
  });

  it("values trimmed, in flow style, block scalars and any key order", () => {
    const { entries, problems } = parseRequests(
      file(
        "requests:",
        "  - {secret: prod_db_url, environment: production, duration: 15m, reason: '  INC-1 look at the logs  '}",
        "  - reason: >",
        "      INC-2 rotate",
        "      the cache",
        "    duration: 1h30m",
        "    environment: staging",
        "    secret: STAGING_TOKEN",
      ),
    );
    expect(problems).toEqual([]);
    expect(
      entries.map(({ index, secret, environment, duration, reason, line }) => ({ index, secret, environment, duration, reason, line })),
    ).toEqual([
      { index: 0, secret: "prod_db_url", environment: "production", duration: "15m", reason: "INC-1 look at the logs", line: 2 },
      { index: 1, secret: "STAGING_TOKEN", environment: "staging", duration: "1h30m", reason: "INC-2 rotate the cache", line: 3 },
    ]);
  });

  it("a file as YAML 1.2 whatever its %YAML directive says", () => {
    const { entries, problems } = parseRequests(
      file(
        "%YAML 1.1",
        "---",
        "requests:",
        "  - secret: yes",
        "    environment: on",
        "    duration: 2h",
        "    reason: INC-1 yes means yes",
      ),
    );
    expect(problems).toEqual([]);
    expect(entries[0]).toMatchObject({ secret: "yes", environment: "on" });
  });

  it("the good entries of a file that has bad ones", () => {
    const { entries, problems } = parseRequests(file("requests:", "  - just a string", ...ENTRY));
    expect(problems).toHaveLength(1);
    expect(entries.map((entry) => [entry.index, entry.line])).toEqual([[1, 3]]);
  });
});

describe("parseRequests refuses", () => {
  it("a file over the size cap, without parsing it", () => {
    const text = `requests: [${"x".repeat(MAX_FILE_BYTES)}`;
    const bytes = Buffer.byteLength(text);
    expect(parseRequests(text)).toEqual({
      entries: [],
      problems: [{ line: 1, column: 1, message: say.fileTooLarge(bytes) }],
    });
    expect(say.fileTooLarge(bytes)).toContain(`is ${bytes} bytes; the limit is 65536`);
  });

  it("counts the size in UTF-8 bytes, not characters", () => {
    const text = file("requests: []", `# ${"é".repeat(MAX_FILE_BYTES / 2)}`);
    expect(text.length).toBeLessThan(MAX_FILE_BYTES);
    expect(parseRequests(text).problems.map((p) => p.message)).toEqual([say.fileTooLarge(Buffer.byteLength(text))]);
  });

  it("lists and maps nested deeper than a requests file needs, before composing them", () => {
    const text = `${"[".repeat(30_000)}${"]".repeat(30_000)}`;
    expect(where(parseRequests(text).problems)).toEqual([{ line: 1, column: MAX_NESTING + 1, message: say.tooDeep(MAX_NESTING) }]);
  });

  const table: Array<[string, string, Array<{ line: number; column: number; message: string }>]> = [
    [
      "YAML syntax errors, at their line",
      file("requests:", "  - secret: a", "  secret: b"),
      [{ line: 3, column: 1, message: say.yamlSyntax("All mapping items must start at the same column") }],
    ],
    [
      "duplicate keys",
      file("requests:", "  - secret: A", "    secret: B"),
      [{ line: 3, column: 5, message: say.yamlSyntax("Map keys must be unique") }],
    ],
    ["several documents", file("requests: []", "---", "requests: []"), [{ line: 2, column: 1, message: say.multipleDocuments() }]],
    [
      "anchors and aliases, at each",
      file("requests:", "  - &entry", "    secret: PROD_DB_URL", "  - *entry"),
      [
        { line: 3, column: 5, message: say.anchor("entry") },
        { line: 4, column: 5, message: say.alias("entry") },
      ],
    ],
    [
      "explicit tags",
      file("requests:", "  - secret: !!binary UFJPRA==", "    environment: production"),
      [{ line: 2, column: 22, message: say.tag("!!binary") }],
    ],
    ["lists as keys", file("? [secret]", ": PROD_DB_URL"), [{ line: 1, column: 3, message: say.complexKey() }]],
    [
      "a bidi override written in the file, at its column",
      file("requests:", "  - secret: PROD_DB_URL", '    reason: "INC-1 \u202Eenilno\u202C"'),
      [{ line: 3, column: 20, message: say.invisible("this line", "U+202E") }],
    ],
    [
      "an invisible character hidden in a comment",
      file("requests: [] # \u2066hidden\u2069"),
      [{ line: 1, column: 16, message: say.invisible("this line", "U+2066") }],
    ],
    [
      "a control character written as an escape",
      file("requests:", '  - secret: "PROD\\u0007_DB_URL"', ...ENTRY.slice(1)),
      [{ line: 2, column: 13, message: say.invisible("secret", "U+0007") }],
    ],
    [
      "a tab inside a value",
      file("requests:", ...ENTRY.slice(0, 3), '    reason: "INC-1\\tlook"'),
      [{ line: 5, column: 13, message: say.invisible("reason", "U+0009") }],
    ],
    [
      "a line break inside a value",
      file("requests:", ...ENTRY.slice(0, 3), "    reason: |", "      INC-1", "      more"),
      [{ line: 5, column: 13, message: say.invisible("reason", "U+000A") }],
    ],
    [
      "a key that hides a bidi override, without echoing it",
      file("requests:", ...ENTRY, '    "reason\\u202E": x'),
      [{ line: 6, column: 5, message: say.invisible("a key", "U+202E") }],
    ],
    ["a file that is not a map", file("- secret: PROD_DB_URL"), [{ line: 1, column: 1, message: say.rootNotMap("a list") }]],
    [
      "requests that is not a list",
      file("requests:", "  secret: PROD_DB_URL"),
      [{ line: 2, column: 3, message: say.requestsNotList("a map") }],
    ],
    ["requests that is a number", file("requests: 3"), [{ line: 1, column: 11, message: say.requestsNotList("the number 3") }]],
    ["an item that is not a map", file("requests:", "  - PROD_DB_URL"), [{ line: 2, column: 5, message: say.entryNotMap("text") }]],
    [
      "a number where text belongs",
      file("requests:", ...ENTRY.slice(0, 2), "    duration: 2", ENTRY[3] as string),
      [{ line: 4, column: 15, message: say.fieldNotText("duration", "the number 2") }],
    ],
    [
      "a list where text belongs",
      file("requests:", ...ENTRY.slice(0, 3), "    reason: [a]"),
      [{ line: 5, column: 13, message: say.fieldNotText("reason", "a list") }],
    ],
    [
      "true where text belongs",
      file("requests:", ...ENTRY.slice(0, 1), "    environment: true", ...ENTRY.slice(2)),
      [{ line: 3, column: 18, message: say.fieldNotText("environment", "true (write it in quotes if you mean the word)") }],
    ],
    [
      "an empty value",
      file("requests:", "  - secret:", ...ENTRY.slice(1)),
      [{ line: 2, column: 12, message: say.fieldNotText("secret", "an empty value") }],
    ],
    [
      "missing keys, at the item's line",
      file("requests:", ...ENTRY.slice(0, 2)),
      [
        { line: 2, column: 5, message: say.missingField("duration") },
        { line: 2, column: 5, message: say.missingField("reason") },
      ],
    ],
    [
      "an unknown entry key, at the key, with the nearest known key",
      file("requests:", ...ENTRY.slice(0, 1), "    enviroment: production", ...ENTRY.slice(2)),
      [
        { line: 2, column: 5, message: say.missingField("environment") },
        { line: 3, column: 5, message: say.unknownKey("enviroment", [], "environment") },
      ],
    ],
    [
      "an unknown key that is nothing like a known one",
      file("requests:", ...ENTRY, "    approver: octocat"),
      [{ line: 6, column: 5, message: say.unknownKey("approver", ["secret", "environment", "duration", "reason", "break_glass"], null) }],
    ],
    ["an unknown top-level key", file("request:", ...ENTRY), [{ line: 1, column: 1, message: say.unknownKey("request", [], "requests") }]],
  ];

  it.each(table)("%s", (_name, text, expected) => {
    const { entries, problems } = parseRequests(text);
    expect(where(problems)).toEqual(expected);
    if (!text.startsWith("request:")) expect(entries).toEqual([]);
  });

  it("messages that say what was expected", () => {
    expect(say.unknownKey("enviroment", [], "environment")).toBe('unknown key "enviroment": did you mean environment?');
    expect(say.invisible("secret", "U+202E")).toBe(
      "secret contains invisible control or bidi characters (U+202E); retype it as plain text",
    );
    expect(say.fieldNotText("duration", "the number 2")).toBe("duration must be text such as 2h, not the number 2");
  });

  it("every problem of a file at once", () => {
    const { problems } = parseRequests(
      file("requests:", "  - secret: 2", "    enviroment: x", "    duration: 2", "    reason: [a]", "  - 7"),
    );
    expect(where(problems).map((p) => [p.line, p.column])).toEqual([
      [2, 5],
      [2, 13],
      [3, 5],
      [4, 15],
      [5, 13],
      [6, 5],
    ]);
  });
});
