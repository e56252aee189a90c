/**
 * Catalog mistakes that used to load: a `reason_pattern` that backtracks exponentially on a
 * crafted reason, a wildcard repositories glob without `approvers` (whoever can create a
 * matching repository would choose its code owners), and (already refused, now explained) a
 * repositories glob of `*`, which could never match an owner/name.
 */
import { describe, expect, it } from "@jest/globals";
import { ConfigError } from "../../src/policy/config-error.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { repositoryAllowed } from "../../src/policy/repo-glob.js";
import { repeatedBranchingGroup } from "../../src/policy/repeated-group.js";
import { PATTERN_COST_LIMIT_MS } from "../../src/policy/match-reason-pattern.js";
import { MAX_REASON_LENGTH } from "../../src/request/request-messages.js";

function catalogWith(line: string, approvers: string[] = ['    approvers: ["@acme/dba"]']): string {
  return [
    "secrets:",
    "  PROD_DB_URL:",
    "    source: env:PROD_DB_URL",
    "    environments: [production]",
    "    max_duration: 4h",
    line,
    ...(line.includes("repositories") ? [] : ['    repositories: ["acme/*"]']),
    ...approvers,
    "",
  ].join("\n");
}

function problemsOf(text: string): Array<{ line: number; message: string }> {
  try {
    parseCatalog(text, "jit-catalog.yml");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(({ line, message }) => ({ line, message }));
    throw error;
  }
  return [];
}

describe("repositories", () => {
  it('refuses "*", saying that * does not cross the / and how to allow every repository', () => {
    expect(problemsOf(catalogWith('    repositories: ["*"]'))).toEqual([
      {
        line: 6,
        message:
          '"*" is not a glob over owner/name and would match no repository, because * does not match the / between owner and name; write */* to allow every repository the app is installed on, or acme/* for one owner',
      },
    ]);
  });

  it("refuses */* without approvers: a repository created later would bring its own code owners", () => {
    const [problem, ...others] = problemsOf(catalogWith('    repositories: ["*/*"]', []));
    expect(others).toEqual([]);
    expect(problem?.line).toBe(6);
    expect(problem?.message).toMatch(
      /^PROD_DB_URL allows "\*\/\*", a wildcard, but sets no approvers: a repository created later .* Set approvers on PROD_DB_URL/u,
    );
  });

  it("accepts */* with approvers, which an operator may choose: every repository", () => {
    const catalog = parseCatalog(catalogWith('    repositories: ["*/*"]'), "jit-catalog.yml");
    const secret = catalog.secrets.get("PROD_DB_URL");
    expect(secret?.repositories).toEqual(["*/*"]);
    expect(["acme/api", "other/thing", "a/b.c"].map((name) => repositoryAllowed(["*/*"], name))).toEqual([true, true, true]);
  });
});

describe("reason_pattern", () => {
  it.each([
    ["^(a+)+$", "(a+)+"],
    ["^(\\w+\\s?)*$", "(\\w+\\s?)*"],
    ["^(INC|CHG|(a|aa)+)", "(a|aa)+"],
    ["^(.*,){20}", "(.*,){20}"],
    ["^((a*))+", "((a*))+"],
    ["^(?<ticket>[A-Z]+-\\d+ ?){2,}", "(?<ticket>[A-Z]+-\\d+ ?){2,}"],
  ])("refuses %s, naming %s", (pattern, group) => {
    const [problem] = problemsOf(catalogWith(`    reason_pattern: '${pattern}'`));
    expect(problem?.line).toBe(6);
    expect(problem?.message).toContain(`reason_pattern repeats a group that itself repeats or branches, ${group}, which can take minutes`);
    expect(repeatedBranchingGroup(pattern)).toBe(group);
  });

  it.each(["^INC-\\d+", "^(INC|CHG)-\\d+: .{10,}", "^[A-Z]+-\\d+(: .+)?$", "^(?:ticket )?#\\d+", "[(a+)]+", "\\(a+\\)+", "^(ab){2}"])(
    "accepts %s",
    (pattern) => {
      expect(problemsOf(catalogWith(`    reason_pattern: '${pattern}'`))).toEqual([]);
      expect(repeatedBranchingGroup(pattern)).toBeNull();
    },
  );
});

describe("reason_pattern that is slow on a crafted 500-character reason, or that RE2 cannot run", () => {
  it.each(["^.*.*.*.*=INC", "\\s*\\s*\\s*x", "^[a-z]*[a-z]*[a-z]*[a-z]*!"])(
    "refuses %s at its line: JavaScript's own engine backtracks on it",
    (pattern) => {
      const problems = problemsOf(catalogWith(`    reason_pattern: '${pattern}'`));
      expect(problems).toEqual([
        {
          line: 6,
          message:
            `reason_pattern takes over ${PATTERN_COST_LIMIT_MS} ms in JavaScript's own engine on a crafted reason of ${MAX_REASON_LENGTH} characters, over the limit of ${PATTERN_COST_LIMIT_MS} ms; ` +
            "quantifiers next to each other that can match the same text (.*.*, \\s*\\s*) make it slow: keep one, e.g. ^.*=INC for ^.*.*=INC",
        },
      ]);
    },
  );

  it("refuses a pattern that RE2 compiles too slowly to be worth it", () => {
    const [problem] = problemsOf(catalogWith("    reason_pattern: '[\\s\\S]{1,1000}[\\s\\S]{1,1000}[\\s\\S]{1,1000}[\\s\\S]{1,1000}x'"));
    expect(problem?.line).toBe(6);
    expect(problem?.message).toMatch(/^reason_pattern takes (\d+ ms in RE2|over 100 ms in JavaScript's own engine) on a crafted reason/u);
  });

  it.each([
    ["lookahead", "^(?=INC)INC-\\d+"],
    ["lookbehind", "(?<=INC-)\\d+"],
    ["a backreference", "^(INC)-\\1"],
  ])("refuses %s, which RE2 cannot run", (_name, pattern) => {
    const [problem] = problemsOf(catalogWith(`    reason_pattern: '${pattern}'`));
    expect(problem?.line).toBe(6);
    expect(problem?.message).toMatch(
      /^reason_pattern uses syntax that the linear-time matcher \(RE2\) does not support, such as lookahead, lookbehind or backreferences: .+; rewrite it without them$/u,
    );
  });

  it.each(["^INC-\\d+", "^.*=INC", "^\\s*INC", "^(?:INC|CHG)-\\d+: \\p{L}.{5,}", "^[A-Z]{2,10}-\\d{1,6}\\b"])("accepts %s", (pattern) => {
    expect(problemsOf(catalogWith(`    reason_pattern: '${pattern}'`))).toEqual([]);
  });
});

describe("secret names that shadow a shell or runner variable", () => {
  const catalogNaming = (name: string): string =>
    [
      "secrets:",
      `  ${name}:`,
      "    source: env:X",
      '    repositories: ["acme/api"]',
      "    environments: [production]",
      "    max_duration: 4h",
      "",
    ].join("\n");

  it.each([
    ["PWD", "PWD, a variable of the shell or of the Actions runner"],
    ["Seconds", "SECONDS, a variable of the shell or of the Actions runner"],
    ["LC_ALL", "a LC_… variable of the shell, the Actions runner or the require-grant action"],
    ["RUNNER_TEMP", "a RUNNER_… variable of the shell, the Actions runner or the require-grant action"],
  ])("refuses %s at its key, as require-grant would", (name, what) => {
    expect(problemsOf(catalogNaming(name))).toEqual([
      {
        line: 2,
        message: `secret names must not be the name of ${what}: a workflow step could not receive the secret under that name; choose another name`,
      },
    ]);
  });

  it("accepts names that only contain one", () => {
    expect(problemsOf(catalogNaming("PWD_HASH"))).toEqual([]);
    expect(problemsOf(catalogNaming("MY_PATH"))).toEqual([]);
  });
});
