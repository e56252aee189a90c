import { describe, expect, it } from "@jest/globals";
import { MAX_REPO_CONFIG_BYTES, parseRepoConfig } from "../../src/policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../../src/policy/repo-config.js";
import { configError } from "../helpers/config-error.js";

const M = 60_000;
const H = 60 * M;

function doc(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

describe("parseRepoConfig: valid files", () => {
  it.each<[string, string | null, RepoConfig]>([
    ["no file on the default branch", null, DEFAULT_REPO_CONFIG],
    ["an empty file", "", DEFAULT_REPO_CONFIG],
    ["comments only", doc("# defaults are fine"), DEFAULT_REPO_CONFIG],
    ["an empty map", doc("{}"), DEFAULT_REPO_CONFIG],
    ["a requests file in a folder", doc("requests_file: ops/jit-requests.yml"), { requestsFile: "ops/jit-requests.yml" }],
    ["a dotted folder", doc("requests_file: .github/jit-requests.yaml"), { requestsFile: ".github/jit-requests.yaml" }],
    [
      "every key",
      doc("requests_file: access.yml", "max_duration: 1h30m", "approvals: 3", "bind_to_requester: true"),
      { requestsFile: "access.yml", maxDurationMs: 90 * M, approvals: 3, bindToRequester: true },
    ],
    ["tightening only", doc("max_duration: 2h"), { requestsFile: "jit-requests.yml", maxDurationMs: 2 * H }],
    ["grants bound to their requesters", doc("bind_to_requester: true"), { requestsFile: "jit-requests.yml", bindToRequester: true }],
    ["binding left to the catalog", doc("bind_to_requester: false"), { requestsFile: "jit-requests.yml", bindToRequester: false }],
    ["break-glass forbidden here", doc("break_glass: false"), { requestsFile: "jit-requests.yml", breakGlass: false }],
  ])("%s", (_name, text, expected) => {
    expect(parseRepoConfig(text)).toStrictEqual(expected);
  });

  it("returns a fresh object, so callers cannot change the defaults", () => {
    const config = parseRepoConfig(null);
    config.requestsFile = "changed.yml";
    expect(DEFAULT_REPO_CONFIG.requestsFile).toBe("jit-requests.yml");
  });
});

interface BadCase {
  name: string;
  text: string;
  line: number;
  column?: number;
  path?: string;
  message: string;
}

const badRequestsFiles: [string, string][] = [
  ["/jit-requests.yml", "must not start with /"],
  ["../jit-requests.yml", "must stay inside the repository"],
  ["ops/../../etc/passwd", "must stay inside the repository"],
  ["ops\\\\jit.yml", "must use / between folders"],
  ["''", "must not be empty"],
  ["./jit-requests.yml", "must not contain empty or . segments"],
  ["ops//jit.yml", "must not contain empty or . segments"],
  ["ops/", "must not contain empty or . segments"],
  ['"a\\tb.yml"', "must not contain control characters"],
  ["42", "requests_file must be a path inside the repository"],
];

const badCases: BadCase[] = [
  {
    name: "malformed YAML",
    text: doc("requests_file: a.yml", "max_duration: 1h: 2h"),
    line: 2,
    column: 15,
    message: "Nested mappings are not allowed",
  },
  { name: "a list", text: doc("- a.yml"), line: 1, message: "the repository config must be a map with the keys" },
  { name: "a plain string", text: doc("jit-requests.yml"), line: 1, message: "the repository config must be a map" },
  {
    name: "unknown key",
    text: doc("requests_file: a.yml", "min_approvals: 0"),
    line: 2,
    column: 1,
    path: "min_approvals",
    message: 'unknown key "min_approvals"; allowed keys are: requests_file, max_duration, approvals, bind_to_requester, break_glass',
  },
  ...badRequestsFiles.map(([value, message]): BadCase => ({
    name: `requests_file: ${value}`,
    text: doc("approvals: 2", `requests_file: ${value}`),
    line: 2,
    column: 16,
    path: "requests_file",
    message,
  })),
  {
    name: "bad duration",
    text: doc("max_duration: 1 week"),
    line: 1,
    column: 15,
    path: "max_duration",
    message: '"1 week" is not a duration',
  },
  ...["0", "1.5", "two", "11"].map((value): BadCase => ({
    name: `approvals: ${value}`,
    text: doc(`approvals: ${value}`),
    line: 1,
    column: 12,
    path: "approvals",
    message: "approvals must be a whole number from 1 to 10",
  })),
  ...["yes", "on", "1", '"true"', "[true]"].map((value): BadCase => ({
    name: `bind_to_requester: ${value}`,
    text: doc("approvals: 2", `bind_to_requester: ${value}`),
    line: 2,
    column: 20,
    path: "bind_to_requester",
    message: "bind_to_requester must be true or false",
  })),
  {
    name: "alias",
    text: doc("requests_file: &f a.yml", "max_duration: *f"),
    line: 2,
    column: 15,
    message: "aliases (*f) are not allowed",
  },
  {
    name: "billion laughs",
    text: doc("a: &a [x, x]", "b: &b [*a, *a]", "c: [*b, *b]"),
    line: 1,
    message: "anchors (&a) are not allowed",
  },
  {
    name: "file too large",
    text: `#${"x".repeat(MAX_REPO_CONFIG_BYTES)}\n`,
    line: 1,
    column: 1,
    message: `the repository config is ${MAX_REPO_CONFIG_BYTES + 2} bytes; the limit is ${MAX_REPO_CONFIG_BYTES} bytes`,
  },
];

describe("parseRepoConfig: bad files", () => {
  it.each(badCases)("$name", ({ text, line, column, path, message }) => {
    const error = configError(() => parseRepoConfig(text));
    expect(error.file).toBe(".github/jit-access.yml");
    const matching = error.problems.filter((problem) => problem.message.includes(message));
    expect(matching).toContainEqual(
      expect.objectContaining({
        line,
        ...(column === undefined ? {} : { column }),
        ...(path === undefined ? {} : { path }),
      }),
    );
  });

  it("lists every problem, naming the file it was given", () => {
    const text = doc("requests_file: ../x.yml", "max_duration: soon", "approvals: 0", "extra: true");
    const error = configError(() => parseRepoConfig(text, "acme/api:.github/jit-access.yml"));
    expect(error.message.split("\n")).toEqual([
      "acme/api:.github/jit-access.yml:1:16: requests_file: requests_file must stay inside the repository (no .. segments); write it relative to the repository root, e.g. jit-requests.yml or .github/jit-requests.yml",
      'acme/api:.github/jit-access.yml:2:15: max_duration: "soon" is not a duration: use whole numbers followed by d, h, m or s (write it like 90s, 15m, 2h, 1h30m or 1d)',
      "acme/api:.github/jit-access.yml:3:12: approvals: approvals must be a whole number from 1 to 10",
      'acme/api:.github/jit-access.yml:4:1: extra: unknown key "extra"; allowed keys are: requests_file, max_duration, approvals, bind_to_requester, break_glass',
    ]);
  });
});

describe("hostile nesting", () => {
  it("refuses deeply nested input before composing it, at the line where it goes too deep", () => {
    const text = `requests_file: x.yml\nmax_duration: ${"[".repeat(5000)}\n`;
    expect(() => parseRepoConfig(text)).toThrow(/\.github\/jit-access\.yml:2:\d+: lists and maps are nested more than 8 levels deep/);
  });

  it("survives nesting that would exhaust the parser", () => {
    const text = `${"[".repeat(1000)}\n${"[".repeat(60_000)}`;
    expect(() => parseRepoConfig(text)).toThrow(/nested more than 8 levels deep/);
  });
});
