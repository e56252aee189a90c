import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Catalog } from "../../../src/policy/catalog.js";
import { parseCatalog } from "../../../src/policy/load-catalog.js";
import { DEFAULT_REPO_CONFIG } from "../../../src/policy/repo-config.js";
import { type ValidationResult, validateRequests } from "../../../src/request/validate-requests.js";

/** test/fixtures/hostile/ */
export const HOSTILE_FIXTURES = fileURLToPath(new URL("../../fixtures/hostile/", import.meta.url));

export function readFixture(path: string): string {
  return readFileSync(`${HOSTILE_FIXTURES}${path}`, "utf8");
}

/** PROD_DB_URL for acme/*, environments production and staging, 5m to 4h, one approval. */
export const HOSTILE_CATALOG: Catalog = parseCatalog(readFixture("catalog.yml"), "jit-catalog.yml");

/** The existing environments of acme/api in every hostile test. */
export const ENVIRONMENTS = ["production", "staging"] as const;

/** A new requests file in acme/api, judged online (environments known) as the app judges it. */
export function validateHostile(headText: string, catalog: Catalog = HOSTILE_CATALOG): ValidationResult {
  return validateRequests({
    file: "jit-requests.yml",
    headText,
    baseText: null,
    catalog,
    repoConfig: DEFAULT_REPO_CONFIG,
    repository: "acme/api",
    environments: ENVIRONMENTS,
  });
}

export interface EntryFields {
  secret: string;
  environment: string;
  duration: string;
  reason: string;
}

/**
 * A requests file with one entry, each value written exactly as given (so YAML escapes, quotes
 * and tags in a value take effect): secret on line 2, environment 3, duration 4, reason 5.
 */
export function oneEntry(fields: Partial<EntryFields> = {}): string {
  const entry: EntryFields = {
    secret: "PROD_DB_URL",
    environment: "production",
    duration: "2h",
    reason: '"INC-4211: inspect stuck migrations"',
    ...fields,
  };
  return [
    "requests:",
    `  - secret: ${entry.secret}`,
    `    environment: ${entry.environment}`,
    `    duration: ${entry.duration}`,
    `    reason: ${entry.reason}`,
    "",
  ].join("\n");
}

/** `L<line>: <message>` for each problem: what a check run's annotations show. */
export function placed(result: ValidationResult): string[] {
  return result.problems.map((problem) => `L${problem.line}: ${problem.message}`);
}
