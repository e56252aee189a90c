/**
 * The hostile requests corpus (test/fixtures/hostile/requests/): every file, validated as the app
 * validates a new requests file in acme/api against test/fixtures/hostile/catalog.yml, must
 * produce exactly the problems listed here (line and message fragment, in order) or be accepted
 * for the reason given. docs/reliability/hostile-input.md describes the same table.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import { MAX_REPORTED_PROBLEMS } from "../../src/request/request-messages.js";
import { HOSTILE_FIXTURES, readFixture, validateHostile } from "./helpers/validate-hostile.js";

type Refused = { file: string; refused: Array<[line: number, fragment: string]>; total?: number };
type Accepted = { file: string; accepted: number; why: string };
type CorpusCase = Refused | Accepted;

const DURATION_HINT = "(write it like 90s, 15m, 2h, 1h30m or 1d)";
const NOT_A_NAME = "is not a secret name: secret names may contain only letters, digits and _";
const HIDDEN = "contains invisible control or bidi characters";
const CANNOT_GO = "PROD_DB_URL cannot be granted to environment";

const CORPUS: CorpusCase[] = [
  {
    file: "01-billion-laughs.yml",
    refused: [
      [2, "YAML anchors (&a0) are not allowed"],
      [3, "YAML anchors (&a1) are not allowed"],
      [3, "YAML aliases (*a0) are not allowed"],
    ],
    total: MAX_REPORTED_PROBLEMS,
  },
  {
    file: "02-alias-bomb-in-entries.yml",
    refused: [
      [3, "YAML anchors (&e) are not allowed"],
      [7, "YAML aliases (*e) are not allowed"],
    ],
    total: MAX_REPORTED_PROBLEMS,
  },
  { file: "03-deep-flow-nesting.yml", refused: [[1, "lists and maps are nested more than 8 levels deep"]] },
  { file: "04-deep-block-nesting.yml", refused: [[9, "lists and maps are nested more than 8 levels deep"]] },
  { file: "05-deep-flow-maps.yml", refused: [[1, "lists and maps are nested more than 8 levels deep"]] },
  { file: "06-reason-bidi-override.yml", refused: [[5, `this line ${HIDDEN} (U+202E)`]] },
  { file: "07-reason-bidi-isolate.yml", refused: [[5, `this line ${HIDDEN} (U+2066)`]] },
  { file: "08-reason-bidi-escaped.yml", refused: [[5, `reason ${HIDDEN} (U+2067)`]] },
  { file: "09-reason-ansi-escape.yml", refused: [[5, `reason ${HIDDEN} (U+001B)`]] },
  { file: "10-reason-zero-width-space.yml", refused: [[5, `this line ${HIDDEN} (U+200B)`]] },
  { file: "11-secret-zero-width-joiner.yml", refused: [[2, `this line ${HIDDEN} (U+200D)`]] },
  { file: "12-environment-zero-width-escaped.yml", refused: [[3, `environment ${HIDDEN} (U+200B)`]] },
  { file: "13-secret-path-traversal.yml", refused: [[2, `"../PROD_DB_URL" ${NOT_A_NAME}`]] },
  { file: "14-secret-path-inside.yml", refused: [[2, `"PROD_DB_URL/../../x" ${NOT_A_NAME}`]] },
  { file: "15-secret-percent-encoded.yml", refused: [[2, `"PROD_DB_URL%2F" ${NOT_A_NAME}`]] },
  { file: "16-secret-nul-escaped.yml", refused: [[2, `secret ${HIDDEN} (U+0000)`]] },
  {
    file: "17-key-cyrillic-lookalike.yml",
    refused: [
      [2, "this request has no secret: add secret: PROD_DB_URL"],
      [2, 'unknown key "\u0455ecret" ("\u0455" is U+0455, not ASCII): did you mean secret?'],
    ],
  },
  {
    file: "18-key-fullwidth.yml",
    refused: [
      [2, "this request has no secret"],
      [
        2,
        'unknown key "\uFF53\uFF45\uFF43\uFF52\uFF45\uFF54" ("\uFF53" is U+FF53, not ASCII): the keys here are secret, environment, duration, reason',
      ],
    ],
  },
  {
    file: "19-secret-cyrillic-lookalike.yml",
    refused: [[2, `"\u0420ROD_DB_URL" ${NOT_A_NAME} (ASCII only; "\u0420" is U+0420); did you mean PROD_DB_URL?`]],
  },
  {
    file: "20-secret-reserved-github-prefix.yml",
    refused: [[2, '"GITHUB_TOKEN" is not a secret name: secret names must not start with GITHUB_']],
  },
  {
    file: "21-secret-similar-name.yml",
    refused: [[2, "PROD_DB_URI is not in the catalog of secrets this app can grant; did you mean PROD_DB_URL?"]],
  },
  {
    file: "22-duration-exponent.yml",
    refused: [[4, `"1e9h" is not a duration: use whole numbers followed by d, h, m or s ${DURATION_HINT}`]],
  },
  { file: "23-duration-negative.yml", refused: [[4, `"-5m" is not a duration: it is negative ${DURATION_HINT}`]] },
  { file: "24-duration-hex.yml", refused: [[4, '"0x10m" is not a duration: use whole numbers']] },
  { file: "25-duration-decimal.yml", refused: [[4, '"1.5h" is not a duration: use whole numbers']] },
  { file: "26-duration-infinity-sign.yml", refused: [[4, '"\u221E" is not a duration: use whole numbers']] },
  { file: "27-duration-nan.yml", refused: [[4, '"NaN" is not a duration: use whole numbers']] },
  { file: "28-duration-too-many-digits.yml", refused: [[4, '"99999999999s" is not a duration: the number is too large']] },
  { file: "29-duration-spaces.yml", refused: [[4, '"1h 30m" is not a duration: use whole numbers']] },
  { file: "30-duration-yaml-infinity.yml", refused: [[4, "duration must be text such as 2h, not the number Infinity"]] },
  { file: "31-duration-iso8601.yml", refused: [[4, '"PT2H" is not a duration: use whole numbers']] },
  { file: "32-duration-zero.yml", refused: [[4, '"0s" is not a duration: it is zero']] },
  { file: "33-duration-over-a-year.yml", refused: [[4, '"999999d" is not a duration: it is longer than a year']] },
  {
    file: "34-duration-units-out-of-order.yml",
    refused: [[4, '"30m1h" is not a duration: units must appear once each, in the order d, h, m, s']],
  },
  { file: "35-duplicate-keys.yml", refused: [[6, "YAML syntax error: Map keys must be unique"]] },
  {
    file: "36-tag-js-function.yml",
    refused: [[5, "YAML tags (!!js/function) are not allowed in a requests file; write the value as plain text"]],
  },
  { file: "37-tag-python-object.yml", refused: [[2, "YAML tags (!!python/object/apply:os.system) are not allowed"]] },
  {
    file: "38-merge-key-with-alias.yml",
    refused: [
      [2, "YAML anchors (&d) are not allowed"],
      [5, "YAML aliases (*d) are not allowed"],
    ],
  },
  {
    file: "39-merge-key-inline.yml",
    refused: [
      [2, "this request has no environment"],
      [2, "this request has no duration"],
      [2, 'unknown key "<<": the keys here are secret, environment, duration, reason'],
    ],
  },
  { file: "40-multiple-documents.yml", refused: [[2, "a requests file is a single YAML document, and a second one starts here"]] },
  { file: "41-bom.yml", accepted: 1, why: "a byte order mark that starts the file is what some editors write; YAML reads past it" },
  { file: "42-crlf.yml", accepted: 1, why: "CRLF line endings are layout (Windows editors); values are trimmed of them and carry none" },
  {
    file: "43-tab-indentation.yml",
    refused: [
      [2, "YAML syntax error: Tabs are not allowed as indentation"],
      [3, "Tabs are not allowed as indentation"],
      [4, "Tabs"],
      [5, "Tabs"],
    ],
  },
  { file: "44-empty.yml", accepted: 0, why: "an empty file requests nothing (removing every entry is a clean-up)" },
  { file: "45-only-comments.yml", accepted: 0, why: "comments request nothing" },
  { file: "46-json-flavoured.yml", accepted: 1, why: "JSON is YAML; the same entry in flow style means the same" },
  { file: "47-top-level-list.yml", refused: [[1, "the file must be a map with a requests: list, not a list"]] },
  { file: "48-requests-null.yml", accepted: 0, why: "requests: with no value is an empty list" },
  { file: "49-number-for-secret.yml", refused: [[2, "secret must be text such as PROD_DB_URL, not the number 12345"]] },
  {
    file: "50-boolean-words.yml",
    refused: [
      [3, `${CANNOT_GO} "yes"`],
      [3, 'environment "yes" does not exist in acme/api'],
      [5, "reason is 2 characters"],
    ],
  },
  {
    file: "51-boolean-true.yml",
    refused: [[3, "environment must be text such as production, not true (write it in quotes if you mean the word)"]],
  },
  { file: "52-reason-only-spaces.yml", refused: [[5, "reason is empty: say why you need the secret"]] },
  { file: "53-reason-too-short.yml", refused: [[5, "reason is 6 characters; write at least 10"]] },
  {
    file: "54-environment-expression.yml",
    refused: [
      [3, `${CANNOT_GO} "\${{ secrets.PROD_DB_URL }}"`],
      [3, 'environment "${{ secrets.PROD_DB_URL }}" does not exist in acme/api'],
    ],
  },
  {
    file: "55-reason-html-injection.yml",
    accepted: 1,
    why: "a reason is free text; check runs and comments escape it (see the rendering test)",
  },
  {
    file: "56-reason-team-mention.yml",
    accepted: 1,
    why: "a reason is free text; a zero-width space after each @ keeps it from notifying",
  },
  { file: "57-reason-javascript-link.yml", accepted: 1, why: "a reason is free text; escaped brackets keep it from becoming a link" },
  { file: "58-value-smuggled.yml", refused: [[6, 'unknown key "value": the keys here are secret, environment, duration, reason']] },
  { file: "59-top-level-typo.yml", refused: [[1, 'unknown key "request": did you mean requests?']] },
  { file: "60-complex-key.yml", refused: [[2, "keys must be plain words such as secret or reason, not lists or maps"]] },
  { file: "61-local-tag.yml", refused: [[2, "YAML tags (!secret) are not allowed"]] },
  {
    file: "62-yaml-1-1-directive.yml",
    refused: [
      [5, `${CANNOT_GO} "on"`],
      [5, 'environment "on" does not exist'],
    ],
  },
  {
    file: "63-duplicate-requests.yml",
    refused: [[6, "PROD_DB_URL for Production is already requested on line 2; remove one of the two entries"]],
  },
  { file: "64-line-separator-in-reason.yml", refused: [[5, `this line ${HIDDEN} (U+2028)`]] },
  { file: "65-c1-control-nel.yml", refused: [[5, `this line ${HIDDEN} (U+0085)`]] },
  { file: "66-soft-hyphen-in-environment.yml", refused: [[3, `this line ${HIDDEN} (U+00AD)`]] },
  { file: "67-tag-characters-in-reason.yml", refused: [[5, `this line ${HIDDEN} (U+E0069)`]] },
  { file: "68-requests-map.yml", refused: [[2, 'requests must be a list of entries, each starting with "- secret:", not a map']] },
  { file: "69-unclosed-quote.yml", refused: [[6, 'YAML syntax error: Missing closing "quote']] },
  {
    file: "70-environment-not-in-catalog.yml",
    refused: [
      [3, `${CANNOT_GO} "staging-eu"; the catalog allows: production, staging`],
      [3, 'environment "staging-eu" does not exist in acme/api; existing environments: production, staging'],
    ],
  },
  { file: "71-over-max-duration.yml", refused: [[4, "duration 1d is over the limit of 4h for PROD_DB_URL; ask for 4h or less"]] },
  {
    file: "72-environment-cyrillic-lookalike.yml",
    refused: [
      [3, `${CANNOT_GO} "\u0440roduction" ("\u0440" is U+0440, not ASCII)`],
      [3, 'environment "\u0440roduction" ("\u0440" is U+0440, not ASCII) does not exist'],
    ],
  },
  { file: "73-reason-emoji-variation-selector.yml", refused: [[5, `this line ${HIDDEN} (U+FE0F)`]] },
  { file: "74-reason-over-500-characters.yml", refused: [[5, "reason is 501 characters; keep it to 500"]] },
  { file: "75-secret-value-as-name.yml", refused: [[2, `"postgres://app:pw@db/prod" ${NOT_A_NAME}`]] },
  { file: "76-entry-as-string.yml", refused: [[2, "each request must be a map with secret, environment, duration and reason, not text"]] },
  {
    file: "77-flow-entry-missing-comma.yml",
    refused: [[2, "YAML syntax error: Block collections are not allowed within flow collections"]],
  },
  // break_glass: only the YAML boolean true asks for it, and only where the catalog allows it.
  { file: "91-break-glass-as-text.yml", refused: [[6, "break_glass must be true or false, not text"]] },
  { file: "92-break-glass-as-number.yml", refused: [[6, "break_glass must be true or false, not the number 1"]] },
  { file: "93-break-glass-as-list.yml", refused: [[6, "break_glass must be true or false, not a list"]] },
  {
    file: "94-break-glass-not-allowed.yml",
    refused: [[6, "PROD_DB_URL does not allow break-glass (the catalog sets no break_glass for it); remove break_glass: true"]],
  },
  { file: "95-break-glass-case-twin.yml", refused: [[7, 'unknown key "Break_Glass": did you mean break_glass?']] },
];

/** Characters no message may carry: a message never echoes what it refuses as hidden. */
const UNSEEN = /[\p{Cc}\p{Default_Ignorable_Code_Point}\u2028\u2029]/u;

describe("the hostile requests corpus", () => {
  it("has a row for every file, and a file for every row", () => {
    const files = readdirSync(`${HOSTILE_FIXTURES}requests`).sort();
    expect(files.length).toBeGreaterThanOrEqual(40);
    expect(CORPUS.map((row) => row.file)).toEqual(files);
  });

  it.each(CORPUS.filter((row): row is Refused => "refused" in row))("$file is refused", ({ file, refused, total }) => {
    const text = readFixture(`requests/${file}`);
    const { problems, requests } = validateHostile(text);
    expect(problems).toHaveLength(total ?? refused.length);
    refused.forEach(([line, fragment], i) => {
      expect(problems[i]?.line).toBe(line);
      expect(problems[i]?.message).toContain(fragment);
    });
    for (const problem of problems) expect(problem.message).not.toMatch(UNSEEN);
    // Entries that passed their own checks are listed even when others fail; none slipped a check.
    for (const request of requests) expect(request.reason).not.toMatch(UNSEEN);
  });

  it.each(CORPUS.filter((row): row is Accepted => "accepted" in row))("$file is accepted: $why", ({ file, accepted }) => {
    const { problems, requests } = validateHostile(readFixture(`requests/${file}`));
    expect(problems).toEqual([]);
    expect(requests).toHaveLength(accepted);
    for (const request of requests) {
      expect(request.entry).toMatchObject({ secret: "PROD_DB_URL", environment: "production", duration: "2h" });
      expect(request.reason).not.toMatch(UNSEEN);
    }
  });
});
