/**
 * Property tests for the two other parsers that read text the app does not control: the
 * operator catalog and CODEOWNERS (written by repository users). Neither may throw anything but
 * its documented error on arbitrary text, and neither may accept what its rules refuse.
 * (The requests file has its own in test/request/requests-properties.test.ts.)
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import type { Catalog } from "../../src/policy/catalog.js";
import { catalogSchema } from "../../src/policy/catalog-schema.js";
import { ConfigError } from "../../src/policy/config-error.js";
import { patternProblem } from "../../src/approve/codeowners-pattern.js";
import { formatOwner, ownersFor, parseCodeowners } from "../../src/approve/codeowners.js";
import { MAX_APPROVALS } from "../../src/policy/config-fields.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { repeatedBranchingGroup } from "../../src/policy/repeated-group.js";
import { canonicalSecretName, secretNameProblem } from "../../src/policy/secret-name.js";

/** Text that looks like YAML (and like a catalog) often enough to get past the first checks. */
const catalogish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "secrets:",
        "\n",
        "\n  ",
        "\n    ",
        "PROD_DB_URL:",
        "prod_db_url:",
        "GITHUB_TOKEN:",
        "source: ",
        "env:PROD_DB_URL",
        "file:/run/x",
        "file:rel",
        "repositories: ",
        '["acme/*"]',
        '["*"]',
        "[*/*]",
        "environments: ",
        "[production]",
        "max_duration: ",
        "4h",
        "0s",
        "min_duration: ",
        "5m",
        "approvals: ",
        "2",
        "1000",
        "reason_pattern: ",
        "'^INC-\\d+'",
        "'(a+)+'",
        "&a ",
        "*a",
        "!!str ",
        "approvers: ",
        '["@acme/dba"]',
        "[@bob]",
        '["a@b.co"]',
        "'@Acme/DBA'",
        "require_protected_environment: ",
        "true",
        "yes",
        "[",
        "]",
        "{",
        "}",
        ", ",
        ": ",
        "- ",
        "'",
        '"',
        "#",
        "---\n",
        "~",
        "\t",
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));
const VALID_CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@acme/dba", "@alice"]
    environments: [production]
    max_duration: 4h
    min_duration: 5m
    approvals: 2
    reason_pattern: '^INC-\\d+'
    require_protected_environment: true
`;
/** The valid catalog with one slice replaced by a fragment: mostly one small mistake away. */
const mutatedCatalog = fc
  .tuple(fc.nat(VALID_CATALOG.length), fc.nat(12), fc.oneof(catalogish, fc.constant("")))
  .map(([at, cut, insert]) => VALID_CATALOG.slice(0, at) + insert + VALID_CATALOG.slice(at + cut));
const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), catalogish, mutatedCatalog);

/** A value that is usually right for its key, and sometimes anything at all. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: anything, weight: 1 });
const anything = fc.oneof(
  fc.constantFrom("env:$(id)", "file:x", "0s", "1e9h", "*", "", "(a+)+", "[", "(a|b)+c", "GITHUB_TOKEN"),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -2, max: 12 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const secretPolicy = fc.record(
  {
    source: mostly(fc.constantFrom("env:PROD_DB_URL", "file:/run/secrets/x", "env:_A1")),
    repositories: mostly(fc.array(mostly(fc.constantFrom("acme/*", "*/*", "acme/api", "a-b/c.d?")), { minLength: 1, maxLength: 3 })),
    environments: mostly(fc.array(mostly(fc.constantFrom("production", "staging eu", "qa")), { minLength: 1, maxLength: 2 })),
    max_duration: mostly(fc.constantFrom("4h", "90s", "1d12h")),
    min_duration: mostly(fc.constantFrom("5m", "1s", "2d")),
    approvals: mostly(fc.integer({ min: 1, max: 10 })),
    reason_pattern: mostly(fc.constantFrom("^INC-\\d+", "^(INC|CHG)-\\d+", "x{2,}")),
    approvers: mostly(
      fc.array(
        mostly(fc.constantFrom("@acme/dba", "@alice", "@Alice", "@acme/site.reliability", "dba@acme.example", "acme/dba", "@acme/")),
        {
          minLength: 0,
          maxLength: 3,
        },
      ),
    ),
    require_protected_environment: mostly(fc.boolean()),
  },
  { requiredKeys: ["source", "repositories", "environments", "max_duration"] },
);
const secretName = fc.oneof(
  { arbitrary: fc.constantFrom("PROD_DB_URL", "prod_db_url", "STRIPE_KEY", "_X"), weight: 12 },
  { arbitrary: fc.constantFrom("GITHUB_X", "1A", "A-B", "\u0420ROD", ""), weight: 1 },
  { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
);
const generatedCatalog = fc.oneof(
  { arbitrary: fc.record({ secrets: fc.dictionary(secretName, secretPolicy, { minKeys: 1, maxKeys: 3 }) }), weight: 5 },
  { arbitrary: fc.record({ secrets: anything }), weight: 1 },
  { arbitrary: anything, weight: 1 },
);

function load(text: string): Catalog | ConfigError {
  try {
    return parseCatalog(text, "jit-catalog.yml");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/u;
const REPOSITORY_GLOB = /^[A-Za-z0-9\-*?]+\/[A-Za-z0-9._\-*?]+$/u;
const APPROVER_FORMS = [/^@[A-Za-z0-9][A-Za-z0-9_-]*$/u, /^@[A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/u];

/** What every loaded catalog must satisfy, whatever text it came from. */
function expectSound(catalog: Catalog): void {
  for (const [key, secret] of catalog.secrets) {
    expect(secretNameProblem(secret.name)).toBeNull();
    expect(key).toBe(canonicalSecretName(secret.name));
    if (secret.source.kind === "env") expect(secret.source.variable).toMatch(ENV_VARIABLE);
    else expect(secret.source.path.startsWith("/")).toBe(true);
    expect(secret.repositories.length).toBeGreaterThan(0);
    for (const glob of secret.repositories) expect(glob).toMatch(REPOSITORY_GLOB);
    expect(secret.environments.length).toBeGreaterThan(0);
    expect(secret.maxDurationMs).toBeGreaterThan(0);
    if (secret.minDurationMs !== undefined) expect(secret.minDurationMs).toBeLessThanOrEqual(secret.maxDurationMs);
    expect(Number.isInteger(secret.approvals) && secret.approvals >= 1 && secret.approvals <= MAX_APPROVALS).toBe(true);
    if (secret.reasonPattern !== undefined) {
      expect(() => new RegExp(secret.reasonPattern as string, "u")).not.toThrow();
      expect(repeatedBranchingGroup(secret.reasonPattern)).toBeNull();
    }
    // A wildcard never loads without approvers; approvers are never empty, never emails, never repeated.
    if (secret.repositories.some((glob) => /[*?]/u.test(glob))) expect(secret.approvers).not.toBeNull();
    if (secret.approvers !== null) {
      const written = secret.approvers.map((approver) => formatOwner(approver));
      expect(written.length).toBeGreaterThan(0);
      for (const text of written) expect(APPROVER_FORMS.some((form) => form.test(text))).toBe(true);
      expect(new Set(written.map((text) => text.toLowerCase())).size).toBe(written.length);
    }
    expect(typeof secret.requireProtectedEnvironment).toBe("boolean");
  }
}

describe("parseCatalog on any input", () => {
  it("throws nothing but a placed ConfigError, and loads only sound catalogs the schema accepts", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const loaded = load(text);
        if (loaded instanceof ConfigError) {
          expect(loaded.problems.length).toBeGreaterThan(0);
          for (const problem of loaded.problems) {
            expect(problem.line).toBeGreaterThanOrEqual(1);
            expect(problem.column).toBeGreaterThanOrEqual(1);
            expect(problem.message).not.toBe("");
          }
          return;
        }
        expect(catalogSchema.safeParse(parse(text)).success).toBe(true);
        expectSound(loaded);
      }),
      { numRuns: 1_000 },
    );
  });

  it("agrees with the zod schema on generated catalogs, both ways", () => {
    fc.assert(
      fc.property(generatedCatalog, (data) => {
        const text = stringify(data, { aliasDuplicateObjects: false });
        const loaded = load(text);
        const checked = catalogSchema.safeParse(parse(text));
        expect(loaded instanceof ConfigError).toBe(!checked.success);
        if (!(loaded instanceof ConfigError)) expectSound(loaded);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** CODEOWNERS-like lines: patterns, owners, comments, and the mistakes GitHub skips. */
const codeownersLine = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "*",
        "**",
        "/",
        "docs/",
        "/docs/",
        "*.yml",
        "jit-requests.yml",
        "/jit-requests.yml",
        "a/**/b",
        "\\#x",
        "!x",
        "[Section]",
        "#",
        "\\ ",
        "*?*?z",
        " ",
        "\t",
        "@alice",
        "@acme/dba",
        "@acme/",
        "dba@example.com",
        "alice",
        "@bob,",
        "# comment",
        "\r",
      ),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(" "));
const codeownersText = fc.oneof(
  fc.array(codeownersLine, { maxLength: 12 }).map((lines) => lines.join("\n")),
  fc.string({ unit: "binary", maxLength: 300 }),
);
const path = fc.oneof(fc.constantFrom("jit-requests.yml", ".github/jit-requests.yml", "docs/a.md", "a/b/c"), fc.string({ maxLength: 20 }));

const OWNER_FORMS = [
  /^@[A-Za-z0-9][A-Za-z0-9_-]*$/u,
  /^@[A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/u,
  /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/u,
];

describe("parseCodeowners on any input", () => {
  it("never throws, keeps only lines GitHub would use, and reports each skipped line once", () => {
    fc.assert(
      fc.property(codeownersText, path, (text, file) => {
        const { rules, errors } = parseCodeowners(text);
        const lineCount = text.split("\n").length;
        const ruleLines = new Set(rules.map((rule) => rule.line));
        for (const rule of rules) {
          expect(rule.line).toBeGreaterThanOrEqual(1);
          expect(rule.line).toBeLessThanOrEqual(lineCount);
          expect(patternProblem(rule.pattern)).toBeNull();
          expect(text.split("\n")[rule.line - 1]).toContain(rule.pattern);
          for (const owner of rule.owners) expect(OWNER_FORMS.some((form) => form.test(formatOwner(owner)))).toBe(true);
        }
        for (const error of errors) {
          expect(error.message.startsWith(`line ${error.line}: `)).toBe(true);
          expect(ruleLines.has(error.line)).toBe(false);
        }
        expect(new Set(errors.map((error) => error.line)).size).toBe(errors.length);
        const { rule } = ownersFor(rules, file);
        expect(rule === null || rules.includes(rule)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
