import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { parseDocument, stringify } from "yaml";
import type { Catalog } from "../../src/policy/catalog.js";
import { DEFAULT_REPO_CONFIG } from "../../src/policy/repo-config.js";
import { firstInvisibleCharacter } from "../../src/request/invisible-characters.js";
import { parseRequests } from "../../src/request/parse-requests.js";
import { requestEntrySchema, requestsFileSchema } from "../../src/request/request-schema.js";
import { validateRequests } from "../../src/request/validate-requests.js";

const CATALOG: Catalog = {
  file: "jit-catalog.yml",
  secrets: new Map([
    [
      "PROD_DB_URL",
      {
        name: "PROD_DB_URL",
        source: { kind: "env", variable: "PROD_DB_URL" },
        repositories: ["acme/*"],
        environments: ["production"],
        maxDurationMs: 4 * 3_600_000,
        approvals: 2,
        approvers: [{ kind: "team", org: "acme", slug: "dba" }],
        requireProtectedEnvironment: false,
        bindToRequester: false,
      },
    ],
  ]),
};

/** What the file means as data, read as the parser reads it (YAML 1.2 core, no merge keys). */
function asData(text: string): unknown {
  return parseDocument(text, { version: "1.2", schema: "core", merge: false }).toJS() ?? {};
}

/** Fragments that make random text look like YAML, and like a requests file, often enough to matter. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "requests:",
        "\n",
        "\n  - ",
        "\n    ",
        "secret: ",
        "environment: ",
        "duration: ",
        "reason: ",
        "PROD_DB_URL",
        "production",
        "2h",
        "INC-42 look at the logs",
        "&a ",
        "*a",
        "!!str ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        ": ",
        "'",
        '"',
        "\\u202e",
        "\u202e",
        "\t",
        "# ",
        "---\n",
        "? ",
        "|\n",
        "~",
        "0x1F",
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));

const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), yamlish);

const value = fc.oneof(
  fc.constantFrom("PROD_DB_URL", "production", "2h", "  INC-1 padded reason  "),
  fc.string(),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }),
);
const generatedEntry = fc.oneof(
  fc.record({ secret: value, environment: value, duration: value, reason: value, approver: value }, { requiredKeys: [] }),
  fc.record({ secret: fc.string(), environment: fc.string(), duration: fc.string(), reason: fc.string() }),
  value,
);
const generatedFile = fc.oneof(
  fc.record({ requests: fc.oneof(fc.array(generatedEntry, { maxLength: 4 }), value) }, { requiredKeys: [] }),
  fc.record({ requests: fc.array(generatedEntry, { maxLength: 3 }), request: value }),
  value,
);

/** Strings whose trimmed text holds a tab or line break pass the schema but not the parser. */
function hasLayoutInside(data: unknown): boolean {
  if (typeof data === "string") return firstInvisibleCharacter(data) !== null;
  if (Array.isArray(data)) return data.some(hasLayoutInside);
  if (typeof data === "object" && data !== null) return Object.entries(data).some(([k, v]) => hasLayoutInside(k) || hasLayoutInside(v));
  return false;
}

describe("parseRequests on any input", () => {
  it("never throws, and accepts nothing the zod schema rejects", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const { entries, problems } = parseRequests(text);
        for (const entry of entries) {
          expect(
            requestEntrySchema.safeParse({
              secret: entry.secret,
              environment: entry.environment,
              duration: entry.duration,
              reason: entry.reason,
            }).success,
          ).toBe(true);
        }
        if (problems.length === 0) expect(requestsFileSchema.safeParse(asData(text)).success).toBe(true);
        for (const problem of problems) {
          expect(problem.line).toBeGreaterThanOrEqual(1);
          expect(problem.column).toBeGreaterThanOrEqual(1);
          expect(problem.message).not.toBe("");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with the zod schema on generated documents", () => {
    fc.assert(
      fc.property(generatedFile, (data) => {
        const text = stringify(data, { aliasDuplicateObjects: false });
        const { entries, problems } = parseRequests(text);
        const checked = requestsFileSchema.safeParse(asData(text));
        if (!checked.success) expect(problems).not.toEqual([]);
        if (checked.success && !hasLayoutInside(data)) {
          expect(problems).toEqual([]);
          expect(entries).toHaveLength(checked.data.requests?.length ?? 0);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("validateRequests on any input", () => {
  it("never throws, and accepts nothing the zod schema rejects", () => {
    fc.assert(
      fc.property(anyText, fc.option(anyText, { nil: null }), fc.boolean(), (headText, baseText, online) => {
        const result = validateRequests({
          file: "jit-requests.yml",
          headText,
          baseText,
          catalog: CATALOG,
          repoConfig: DEFAULT_REPO_CONFIG,
          repository: "acme/web",
          ...(online ? { environments: ["production"] } : {}),
        });
        if (result.problems.length === 0) expect(requestsFileSchema.safeParse(asData(headText)).success).toBe(true);
        if (result.removedOnly) expect(result.requests).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("never grants more than was written, on generated files", () => {
    fc.assert(
      fc.property(generatedFile, (data) => {
        const headText = stringify(data, { aliasDuplicateObjects: false });
        const result = validateRequests({
          file: "jit-requests.yml",
          headText,
          baseText: null,
          catalog: CATALOG,
          repoConfig: DEFAULT_REPO_CONFIG,
          repository: "acme/web",
        });
        for (const request of result.requests) {
          expect(request.secret.name).toBe("PROD_DB_URL");
          expect(request.durationMs).toBeLessThanOrEqual(4 * 3_600_000);
          expect(request.reason.length).toBeGreaterThanOrEqual(10);
        }
      }),
      { numRuns: 300 },
    );
  });
});
