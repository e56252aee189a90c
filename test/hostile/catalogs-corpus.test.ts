/**
 * The hostile catalog corpus (test/fixtures/hostile/catalogs/): every file must make
 * `parseCatalog` throw a ConfigError with exactly the problems listed (line, path and message
 * fragment, in order), or load for the reason given. The catalog is the operator's, so these
 * are mistakes and copy-paste accidents more than attacks, but the app must not start with a
 * catalog it only half understood. docs/reliability/hostile-input.md describes the same table.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import { ConfigError } from "../../src/policy/config-error.js";
import { MAX_CATALOG_BYTES, parseCatalog } from "../../src/policy/load-catalog.js";
import { HOSTILE_FIXTURES, readFixture } from "./helpers/validate-hostile.js";

type Refused = { file: string; refused: Array<[line: number, path: string, fragment: string]>; total?: number };
type Loaded = { file: string; loads: string };

const SOURCE = "secrets.PROD_DB_URL.source";
const PATTERN = "secrets.PROD_DB_URL.reason_pattern";
const NESTED = "reason_pattern repeats a group that itself repeats or branches";

const CATALOGS: Array<Refused | Loaded> = [
  {
    file: "01-billion-laughs.yml",
    refused: [
      [1, "", "anchors (&a0) are not allowed; write each value out in full"],
      [2, "", "anchors (&a1) are not allowed"],
      [2, "", "aliases (*a0) are not allowed"],
    ],
    total: 82,
  },
  { file: "02-source-file-relative.yml", refused: [[3, SOURCE, "file: must be an absolute path, e.g. file:/run/secrets/prod-db-url"]] },
  { file: "03-source-file-traversal.yml", refused: [[3, SOURCE, "file: must be an absolute path"]] },
  {
    file: "04-source-env-command-substitution.yml",
    refused: [[3, SOURCE, "env: must name an environment variable (letters, digits and _, not starting with a digit)"]],
  },
  { file: "05-source-env-parameter-expansion.yml", refused: [[3, SOURCE, "env: must name an environment variable"]] },
  {
    file: "06-secret-named-github-token.yml",
    refused: [[2, "secrets.GITHUB_TOKEN", "secret names must not start with GITHUB_ (reserved by GitHub)"]],
  },
  {
    file: "07-repositories-star.yml",
    refused: [
      [
        4,
        "secrets.PROD_DB_URL.repositories[0]",
        '"*" is not a glob over owner/name and would match no repository, because * does not match the / between owner and name; write */* to allow every repository',
      ],
    ],
  },
  {
    file: "08-repositories-regex-syntax.yml",
    refused: [
      [4, "secrets.PROD_DB_URL.repositories[0]", '"acme/(api|web)" is not a glob over owner/name; write it like acme/* or acme/api'],
    ],
  },
  { file: "09-max-duration-zero.yml", refused: [[6, "secrets.PROD_DB_URL.max_duration", '"0s" is not a duration: it is zero']] },
  { file: "10-approvals-thousand.yml", refused: [[7, "secrets.PROD_DB_URL.approvals", "approvals must be a whole number from 1 to 10"]] },
  {
    file: "11-names-differ-in-case.yml",
    refused: [
      [8, "secrets.prod_db_url", '"prod_db_url" and "PROD_DB_URL" are the same secret (GitHub secret names ignore case); keep one'],
    ],
  },
  {
    file: "12-reason-pattern-nested-quantifier.yml",
    refused: [[7, PATTERN, `${NESTED}, (a+)+, which can take minutes to test against a crafted reason`]],
  },
  { file: "13-reason-pattern-repeated-alternation.yml", refused: [[7, PATTERN, `${NESTED}, (a|aa)+,`]] },
  { file: "14-deep-nesting.yml", refused: [[1, "", "lists and maps are nested more than 8 levels deep; the catalog needs far fewer"]] },
  { file: "15-tag-js-function.yml", refused: [[3, "", "Unresolved tag: tag:yaml.org,2002:js/function"]] },
  {
    file: "16-merge-key-alias.yml",
    refused: [
      [1, "", "anchors (&d) are not allowed"],
      [5, "", "aliases (*d) are not allowed"],
    ],
  },
  {
    file: "17-value-inline.yml",
    refused: [
      [
        7,
        "secrets.PROD_DB_URL.value",
        'unknown key "value"; allowed keys are: source, repositories, environments, max_duration, min_duration, approvals, approvers, reason_pattern, require_protected_environment',
      ],
    ],
  },
  {
    file: "18-multiple-documents.yml",
    refused: [[7, "", "the catalog must be a single YAML document, and the file has multiple documents: remove the second one from here"]],
  },
  {
    file: "19-min-duration-over-max.yml",
    refused: [[7, "secrets.PROD_DB_URL.min_duration", "min_duration must not be longer than max_duration"]],
  },
  { file: "20-source-missing.yml", refused: [[2, SOURCE, "source is required; write env:VARIABLE or file:/absolute/path"]] },
  { file: "21-secrets-as-list.yml", refused: [[2, "secrets", "secrets must be a map from each secret's name to its policy"]] },
  { file: "22-empty.yml", refused: [[1, "", "the catalog is empty; expected a map with the keys: secrets"]] },
  {
    file: "23-invisible-in-environment.yml",
    loads: "operator text; no request can name an environment with a zero-width space (requests refuse it), so it fails closed",
  },
  {
    file: "24-repositories-every.yml",
    loads: "*/* is every repository the app is installed on: a legitimate operator choice, with approvers",
  },
  {
    file: "25-reason-pattern-polynomial.yml",
    refused: [[7, PATTERN, "reason_pattern takes over 100 ms in JavaScript's own engine on a crafted reason of 500 characters"]],
  },
  {
    file: "26-wildcard-without-approvers.yml",
    refused: [
      [
        4,
        "secrets.PROD_DB_URL.repositories[1]",
        'PROD_DB_URL allows "acme/*", a wildcard, but sets no approvers: a repository created later that matches it brings its own CODEOWNERS, so its code owners alone would let anyone who can create a repository approve for it. Set approvers on PROD_DB_URL',
      ],
    ],
  },
  {
    file: "27-approvers-email.yml",
    refused: [
      [
        5,
        "secrets.PROD_DB_URL.approvers[0]",
        '"dba-team@acme.example" is an email address; approvers are GitHub accounts and teams, and an email cannot be matched to the account that reviews: write @user or @org/team',
      ],
    ],
  },
  {
    file: "28-approvers-unquoted.yml",
    refused: [[5, "", 'YAML needs quotes around a value that starts with @: write "@acme/dba", not @acme/dba']],
  },
  {
    file: "29-approvers-empty.yml",
    refused: [
      [
        5,
        "secrets.PROD_DB_URL.approvers",
        'approvers must list at least one @org/team or @user, e.g. ["@acme/dba"]; remove the key to let any code owner of the requests file approve',
      ],
    ],
  },
  {
    file: "30-require-protected-environment-yes.yml",
    refused: [[8, "secrets.PROD_DB_URL.require_protected_environment", "require_protected_environment must be true or false"]],
  },
  // Request lapse and break-glass.
  { file: "51-request-ttl-not-a-duration.yml", refused: [[7, "secrets.PROD_DB_URL.request_ttl", '"1y" is not a duration']] },
  { file: "52-request-ttl-too-long.yml", refused: [[7, "secrets.PROD_DB_URL.request_ttl", "request_ttl must be from 1m to 30d"]] },
  {
    file: "53-break-glass-boolean.yml",
    refused: [[7, "secrets.PROD_DB_URL.break_glass", "break_glass must be a map with the keys: max_duration"]],
  },
  {
    file: "54-break-glass-longer-than-max.yml",
    refused: [
      [7, "secrets.PROD_DB_URL.break_glass.max_duration", "break_glass.max_duration must not be longer than the secret's max_duration"],
    ],
  },
  {
    file: "55-break-glass-unknown-key.yml",
    refused: [[7, "secrets.PROD_DB_URL.break_glass.approvals", 'unknown key "approvals"; allowed keys are: max_duration']],
  },
  {
    file: "56-extension-times-unbounded.yml",
    refused: [[7, "secrets.PROD_DB_URL.extension.times", "extension.times must be a whole number from 1 to 10"]],
  },
  {
    file: "57-extension-unknown-key.yml",
    refused: [[10, "secrets.PROD_DB_URL.extension.requester_only", 'unknown key "requester_only"; allowed keys are: max, times']],
  },
  {
    file: "58-extension-yes.yml",
    refused: [[7, "secrets.PROD_DB_URL.extension", "extension must be a map with the keys max and times, e.g. {max: 30m, times: 1}"]],
  },
  {
    file: "59-notify-before-negative.yml",
    refused: [[7, "secrets.PROD_DB_URL.notify_before", '"-10m" is not a duration: it is negative']],
  },
];

function loadProblems(text: string): ConfigError["problems"] | "loaded" {
  try {
    parseCatalog(text, "jit-catalog.yml");
    return "loaded";
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("the hostile catalog corpus", () => {
  it("has a row for every file, and a file for every row", () => {
    const files = readdirSync(`${HOSTILE_FIXTURES}catalogs`).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(CATALOGS.map((row) => row.file)).toEqual(files);
  });

  it.each(CATALOGS.filter((row): row is Refused => "refused" in row))("$file is refused", ({ file, refused, total }) => {
    const problems = loadProblems(readFixture(`catalogs/${file}`));
    if (problems === "loaded") throw new Error(`${file} loaded`);
    expect(problems).toHaveLength(total ?? refused.length);
    refused.forEach(([line, path, fragment], i) => {
      expect(problems[i]).toMatchObject({ line, path });
      expect(problems[i]?.message).toContain(fragment);
    });
  });

  it.each(CATALOGS.filter((row): row is Loaded => "loads" in row))("$file loads: $loads", ({ file }) => {
    expect(loadProblems(readFixture(`catalogs/${file}`))).toBe("loaded");
  });

  it("refuses a 2 MiB catalog by size, before parsing it", () => {
    const text = `secrets:\n${"# padding\n".repeat((2 * 1024 * 1024) / 10)}`;
    const bytes = Buffer.byteLength(text);
    expect(loadProblems(text)).toEqual([
      { line: 1, column: 1, path: "", message: `the catalog is ${bytes} bytes; the limit is ${MAX_CATALOG_BYTES} bytes` },
    ]);
  });

  it("never echoes a value written where a key or source belongs", () => {
    for (const file of ["17-value-inline.yml", "04-source-env-command-substitution.yml"]) {
      const problems = loadProblems(readFixture(`catalogs/${file}`));
      expect(JSON.stringify(problems)).not.toMatch(/hunter2|cat \/etc\/passwd/u);
    }
  });
});
