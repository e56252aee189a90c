import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Catalog, CatalogSecret } from "../../src/policy/catalog.js";
import type { ConfigProblem } from "../../src/policy/config-error.js";
import { loadCatalog, MAX_CATALOG_BYTES, parseCatalog } from "../../src/policy/load-catalog.js";
import { configError, configErrorAsync } from "../helpers/config-error.js";

const FILE = "jit-catalog.yml";
const FIXTURES = fileURLToPath(new URL("../fixtures/catalogs/", import.meta.url));
const M = 60_000;
const H = 60 * M;

/** One line per argument, so a case's line numbers can be read off its position. */
function doc(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

/**
 * A complete, valid secret body (lines 3 to 6 when the secret's name is on line 2). Its one
 * repository is an exact name, which needs no approvers.
 */
const BODY = ["    source: env:PROD_DB_URL", '    repositories: ["acme/api"]', "    environments: [production]", "    max_duration: 4h"];

describe("parseCatalog: valid catalogs", () => {
  it("reads the catalog from the design document", () => {
    const text = doc(
      "secrets:",
      "  PROD_DB_URL:",
      "    source: env:PROD_DB_URL",
      '    repositories: ["acme/*"]',
      '    approvers: ["@acme/dba", "@alice"]',
      "    environments: [production]",
      "    max_duration: 4h",
      "    min_duration: 5m",
      "    approvals: 2",
      "    reason_pattern: '^INC-\\d+'",
    );
    const expected: Catalog = {
      file: FILE,
      secrets: new Map([
        [
          "PROD_DB_URL",
          {
            name: "PROD_DB_URL",
            source: { kind: "env", variable: "PROD_DB_URL" },
            repositories: ["acme/*"],
            environments: ["production"],
            maxDurationMs: 4 * H,
            minDurationMs: 5 * M,
            approvals: 2,
            approvers: [
              { kind: "team", org: "acme", slug: "dba" },
              { kind: "user", login: "alice" },
            ],
            reasonPattern: "^INC-\\d+",
            requireProtectedEnvironment: false,
            bindToRequester: false,
          },
        ],
      ]),
    };
    expect(parseCatalog(text, FILE)).toStrictEqual(expected);
  });

  it("applies defaults, keys by upper-case name and keeps the name as written", () => {
    const text = doc(
      "secrets:",
      "  stripe_key: {source: 'file:/run/secrets/stripe', repositories: [acme/billing, acme/web-?], approvers: ['@acme/payments'], environments: [production, staging], max_duration: 1h30m}",
      "  Deploy_Token:",
      "    source: env:DEPLOY_TOKEN",
      "    repositories: ['*/*']",
      "    approvers: ['@Acme/Release-Managers', '@bob']",
      "    require_protected_environment: true",
      "    environments: [production]",
      "    max_duration: 15m",
      "    min_duration: 15m",
      "    approvals: 10",
      "  AUDIT_KEY: {source: env:AUDIT_KEY, repositories: [acme/audit], environments: [production], max_duration: 1h}",
    );
    const expected: Catalog = {
      file: FILE,
      secrets: new Map([
        [
          "STRIPE_KEY",
          {
            name: "stripe_key",
            source: { kind: "file", path: "/run/secrets/stripe" },
            repositories: ["acme/billing", "acme/web-?"],
            environments: ["production", "staging"],
            maxDurationMs: 90 * M,
            approvals: 1,
            approvers: [{ kind: "team", org: "acme", slug: "payments" }],
            requireProtectedEnvironment: false,
            bindToRequester: false,
          },
        ],
        [
          "DEPLOY_TOKEN",
          {
            name: "Deploy_Token",
            source: { kind: "env", variable: "DEPLOY_TOKEN" },
            repositories: ["*/*"],
            environments: ["production"],
            maxDurationMs: 15 * M,
            minDurationMs: 15 * M,
            approvals: 10,
            approvers: [
              { kind: "team", org: "Acme", slug: "Release-Managers" },
              { kind: "user", login: "bob" },
            ],
            requireProtectedEnvironment: true,
            bindToRequester: false,
          },
        ],
        [
          "AUDIT_KEY",
          {
            name: "AUDIT_KEY",
            source: { kind: "env", variable: "AUDIT_KEY" },
            repositories: ["acme/audit"],
            environments: ["production"],
            maxDurationMs: H,
            approvals: 1,
            approvers: null,
            requireProtectedEnvironment: false,
            bindToRequester: false,
          },
        ],
      ]),
    };
    expect(parseCatalog(text, FILE)).toStrictEqual(expected);
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

const badCases: BadCase[] = [
  {
    name: "malformed YAML: a mapping inside a plain value",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:X: y", ...BODY.slice(1)),
    line: 3,
    column: 13,
    message: "Nested mappings are not allowed in compact mappings",
  },
  {
    name: "malformed YAML: keys not aligned",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:X", "   max_duration: 4h"),
    line: 4,
    message: "All mapping items must start at the same column",
  },
  {
    name: "malformed YAML: tab indentation",
    text: doc("secrets:", "\tPROD_DB_URL:", "    source: env:X"),
    line: 2,
    column: 1,
    message: "Tabs are not allowed as indentation",
  },
  {
    name: "duplicate key",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    max_duration: 2h"),
    line: 7,
    message: "Map keys must be unique",
  },
  {
    name: "several documents",
    text: doc("secrets: {}", "---", "secrets: {}"),
    line: 2,
    message: "multiple documents",
  },
  {
    name: "unresolved tag",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: !vault prod/db", ...BODY.slice(1)),
    line: 3,
    column: 13,
    message: "Unresolved tag: !vault",
  },
  {
    name: "alias",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "  OTHER:", "    source: env:OTHER", "    repositories: *repos"),
    line: 9,
    column: 19,
    message: "aliases (*repos) are not allowed",
  },
  {
    name: "anchor",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:PROD_DB_URL", '    repositories: &repos ["acme/*"]'),
    line: 4,
    column: 19,
    message: "anchors (&repos) are not allowed",
  },
  {
    name: "a list as a key",
    text: doc("secrets:", "  ? [A, B]", "  : {}"),
    line: 2,
    column: 5,
    message: "keys must be plain names",
  },
  { name: "empty file", text: "", line: 1, column: 1, message: "the catalog is empty; expected a map with the keys: secrets" },
  { name: "comments only", text: doc("# nothing yet"), line: 1, message: "the catalog is empty" },
  { name: "a list at the top", text: doc("- PROD_DB_URL"), line: 1, message: "the catalog must be a map with the keys: secrets" },
  {
    name: "no secrets key",
    text: doc("secret:", "  PROD_DB_URL: {}"),
    line: 1,
    path: "secrets",
    message: "secrets is required",
  },
  {
    name: "unknown key at the top",
    text: doc("version: 1", "secrets:", "  PROD_DB_URL:", ...BODY),
    line: 1,
    column: 1,
    path: "version",
    message: 'unknown key "version"; allowed keys are: secrets',
  },
  {
    name: "empty secrets map",
    text: doc("secrets: {}"),
    line: 1,
    column: 10,
    path: "secrets",
    message: "secrets has no entries; a catalog must list at least one secret",
  },
  {
    name: "secrets with no value",
    text: doc("secrets:"),
    line: 1,
    path: "secrets",
    message: "secrets has no entries",
  },
  {
    name: "secrets as a list",
    text: doc("secrets:", "  - PROD_DB_URL"),
    line: 2,
    column: 3,
    path: "secrets",
    message: "secrets must be a map from each secret's name to its policy",
  },
  {
    name: "a secret with no policy",
    text: doc("secrets:", "  PROD_DB_URL:"),
    line: 2,
    column: 3,
    path: "secrets.PROD_DB_URL",
    message: "a secret's policy is empty",
  },
  {
    name: "unknown key in a secret",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    max_durration: 2h"),
    line: 7,
    column: 5,
    path: "secrets.PROD_DB_URL.max_durration",
    message: 'unknown key "max_durration"; allowed keys are: source, repositories, environments, max_duration',
  },
  {
    name: "source of an unknown kind",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: vault:prod/db", ...BODY.slice(1)),
    line: 3,
    column: 13,
    path: "secrets.PROD_DB_URL.source",
    message: "source must be env:VARIABLE or file:/absolute/path",
  },
  {
    name: "env source naming no valid variable",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:PROD-DB-URL", ...BODY.slice(1)),
    line: 3,
    path: "secrets.PROD_DB_URL.source",
    message: "env: must name an environment variable",
  },
  {
    name: "env source with no variable",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: 'env:'", ...BODY.slice(1)),
    line: 3,
    message: "env: must name an environment variable",
  },
  {
    name: "file source with a relative path",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: file:run/secrets/prod-db-url", ...BODY.slice(1)),
    line: 3,
    path: "secrets.PROD_DB_URL.source",
    message: "file: must be an absolute path",
  },
  {
    name: "missing source",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(1)),
    line: 2,
    column: 3,
    path: "secrets.PROD_DB_URL.source",
    message: "source is required",
  },
  {
    name: "missing max_duration",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3)),
    line: 2,
    column: 3,
    path: "secrets.PROD_DB_URL.max_duration",
    message: "max_duration is required; write it like 90s, 15m, 2h or 1h30m",
  },
  {
    name: "max_duration with no value",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3), "    max_duration:"),
    line: 6,
    column: 5,
    path: "secrets.PROD_DB_URL.max_duration",
    message: "max_duration must be a duration like 90s, 15m, 2h or 1h30m",
  },
  {
    name: "max_duration as a bare number",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3), "    max_duration: 3600"),
    line: 6,
    column: 19,
    message: "max_duration must be a duration like 90s, 15m, 2h or 1h30m",
  },
  {
    name: "bad duration",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3), "    max_duration: 4 hours"),
    line: 6,
    column: 19,
    path: "secrets.PROD_DB_URL.max_duration",
    message: '"4 hours" is not a duration',
  },
  {
    name: "zero duration",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3), "    max_duration: 0s"),
    line: 6,
    message: "it is zero",
  },
  {
    name: "min_duration longer than max_duration",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    min_duration: 5h"),
    line: 7,
    column: 19,
    path: "secrets.PROD_DB_URL.min_duration",
    message: "min_duration must not be longer than max_duration",
  },
  ...(["0", "1.5", "two", "11", "-1", "[2]"] as const).map((value): BadCase => ({
    name: `approvals: ${value}`,
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, `    approvals: ${value}`),
    line: 7,
    column: 16,
    path: "secrets.PROD_DB_URL.approvals",
    message: "approvals must be a whole number from 1 to 10",
  })),
  ...(
    [
      ["1PASSWORD", "secret names must not start with a digit"],
      ["GITHUB_TOKEN", "secret names must not start with GITHUB_"],
      ["github_token", "secret names must not start with GITHUB_"],
      ["PROD-DB-URL", "secret names may contain only letters, digits and _"],
      ["PROD.DB", "secret names may contain only letters, digits and _"],
      ['""', "secret names must not be empty"],
    ] as const
  ).map(([name, message]): BadCase => ({
    name: `secret name ${name}`,
    text: doc("secrets:", `  ${name}:`, ...BODY),
    line: 2,
    column: 3,
    message,
  })),
  {
    name: "two names that differ only by case",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "  prod_db_url:", ...BODY),
    line: 7,
    column: 3,
    path: "secrets.prod_db_url",
    message: '"prod_db_url" and "PROD_DB_URL" are the same secret',
  },
  {
    name: "reason_pattern that does not compile",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    reason_pattern: '^(INC-\\d+'"),
    line: 7,
    column: 21,
    path: "secrets.PROD_DB_URL.reason_pattern",
    message: "reason_pattern is not a valid regular expression with the u flag",
  },
  {
    name: "reason_pattern valid only without the u flag",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    reason_pattern: '^INC\\-\\d+'"),
    line: 7,
    message: "reason_pattern is not a valid regular expression with the u flag",
  },
  {
    name: "empty reason_pattern",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY, "    reason_pattern: ''"),
    line: 7,
    message: "reason_pattern must not be empty",
  },
  {
    name: "empty repositories",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:PROD_DB_URL", "    repositories: []", ...BODY.slice(2)),
    line: 4,
    column: 19,
    path: "secrets.PROD_DB_URL.repositories",
    message: "repositories must list at least one owner/name glob",
  },
  {
    name: "repositories as a single string",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:PROD_DB_URL", "    repositories: acme/*", ...BODY.slice(2)),
    line: 4,
    message: "repositories must be a list of owner/name globs",
  },
  {
    name: "repository glob without an owner",
    text: doc("secrets:", "  PROD_DB_URL:", "    source: env:PROD_DB_URL", '    repositories: ["acme/*", "api"]', ...BODY.slice(2)),
    line: 4,
    column: 30,
    path: "secrets.PROD_DB_URL.repositories[1]",
    message: '"api" is not a glob over owner/name',
  },
  {
    name: "empty environments",
    text: doc("secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 2), "    environments: []", BODY[3] ?? ""),
    line: 5,
    path: "secrets.PROD_DB_URL.environments",
    message: "environments must list at least one environment",
  },
  {
    name: "file too large",
    text: `#${"x".repeat(MAX_CATALOG_BYTES)}\n`,
    line: 1,
    column: 1,
    message: `the limit is ${MAX_CATALOG_BYTES} bytes`,
  },
];

describe("parseCatalog: bad catalogs", () => {
  it.each(badCases)("$name", ({ text, line, column, path, message }) => {
    const error = configError(() => parseCatalog(text, FILE));
    expect(error.file).toBe(FILE);
    const matching = error.problems.filter((problem) => problem.message.includes(message));
    expect(matching).toContainEqual(
      expect.objectContaining({
        line,
        ...(column === undefined ? {} : { column }),
        ...(path === undefined ? {} : { path }),
      }),
    );
  });

  it("lists every problem at once, in line order", () => {
    const text = doc(
      "secrets:",
      "  GITHUB_TOKEN:",
      "    source: env:GITHUB_TOKEN",
      "    repositories: []",
      "    environments: [production]",
      "    max_duration: 4h",
      "    approvals: 1.5",
      "  PROD_DB_URL:",
      "    source: file:relative",
      '    repositories: ["acme/*"]',
      "    environments: [production]",
      "    max_duration: 1h",
      "    min_duration: 2h",
      "    colour: red",
      "  prod_db_url:",
      "    source: env:X",
    );
    const error = configError(() => parseCatalog(text, FILE));
    expect(error.problems.map(({ line, path }) => [line, path])).toEqual([
      [2, "secrets.GITHUB_TOKEN"],
      [4, "secrets.GITHUB_TOKEN.repositories"],
      [7, "secrets.GITHUB_TOKEN.approvals"],
      [9, "secrets.PROD_DB_URL.source"],
      [10, "secrets.PROD_DB_URL.repositories[0]"],
      [13, "secrets.PROD_DB_URL.min_duration"],
      [14, "secrets.PROD_DB_URL.colour"],
      [15, "secrets.prod_db_url.repositories"],
      [15, "secrets.prod_db_url.environments"],
      [15, "secrets.prod_db_url.max_duration"],
      [15, "secrets.prod_db_url"],
    ]);
  });

  it("formats its message as FILE:LINE:COL: path: message, one problem per line", () => {
    const text = doc("version: 1", "secrets:", "  PROD_DB_URL:", ...BODY.slice(0, 3), "    max_duration: soon");
    const error = configError(() => parseCatalog(text, "/etc/jit/catalog.yml"));
    expect(error.message.split("\n")).toEqual([
      '/etc/jit/catalog.yml:1:1: version: unknown key "version"; allowed keys are: secrets',
      '/etc/jit/catalog.yml:7:19: secrets.PROD_DB_URL.max_duration: "soon" is not a duration: use whole numbers followed by d, h, m or s (write it like 90s, 15m, 2h, 1h30m or 1d)',
    ]);
  });

  it("never quotes the YAML source in its messages", () => {
    const text = doc("secrets:", "  PROD_DB_URL:", '    source: "env:PROD_DB_URL', "    note: hunter2");
    const error = configError(() => parseCatalog(text, FILE));
    expect(error.message).not.toContain("hunter2");
    expect(error.problems.every((problem: ConfigProblem) => !problem.message.includes("\n"))).toBe(true);
  });
});

/**
 * A secret whose first three keys are on lines 3 to 5; `lines` follow from line 6, so each
 * case's positions can be read off its list.
 */
function secretWith(...lines: string[]): string {
  return doc(
    "secrets:",
    "  PROD_DB_URL:",
    "    source: env:PROD_DB_URL",
    "    environments: [production]",
    "    max_duration: 4h",
    ...lines,
  );
}

const WILDCARD_WHY =
  'a wildcard, but sets no approvers: a repository created later that matches it brings its own CODEOWNERS, so its code owners alone would let anyone who can create a repository approve for it. Set approvers on PROD_DB_URL, e.g. approvers: ["@acme/dba"], or list each repository by its exact owner/name';

interface LoadsCase {
  name: string;
  lines: string[];
  approvers: CatalogSecret["approvers"];
  requireProtectedEnvironment: boolean;
  bindToRequester: boolean;
}

const loadsCases: LoadsCase[] = [
  {
    name: "exact repositories need no approvers; neither key set",
    lines: ['    repositories: ["acme/api", "acme/web"]'],
    approvers: null,
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "a wildcard with one team",
    lines: ['    repositories: ["acme/*"]', '    approvers: ["@acme/dba"]'],
    approvers: [{ kind: "team", org: "acme", slug: "dba" }],
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "? is a wildcard too, and users and teams mix, as written",
    lines: ['    repositories: ["acme/web-?"]', "    approvers: ['@alice', '@Acme/Site.Reliability_2', '@bob-b_9']"],
    approvers: [
      { kind: "user", login: "alice" },
      { kind: "team", org: "Acme", slug: "Site.Reliability_2" },
      { kind: "user", login: "bob-b_9" },
    ],
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "every repository, approvers as a block list",
    lines: ['    repositories: ["*/*"]', "    approvers:", '      - "@acme/security"', "      - '@carol'"],
    approvers: [
      { kind: "team", org: "acme", slug: "security" },
      { kind: "user", login: "carol" },
    ],
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "approvers narrow exact repositories too",
    lines: ['    repositories: ["acme/api"]', '    approvers: ["@bob"]'],
    approvers: [{ kind: "user", login: "bob" }],
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "team owners of another organisation",
    lines: ['    repositories: ["acme/*", "acme-labs/*"]', '    approvers: ["@acme-labs/dba", "@acme/dba"]'],
    approvers: [
      { kind: "team", org: "acme-labs", slug: "dba" },
      { kind: "team", org: "acme", slug: "dba" },
    ],
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "require_protected_environment: true",
    lines: ['    repositories: ["acme/api"]', "    require_protected_environment: true"],
    approvers: null,
    requireProtectedEnvironment: true,
    bindToRequester: false,
  },
  {
    name: "require_protected_environment: false",
    lines: ['    repositories: ["acme/api"]', "    require_protected_environment: false"],
    approvers: null,
    requireProtectedEnvironment: false,
    bindToRequester: false,
  },
  {
    name: "bind_to_requester: true",
    lines: ['    repositories: ["acme/api"]', "    bind_to_requester: true"],
    approvers: null,
    requireProtectedEnvironment: false,
    bindToRequester: true,
  },
  {
    name: "bind_to_requester: false, with require_protected_environment",
    lines: ['    repositories: ["acme/api"]', "    bind_to_requester: false", "    require_protected_environment: true"],
    approvers: null,
    requireProtectedEnvironment: true,
    bindToRequester: false,
  },
];

interface RefusedCase {
  name: string;
  lines: string[];
  /** Every problem the catalog earns, in order: [line, column, path, exact message]. */
  problems: Array<[line: number, column: number, path: string, message: string]>;
}

const R = "secrets.PROD_DB_URL.repositories";
const A = "secrets.PROD_DB_URL.approvers";
const P = "secrets.PROD_DB_URL.require_protected_environment";
const B = "secrets.PROD_DB_URL.bind_to_requester";

const refusedCases: RefusedCase[] = [
  {
    name: "a * glob without approvers",
    lines: ['    repositories: ["acme/*"]'],
    problems: [[6, 20, `${R}[0]`, `PROD_DB_URL allows "acme/*", ${WILDCARD_WHY}`]],
  },
  {
    name: "a ? glob without approvers, next to an exact name, which is fine",
    lines: ['    repositories: ["acme/api", "acme/web-?"]'],
    problems: [[6, 32, `${R}[1]`, `PROD_DB_URL allows "acme/web-?", ${WILDCARD_WHY}`]],
  },
  {
    name: "every repository without approvers",
    lines: ["    repositories: ['*/*']"],
    problems: [[6, 20, `${R}[0]`, `PROD_DB_URL allows "*/*", ${WILDCARD_WHY}`]],
  },
  {
    name: "each wildcard is placed at its own line in a block list",
    lines: ["    repositories:", "      - acme/api", "      - acme/*", "      - '*/infra'"],
    problems: [
      [8, 9, `${R}[1]`, `PROD_DB_URL allows "acme/*", ${WILDCARD_WHY}`],
      [9, 9, `${R}[2]`, `PROD_DB_URL allows "*/infra", ${WILDCARD_WHY}`],
    ],
  },
  {
    name: "a glob that is no glob is reported once, for what it is",
    lines: ['    repositories: ["*"]'],
    problems: [
      [
        6,
        20,
        `${R}[0]`,
        '"*" is not a glob over owner/name and would match no repository, because * does not match the / between owner and name; write */* to allow every repository the app is installed on, or acme/* for one owner',
      ],
    ],
  },
  {
    name: "approvers: [] (the wildcard is not reported again)",
    lines: ['    repositories: ["acme/*"]', "    approvers: []"],
    problems: [
      [
        7,
        16,
        A,
        'approvers must list at least one @org/team or @user, e.g. ["@acme/dba"]; remove the key to let any code owner of the requests file approve',
      ],
    ],
  },
  {
    name: "approvers with no value",
    lines: ['    repositories: ["acme/*"]', "    approvers:"],
    problems: [[7, 5, A, 'approvers must be a list of @org/team and @user entries in quotes, e.g. ["@acme/dba", "@alice"]']],
  },
  {
    name: "approvers as a single string",
    lines: ['    repositories: ["acme/api"]', '    approvers: "@acme/dba"'],
    problems: [[7, 16, A, 'approvers must be a list of @org/team and @user entries in quotes, e.g. ["@acme/dba", "@alice"]']],
  },
  {
    name: "an email address",
    lines: ['    repositories: ["acme/api"]', '    approvers: ["@acme/dba", "dba@example.com"]'],
    problems: [
      [
        7,
        30,
        `${A}[1]`,
        '"dba@example.com" is an email address; approvers are GitHub accounts and teams, and an email cannot be matched to the account that reviews: write @user or @org/team',
      ],
    ],
  },
  {
    name: "a team without its @",
    lines: ['    repositories: ["acme/api"]', '    approvers: ["acme/dba"]'],
    problems: [[7, 17, `${A}[0]`, '"acme/dba" is not an approver: write it with an @, "@acme/dba"']],
  },
  {
    name: "a user without its @",
    lines: ['    repositories: ["acme/api"]', "    approvers: [alice]"],
    problems: [[7, 17, `${A}[0]`, '"alice" is not an approver: write it with an @, "@alice"']],
  },
  ...(["@acme/", "@-alice", "@acme/dba/extra", "@alice smith", "@", "@acme/.dba", "@ålice"] as const).map((text): RefusedCase => ({
    name: `not an approver: ${text}`,
    lines: ['    repositories: ["acme/api"]', `    approvers: ["${text}"]`],
    problems: [
      [
        7,
        17,
        `${A}[0]`,
        `"${text}" is not an approver: write @user or @org/team (a login or organisation has letters, digits, - and _; a team may also have .)`,
      ],
    ],
  })),
  {
    name: "an approver that is not text",
    lines: ['    repositories: ["acme/api"]', "    approvers: [42]"],
    problems: [[7, 17, `${A}[0]`, 'each approver must be @org/team or @user in quotes, e.g. "@acme/dba"']],
  },
  {
    name: "the same approver twice, in another case",
    lines: ['    repositories: ["acme/*"]', '    approvers: ["@acme/dba", "@alice", "@Acme/DBA"]'],
    problems: [
      [7, 40, `${A}[2]`, '"@Acme/DBA" and "@acme/dba" are the same approver (GitHub logins and team names ignore case); keep one'],
    ],
  },
  {
    name: "a repeat is found even next to an entry that is not an approver",
    lines: ['    repositories: ["acme/api"]', '    approvers: ["@bob", "bob@example.com", "@BOB"]'],
    problems: [
      [
        7,
        25,
        `${A}[1]`,
        '"bob@example.com" is an email address; approvers are GitHub accounts and teams, and an email cannot be matched to the account that reviews: write @user or @org/team',
      ],
      [7, 44, `${A}[2]`, '"@BOB" and "@bob" are the same approver (GitHub logins and team names ignore case); keep one'],
    ],
  },
  {
    name: "an approver not quoted, in a flow list: YAML reserves the @",
    lines: ['    repositories: ["acme/*"]', "    approvers: [@acme/dba, @alice]"],
    problems: [
      [7, 17, "", 'YAML needs quotes around a value that starts with @: write "@acme/dba", not @acme/dba'],
      [7, 28, "", 'YAML needs quotes around a value that starts with @: write "@alice", not @alice'],
    ],
  },
  {
    name: "an approver not quoted, in a block list",
    lines: ['    repositories: ["acme/*"]', "    approvers:", "      - @alice # on call"],
    problems: [[8, 9, "", 'YAML needs quotes around a value that starts with @: write "@alice", not @alice']],
  },
  ...(["yes", '"true"', "1", "on", "[true]"] as const).map((value): RefusedCase => ({
    name: `require_protected_environment: ${value}`,
    lines: ['    repositories: ["acme/api"]', `    require_protected_environment: ${value}`],
    problems: [[7, 36, P, "require_protected_environment must be true or false"]],
  })),
  {
    name: "require_protected_environment with no value",
    lines: ['    repositories: ["acme/api"]', "    require_protected_environment:"],
    problems: [[7, 5, P, "require_protected_environment must be true or false"]],
  },
  ...(["yes", '"true"', "1", "on", "[true]", "requester"] as const).map((value): RefusedCase => ({
    name: `bind_to_requester: ${value}`,
    lines: ['    repositories: ["acme/api"]', `    bind_to_requester: ${value}`],
    problems: [[7, 24, B, "bind_to_requester must be true or false"]],
  })),
  {
    name: "bind_to_requester with no value, reported with require_protected_environment's",
    lines: ['    repositories: ["acme/api"]', "    bind_to_requester:", "    require_protected_environment: 0"],
    problems: [
      [7, 5, B, "bind_to_requester must be true or false"],
      [8, 36, P, "require_protected_environment must be true or false"],
    ],
  },
  {
    name: "the wildcard is reported with the secret's other problems",
    lines: ['    repositories: ["acme/*"]', "    approvals: 0", "    require_protected_environment: maybe"],
    problems: [
      [6, 20, `${R}[0]`, `PROD_DB_URL allows "acme/*", ${WILDCARD_WHY}`],
      [7, 16, "secrets.PROD_DB_URL.approvals", "approvals must be a whole number from 1 to 10"],
      [8, 36, P, "require_protected_environment must be true or false"],
    ],
  },
];

describe("parseCatalog: approvers, require_protected_environment and bind_to_requester", () => {
  it.each(loadsCases)("loads $name", ({ lines, approvers, requireProtectedEnvironment, bindToRequester }) => {
    const secret = parseCatalog(secretWith(...lines), FILE).secrets.get("PROD_DB_URL");
    expect(secret?.approvers).toStrictEqual(approvers);
    expect(secret?.requireProtectedEnvironment).toBe(requireProtectedEnvironment);
    expect(secret?.bindToRequester).toBe(bindToRequester);
  });

  it.each(refusedCases)("refuses $name", ({ lines, problems }) => {
    const error = configError(() => parseCatalog(secretWith(...lines), FILE));
    expect(error.problems.map(({ line, column, path, message }) => [line, column, path, message])).toEqual(problems);
  });

  it("names the secret as written, and places the problem as FILE:LINE:COL", () => {
    const text = doc(
      "secrets:",
      "  deploy_token:",
      "    source: env:DEPLOY_TOKEN",
      "    repositories: [acme/api, 'acme/*-service']",
      "    environments: [production]",
      "    max_duration: 1h",
    );
    const error = configError(() => parseCatalog(text, "/etc/jit/catalog.yml"));
    expect(error.message).toBe(
      '/etc/jit/catalog.yml:4:30: secrets.deploy_token.repositories[1]: deploy_token allows "acme/*-service", a wildcard, but sets no approvers: a repository created later that matches it brings its own CODEOWNERS, so its code owners alone would let anyone who can create a repository approve for it. Set approvers on deploy_token, e.g. approvers: ["@acme/dba"], or list each repository by its exact owner/name',
    );
  });

  it("checks each secret on its own: one secret's approvers do not cover another's wildcard", () => {
    const text = doc(
      "secrets:",
      "  PROD_DB_URL:",
      "    source: env:PROD_DB_URL",
      '    repositories: ["acme/*"]',
      '    approvers: ["@acme/dba"]',
      "    environments: [production]",
      "    max_duration: 4h",
      "  STAGING_TOKEN:",
      "    source: env:STAGING_TOKEN",
      '    repositories: ["acme/*"]',
      "    environments: [staging]",
      "    max_duration: 4h",
    );
    const error = configError(() => parseCatalog(text, FILE));
    expect(error.problems.map(({ line, column, path }) => [line, column, path])).toEqual([
      [10, 20, "secrets.STAGING_TOKEN.repositories[0]"],
    ]);
    expect(error.problems[0]?.message).toContain('STAGING_TOKEN allows "acme/*", a wildcard, but sets no approvers');
  });
});

describe("the README's catalog", () => {
  it("loads, with the approvers its wildcard needs", async () => {
    const readme = await readFile(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const example = /```yaml\n(# jit-catalog\.yml\n[\s\S]*?)```/u.exec(readme)?.[1];
    expect(example).toBeDefined();
    const secret = parseCatalog(example ?? "", "README.md").secrets.get("PROD_DB_URL");
    expect(secret).toMatchObject({
      repositories: ["acme/*"],
      approvers: [
        { kind: "team", org: "acme", slug: "dba" },
        { kind: "user", login: "alice" },
      ],
      requireProtectedEnvironment: true,
      bindToRequester: true,
    });
    const withoutApprovers = (example ?? "").replace(/^ *approvers:.*\n/mu, "");
    expect(() => parseCatalog(withoutApprovers, "README.md")).toThrow('PROD_DB_URL allows "acme/*", a wildcard, but sets no approvers');
  });
});

describe("loadCatalog", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "jit-catalog-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads a catalog file", async () => {
    const path = join(FIXTURES, "valid.yml");
    const catalog = await loadCatalog(path);
    expect(catalog.file).toBe(path);
    expect([...catalog.secrets.keys()]).toEqual(["PROD_DB_URL", "STRIPE_API_KEY"]);
    expect(catalog.secrets.get("STRIPE_API_KEY")).toStrictEqual({
      name: "stripe_api_key",
      source: { kind: "file", path: "/run/secrets/stripe-api-key" },
      repositories: ["acme/billing", "acme/billing-?"],
      environments: ["production", "staging"],
      maxDurationMs: 90 * M,
      approvals: 1,
      approvers: [{ kind: "team", org: "acme", slug: "payments" }],
      requireProtectedEnvironment: true,
      bindToRequester: false,
    });
    expect(catalog.secrets.get("PROD_DB_URL")?.approvers).toEqual([
      { kind: "team", org: "acme", slug: "dba" },
      { kind: "user", login: "alice" },
    ]);
  });

  it("reports problems in the file with its path", async () => {
    const path = join(FIXTURES, "invalid.yml");
    const error = await configErrorAsync(() => loadCatalog(path));
    expect(error.file).toBe(path);
    expect(error.message).toBe(
      `${path}:6:19: secrets.PROD_DB_URL.max_duration: "forever" is not a duration: use whole numbers followed by d, h, m or s (write it like 90s, 15m, 2h, 1h30m or 1d)`,
    );
  });

  it("names the path and JIT_CATALOG when the file does not exist", async () => {
    const path = join(dir, "missing.yml");
    const error = await configErrorAsync(() => loadCatalog(path));
    expect(error.file).toBe(path);
    expect(error.message).toBe(`${path}:1:1: the catalog file does not exist; set JIT_CATALOG to the path of the operator catalog`);
    expect(error.cause).toEqual(expect.objectContaining({ code: "ENOENT" }));
  });

  it("refuses a directory", async () => {
    const error = await configErrorAsync(() => loadCatalog(dir));
    expect(error.message).toContain("the catalog is not a regular file; set JIT_CATALOG");
  });

  it("refuses a file over the size limit before reading it", async () => {
    const path = join(dir, "huge.yml");
    await writeFile(path, `#${"x".repeat(MAX_CATALOG_BYTES)}\n`);
    const error = await configErrorAsync(() => loadCatalog(path));
    expect(error.message).toContain(`the limit is ${MAX_CATALOG_BYTES} bytes`);
  });

  it("names JIT_CATALOG when no path is given", async () => {
    const error = await configErrorAsync(() => loadCatalog(""));
    expect(error.message).toContain("set JIT_CATALOG");
  });

  it("gives the system's reason when the file cannot be read", async () => {
    const notADirectory = join(dir, "plain-file");
    await writeFile(notADirectory, "");
    const path = join(notADirectory, "catalog.yml");
    const error = await configErrorAsync(() => loadCatalog(path));
    expect(error.message).toBe(`${path}:1:1: the catalog file cannot be read (ENOTDIR); check the path in JIT_CATALOG`);
  });
});

describe("parseCatalog: request_ttl and break_glass", () => {
  const secret = (extra: string) => `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: [acme/api]
    environments: [production]
    max_duration: 4h
${extra}`;
  it("reads them in milliseconds, and leaves them out when absent (24h and no break-glass)", () => {
    const read = parseCatalog(secret("    request_ttl: 2h\n    break_glass: {max_duration: 1h}\n"), "c.yml").secrets.get("PROD_DB_URL");
    expect(read).toMatchObject({ requestTtlMs: 7_200_000, breakGlass: { maxDurationMs: 3_600_000 } });
    const plain = parseCatalog(secret(""), "c.yml").secrets.get("PROD_DB_URL");
    expect(plain).not.toHaveProperty("requestTtlMs");
    expect(plain).not.toHaveProperty("breakGlass");
  });

  it.each([
    ["    request_ttl: 30s\n", "7:18: secrets.PROD_DB_URL.request_ttl: request_ttl must be from 1m to 30d"],
    ["    break_glass: {}\n", "7:5: secrets.PROD_DB_URL.break_glass.max_duration: break_glass.max_duration is required"],
    ["    break_glass:\n", "7:5: secrets.PROD_DB_URL.break_glass: break_glass is empty; expected a map with the keys: max_duration"],
  ])("refuses %j at its line", (extra, message) => {
    expect(() => parseCatalog(secret(extra), "c.yml")).toThrow(message);
  });
});

describe("parseCatalog: extension and notify_before", () => {
  const head = [
    "secrets:",
    "  PROD_DB_URL:",
    "    source: env:PROD_DB_URL",
    '    repositories: ["acme/api"]',
    "    environments: [production]",
    "    max_duration: 4h",
  ];

  it("reads them in milliseconds; neither is set unless written", () => {
    const secret = parseCatalog(doc(...head, "    extension: {max: 30m, times: 2}", "    notify_before: 15m"), FILE).secrets.get(
      "PROD_DB_URL",
    );
    expect(secret).toMatchObject({ extension: { maxMs: 30 * 60_000, times: 2 }, notifyBeforeMs: 15 * 60_000 });
    const plain = parseCatalog(doc(...head), FILE).secrets.get("PROD_DB_URL");
    expect(plain).not.toHaveProperty("extension");
    expect(plain).not.toHaveProperty("notifyBeforeMs");
  });

  it.each([
    [
      "    extension: {max: 30m}",
      7,
      5,
      "secrets.PROD_DB_URL.extension.times",
      "extension.times is required: how many times a grant may be extended, a whole number from 1 to 10",
    ],
    [
      "    extension: {times: 1}",
      7,
      5,
      "secrets.PROD_DB_URL.extension.max",
      "extension.max is required; write it like 90s, 15m, 2h or 1h30m",
    ],
    [
      "    extension: {max: 30m, times: 1.5}",
      7,
      34,
      "secrets.PROD_DB_URL.extension.times",
      "extension.times must be a whole number from 1 to 10",
    ],
    [
      "    extension: {max: 30m, times: 0}",
      7,
      34,
      "secrets.PROD_DB_URL.extension.times",
      "extension.times must be a whole number from 1 to 10",
    ],
    [
      "    extension: [30m, 1]",
      7,
      16,
      "secrets.PROD_DB_URL.extension",
      "extension must be a map with the keys max and times, e.g. {max: 30m, times: 1}",
    ],
    [
      "    notify_before: soon",
      7,
      20,
      "secrets.PROD_DB_URL.notify_before",
      '"soon" is not a duration: use whole numbers followed by d, h, m or s (write it like 90s, 15m, 2h, 1h30m or 1d)',
    ],
  ])("refuses %s at its line", (line, lineNo, column, path, message) => {
    expect(configError(() => parseCatalog(doc(...head, line), FILE)).problems).toEqual([{ line: lineNo, column, path, message }]);
  });
});
