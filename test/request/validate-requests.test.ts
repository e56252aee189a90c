import { describe, expect, it } from "@jest/globals";
import type { Catalog, CatalogSecret } from "../../src/policy/catalog.js";
import { DEFAULT_REPO_CONFIG } from "../../src/policy/repo-config.js";
import { parseDuration } from "../../src/util/duration.js";
import { parseMessages, validationMessages as say } from "../../src/request/request-messages.js";
import { type PullRequestFacts, type ValidationInput, validateRequests } from "../../src/request/validate-requests.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;

const PROD_DB_URL: CatalogSecret = {
  name: "PROD_DB_URL",
  source: { kind: "env", variable: "PROD_DB_URL" },
  repositories: ["acme/*"],
  environments: ["production"],
  maxDurationMs: 4 * HOUR,
  minDurationMs: 5 * MINUTE,
  approvals: 2,
  approvers: [{ kind: "team", org: "acme", slug: "dba" }],
  reasonPattern: "^INC-\\d+",
  requireProtectedEnvironment: false,
  bindToRequester: false,
};
const STAGING_TOKEN: CatalogSecret = {
  name: "STAGING_TOKEN",
  source: { kind: "file", path: "/run/secrets/staging-token" },
  repositories: ["acme/web"],
  environments: ["staging", "qa"],
  maxDurationMs: 24 * HOUR,
  approvals: 1,
  approvers: null,
  requireProtectedEnvironment: false,
  bindToRequester: false,
};
const BILLING_KEY: CatalogSecret = {
  name: "BILLING_KEY",
  source: { kind: "env", variable: "BILLING_KEY" },
  repositories: ["globex/*"],
  environments: ["production"],
  maxDurationMs: HOUR,
  approvals: 1,
  approvers: [{ kind: "user", login: "globex-admin" }],
  requireProtectedEnvironment: false,
  bindToRequester: false,
};

function catalogOf(...secrets: CatalogSecret[]): Catalog {
  return { file: "jit-catalog.yml", secrets: new Map(secrets.map((secret) => [secret.name.toUpperCase(), secret])) };
}
const CATALOG = catalogOf(PROD_DB_URL, STAGING_TOKEN, BILLING_KEY);

interface Fields {
  secret: string;
  environment: string;
  duration: string;
  reason: string;
}
const GOOD: Fields = {
  secret: "PROD_DB_URL",
  environment: "production",
  duration: "2h",
  reason: "INC-4211: inspect stuck migrations",
};

/**
 * A requests file with one four-line entry per argument. Entry i (from 0) starts on line
 * 2 + 4i; its secret is at column 13, environment on the next line at column 18, duration on
 * the line after at column 15, reason on the last at column 13.
 */
function requestsFile(...entries: Array<Partial<Fields>>): string {
  const lines = ["requests:"];
  for (const overrides of entries) {
    const entry = { ...GOOD, ...overrides };
    lines.push(
      `  - secret: ${JSON.stringify(entry.secret)}`,
      `    environment: ${JSON.stringify(entry.environment)}`,
      `    duration: ${JSON.stringify(entry.duration)}`,
      `    reason: ${JSON.stringify(entry.reason)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
const at = {
  secret: (i = 0) => ({ line: 2 + 4 * i, column: 13 }),
  environment: (i = 0) => ({ line: 3 + 4 * i, column: 18 }),
  duration: (i = 0) => ({ line: 4 + 4 * i, column: 15 }),
  reason: (i = 0) => ({ line: 5 + 4 * i, column: 13 }),
  pullRequest: () => ({ line: 1, column: 1 }),
};

const PR: PullRequestFacts = {
  fromFork: false,
  baseRef: "main",
  defaultBranch: "main",
  authorCanWrite: true,
  authorLogin: "octocat",
};

function input(headText: string, overrides: Partial<ValidationInput> = {}): ValidationInput {
  return {
    file: "jit-requests.yml",
    headText,
    baseText: null,
    catalog: CATALOG,
    repoConfig: DEFAULT_REPO_CONFIG,
    repository: "acme/web",
    ...overrides,
  };
}

const durationError = (text: string): string => {
  const parsed = parseDuration(text);
  if (parsed.ok) throw new Error(`${text} parses`);
  return parsed.error;
};

type Row = [string, Partial<Fields>, Partial<ValidationInput>, { line: number; column: number }, string];

const rows: Row[] = [
  [
    "a secret not in the catalog, with a close name",
    { secret: "PROD_DB_URI" },
    {},
    at.secret(),
    say.unknownSecret("PROD_DB_URI", "PROD_DB_URL"),
  ],
  ["a secret not in the catalog", { secret: "NOPE_SECRET" }, {}, at.secret(), say.unknownSecret("NOPE_SECRET", null)],
  [
    "a misspelt secret that is close only to another repository's secret",
    { secret: "BILLING_KEX" },
    {},
    at.secret(),
    say.unknownSecret("BILLING_KEX", null),
  ],
  [
    "a name GitHub would not accept",
    { secret: "prod-db-url" },
    {},
    at.secret(),
    say.invalidSecretName("prod-db-url", "secret names may contain only letters, digits and _", "PROD_DB_URL"),
  ],
  ["a secret for other repositories", { secret: "BILLING_KEY" }, {}, at.secret(), say.secretNotForRepository("BILLING_KEY", "acme/web")],
  [
    "an environment the catalog does not allow for the secret",
    { environment: "staging" },
    {},
    at.environment(),
    say.environmentNotAllowed("PROD_DB_URL", "staging", ["production"]),
  ],
  [
    "an environment the repository does not have",
    { secret: "STAGING_TOKEN", environment: "qa", reason: "debug the failing deploy" },
    { environments: ["production", "staging"] },
    at.environment(),
    say.environmentMissing("qa", "acme/web", ["production", "staging"]),
  ],
  [
    "an environment in a repository without environments",
    {},
    { environments: [] },
    at.environment(),
    say.environmentMissing("production", "acme/web", []),
  ],
  ["an empty environment", { environment: "" }, {}, at.environment(), say.environmentEmpty()],
  ["a duration that does not parse", { duration: "2 hours" }, {}, at.duration(), durationError("2 hours")],
  ["a zero duration", { duration: "0m" }, {}, at.duration(), durationError("0m")],
  ["a negative duration", { duration: "-5m" }, {}, at.duration(), durationError("-5m")],
  ["a duration over the catalog's limit", { duration: "6h" }, {}, at.duration(), say.overMax("6h", "4h", "PROD_DB_URL")],
  [
    "a duration over the repository config's tighter limit",
    {},
    { repoConfig: { ...DEFAULT_REPO_CONFIG, maxDurationMs: HOUR } },
    at.duration(),
    say.overMax("2h", "1h", "PROD_DB_URL"),
  ],
  ["a duration under the minimum", { duration: "1m" }, {}, at.duration(), say.underMin("1m", "5m", "PROD_DB_URL")],
  ["an empty reason", { reason: "" }, {}, at.reason(), say.reasonMissing()],
  ["a blank reason", { reason: "   " }, {}, at.reason(), say.reasonMissing()],
  ["a short reason", { reason: "INC-1 fix" }, {}, at.reason(), say.reasonTooShort(9)],
  ["a short reason padded with spaces", { reason: "   INC-1    " }, {}, at.reason(), say.reasonTooShort(5)],
  [
    "a reason that does not match the catalog's pattern",
    { reason: "inspect stuck migrations" },
    {},
    at.reason(),
    say.reasonMismatch("^INC-\\d+", "PROD_DB_URL"),
  ],
  [
    "a reason pattern the catalog got wrong",
    {},
    { catalog: catalogOf({ ...PROD_DB_URL, reasonPattern: "(INC" }) },
    at.reason(),
    say.reasonPatternBroken("PROD_DB_URL"),
  ],
];

const pullRequestRows: Array<[string, Partial<PullRequestFacts>, string]> = [
  ["a pull request from a fork", { fromFork: true }, say.fromFork("acme/web")],
  ["a pull request into another branch", { baseRef: "release" }, say.wrongBase("jit-requests.yml", "release", "main")],
  ["an author who cannot write", { authorCanWrite: false, authorLogin: "drive-by" }, say.noWritePermission("drive-by", "acme/web")],
];

describe("validateRequests refuses", () => {
  it.each(rows)("%s", (_name, fields, overrides, place, message) => {
    const result = validateRequests(input(requestsFile(fields), overrides));
    expect(result.problems.map(({ line, column, message }) => ({ line, column, message }))).toEqual([{ ...place, message }]);
    expect(result.requests).toEqual([]);
    expect(result.removedOnly).toBe(false);
  });

  it.each(pullRequestRows)("%s, on line 1", (_name, facts, message) => {
    const result = validateRequests(input(requestsFile({}), { pullRequest: { ...PR, ...facts } }));
    expect(result.problems).toEqual([{ ...at.pullRequest(), message }]);
  });

  it("with messages that say how to fix the problem", () => {
    expect(say.overMax("6h", "4h", "PROD_DB_URL")).toBe("duration 6h is over the limit of 4h for PROD_DB_URL; ask for 4h or less");
    expect(say.fromFork("acme/web")).toMatch(/^requests from forks are refused/);
    expect(say.unknownSecret("PROD_DB_URI", "PROD_DB_URL")).toContain("did you mean PROD_DB_URL?");
    expect(say.environmentMissing("qa", "acme/web", ["production", "staging"])).toBe(
      'environment "qa" does not exist in acme/web; existing environments: production, staging',
    );
    expect(durationError("0m")).toContain("it is zero");
  });

  it("a second request for the same secret and environment, naming the first's line", () => {
    const text = requestsFile({}, { secret: "prod_db_url", environment: "Production", duration: "1h" });
    const result = validateRequests(input(text));
    expect(result.problems).toEqual([expect.objectContaining({ ...at.secret(1), message: say.duplicate("PROD_DB_URL", "Production", 2) })]);
    expect(say.duplicate("PROD_DB_URL", "Production", 2)).toContain("already requested on line 2");
    expect(result.requests.map((request) => request.entry.line)).toEqual([2]);
  });

  it("every problem at once, each at its value", () => {
    const text = requestsFile(
      { secret: "PROD_DB_URI", duration: "forever", reason: "" },
      { environment: "staging", duration: "9h", reason: "no ticket here" },
    );
    const result = validateRequests(input(text, { pullRequest: { ...PR, fromFork: true, authorCanWrite: false } }));
    expect(result.problems.map(({ line, column, message }) => ({ line, column, message }))).toEqual([
      { ...at.pullRequest(), message: say.fromFork("acme/web") },
      { ...at.pullRequest(), message: say.noWritePermission("octocat", "acme/web") },
      { ...at.secret(0), message: say.unknownSecret("PROD_DB_URI", "PROD_DB_URL") },
      { ...at.duration(0), message: durationError("forever") },
      { ...at.reason(0), message: say.reasonMissing() },
      { ...at.environment(1), message: say.environmentNotAllowed("PROD_DB_URL", "staging", ["production"]) },
      { ...at.duration(1), message: say.overMax("9h", "4h", "PROD_DB_URL") },
      { ...at.reason(1), message: say.reasonMismatch("^INC-\\d+", "PROD_DB_URL") },
    ]);
  });

  it("problems of the head's YAML, with the policy problems of its good entries", () => {
    const text = `${requestsFile({ duration: "6h" })}  - secret: STAGING_TOKEN\n    enviroment: staging\n`;
    const result = validateRequests(input(text));
    expect(result.problems.map((problem) => problem.message)).toEqual([
      say.overMax("6h", "4h", "PROD_DB_URL"),
      parseMessages.missingField("environment"),
      parseMessages.missingField("duration"),
      parseMessages.missingField("reason"),
      parseMessages.unknownKey("enviroment", [], "environment"),
    ]);
  });

  it("parse problems in entries the base already had", () => {
    const text = "requests:\n  - secret: PROD_DB_URL\n    approver: octocat\n";
    const result = validateRequests(input(text, { baseText: text }));
    expect(result.problems.length).toBeGreaterThan(0);
    expect(result.removedOnly).toBe(false);
  });
});

describe("validateRequests accepts", () => {
  it("added entries, with the approvals each needs", () => {
    const text = requestsFile({}, { secret: "staging_token", environment: "staging", duration: "1h30m", reason: "debug the deploy" });
    const result = validateRequests(input(text, { environments: ["production", "staging"], pullRequest: PR }));
    expect(result.problems).toEqual([]);
    expect(result.removedOnly).toBe(false);
    expect(
      result.requests.map(({ entry, secret, environment, durationMs, reason, approvals }) => ({
        line: entry.line,
        secret: secret.name,
        environment,
        durationMs,
        reason,
        approvals,
      })),
    ).toEqual([
      { line: 2, secret: "PROD_DB_URL", environment: "production", durationMs: 2 * HOUR, reason: GOOD.reason, approvals: 2 },
      { line: 6, secret: "STAGING_TOKEN", environment: "staging", durationMs: 90 * MINUTE, reason: "debug the deploy", approvals: 1 },
    ]);
  });

  it("the repository config's higher approval count", () => {
    const result = validateRequests(input(requestsFile({}), { repoConfig: { ...DEFAULT_REPO_CONFIG, approvals: 3 } }));
    expect(result.requests.map((request) => request.approvals)).toEqual([3]);
  });

  it("an environment written in another case, as the repository spells it", () => {
    const result = validateRequests(input(requestsFile({ environment: "PRODUCTION" }), { environments: ["Production"] }));
    expect(result.problems).toEqual([]);
    expect(result.requests.map((request) => request.environment)).toEqual(["Production"]);
  });

  it.each([
    ["4h", 4 * HOUR],
    ["5m", 5 * MINUTE],
  ])("a duration of exactly %s, at a bound", (duration, ms) => {
    const result = validateRequests(input(requestsFile({ duration })));
    expect(result.problems).toEqual([]);
    expect(result.requests.map((request) => request.durationMs)).toEqual([ms]);
  });

  it("entries the base already had without judging them again", () => {
    const old = { duration: "6h" };
    const base = requestsFile(old);
    const head = requestsFile(old, { secret: "STAGING_TOKEN", environment: "qa", duration: "1h", reason: "check the qa data" });
    const result = validateRequests(input(head, { baseText: base }));
    expect(result.problems).toEqual([]);
    expect(result.requests.map((request) => request.entry.line)).toEqual([6]);
  });

  it("every head entry when the base does not parse", () => {
    const result = validateRequests(input(requestsFile({ duration: "6h" }), { baseText: "requests: [" }));
    expect(result.problems.map((problem) => problem.message)).toEqual([say.overMax("6h", "4h", "PROD_DB_URL")]);
  });

  it("valid entries even when other entries have problems, which callers must not grant", () => {
    const result = validateRequests(input(requestsFile({}, { secret: "NOPE_SECRET" })));
    expect(result.problems).toHaveLength(1);
    expect(result.requests.map((request) => request.entry.line)).toEqual([2]);
  });
});

describe("removedOnly", () => {
  const two = requestsFile({}, { secret: "STAGING_TOKEN", environment: "staging", reason: "debug the deploy" });
  const one = requestsFile({});

  it.each<{ when: string; base: string | null; head: string; overrides?: Partial<ValidationInput>; expected: boolean }>([
    { when: "the head removes an entry", base: two, head: one, expected: true },
    { when: "the head removes every entry", base: two, head: "requests: []\n", expected: true },
    { when: "the head deletes everything but comments", base: two, head: "# all done\n", expected: true },
    { when: "nothing changed", base: one, head: one, expected: false },
    { when: "the head adds an entry", base: one, head: two, expected: false },
    { when: "the head removes one and adds another", base: two, head: requestsFile({ duration: "3h" }), expected: false },
    {
      when: "the pull request has a problem",
      base: two,
      head: one,
      overrides: { pullRequest: { ...PR, fromFork: true } },
      expected: false,
    },
    { when: "there is no base and nothing in the head", base: null, head: "requests: []\n", expected: false },
  ])("is $expected when $when", ({ base, head, overrides, expected }) => {
    const result = validateRequests(input(head, { baseText: base, ...overrides }));
    expect(result.removedOnly).toBe(expected);
    if (expected) expect(result.requests).toEqual([]);
  });
});
