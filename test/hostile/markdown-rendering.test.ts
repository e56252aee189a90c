/**
 * Reasons are free text and are accepted with markup in them (corpus files 55–57); what keeps
 * them harmless is how the app renders them. Every string from outside the app goes through
 * `markdownLiteral`, and each one below is rendered by two Markdown renderers (micromark with
 * GFM, markdown-it with linkify) the way GitHub would show it: in a paragraph, a list item and
 * a table cell, and inside whole check-run summaries and comments.
 */
import { describe, expect, it } from "@jest/globals";
import {
  grantedCheck,
  grantFailedCheck,
  policyErrorCheck,
  problemsCheck,
  requestTable,
  waitingCheck,
} from "../../src/feedback/check-feedback.js";
import { grantComment } from "../../src/feedback/grant-comment.js";
import { markdownCodeBlock, markdownLiteral } from "../../src/feedback/markdown.js";
import type { Grant } from "../../src/ledger/store.js";
import type { ApprovalDecision } from "../../src/approve/decide-approval.js";
import type { ValidRequest } from "../../src/request/validate-requests.js";
import { RENDERERS, REFERENCE, outsideCode, tagNames, textOf } from "./helpers/render-markdown.js";
import { oneEntry, readFixture, validateHostile } from "./helpers/validate-hostile.js";

/** Each would be acted on by GitHub if it were rendered as Markdown. */
const HOSTILE: readonly string[] = [
  // entities that decode to a mention, a link, markup
  "&#x40;acme/security-team &commat;octocat",
  "&#64;octocat &#35;123 &lt;img src=x&gt; &amp;",
  "&#x5B;click&#x5D;(https://evil.example)",
  // emphasis and strikethrough
  "__bold__ **bold** _em_ *em* ***both***",
  "~~struck~~ ~single~ ~~~three~~~",
  "snake_case_name and PROD_DB_URL",
  // autolinks: URL, www., e-mail, angle brackets, other schemes
  "https://github.com.evil.example/approve",
  "see http://evil.example and HTTPS://EVIL.EXAMPLE/x",
  "www.evil.example/approve",
  "github.com.evil.example/approve",
  "mail attacker@evil.example or mailto:a@evil.example or xmpp:a@evil.example",
  "<https://evil.example> <attacker@evil.example>",
  "javascript:alert(1)",
  // mentions and references
  "@octocat @acme/security-team",
  "#123 GH-1 gh-2 acme/api#1 acme/api@abc1234 abc1234def",
  "INC-4211 JIRA-99",
  // links and images
  "[the runbook](javascript:alert(1))",
  "![x](https://evil.example/pixel.png)",
  "[ref] [ref][] [x][ref]",
  // raw HTML
  "<img src=x onerror=alert(document.cookie)>",
  "<script>alert(1)</script>",
  "<!-- hidden --> <details><summary>x</summary>y</details>",
  "<a href='https://evil.example'>approve</a>",
  // code-span breakout
  "`x` ``y`` ``` ` ```",
  "` leading backtick",
  "trailing backtick `",
  "```",
  "`",
  "`` `@octocat` ``",
  "\\`not escaped\\` \\@octocat \\#1",
  "trailing backslash \\",
  // tables, blocks, line breaks
  "a | b | c",
  "| leading pipe",
  "trailing pipe |",
  "\\|",
  "||",
  "line one\nline two\r\n# heading\n> quote\n- item\n1. item\n---\n[ref]: https://evil.example",
  "tab\tinside and nul\u0000 and NEL\u0085 and LS\u2028",
  "# heading",
  "    four spaces",
  "   ",
  " padded ",
  "",
  "footnote[^1]\n\n[^1]: https://evil.example",
  ":+1: :shipit:",
  "- [ ] task",
  "$(id) ${{ secrets.X }}",
];

/** The text without the line breaks the renderer puts around block elements. */
const lines = (text: string): string => text.replace(/^\n+|\n+$/gu, "");

/** What a literal renders back to as text: control characters and line breaks become spaces. */
// eslint-disable-next-line no-control-regex -- control characters are what it replaces
const flat = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, " ");

const CONTEXTS: ReadonlyArray<[string, (literal: string) => string, (html: string) => string]> = [
  [
    "a paragraph",
    (literal) => `Reason: ${literal}.`,
    (html) =>
      lines(textOf(html))
        .replace(/^Reason: /u, "")
        .replace(/\.$/u, ""),
  ],
  ["a list item", (literal) => `- ${literal}`, (html) => lines(textOf(html))],
  [
    "a table cell",
    (literal) => `| Secret | Reason |\n| --- | --- |\n| \`X\` | ${literal} |`,
    (html) => textOf(/<td>(?:(?!<\/td>)[\s\S])*<\/td>\s*<td>([\s\S]*?)<\/td>/u.exec(html)?.[1] ?? "<no second cell>"),
  ],
];

describe("markdownLiteral makes outside text inert", () => {
  for (const [renderer, render] of RENDERERS) {
    for (const [context, embed, extract] of CONTEXTS) {
      describe(`${renderer}, in ${context}`, () => {
        it.each(HOSTILE.map((text) => [JSON.stringify(text), text]))("%s", (_name, text) => {
          const html = render(embed(markdownLiteral(text)));
          const outside = outsideCode(html);
          // Only the structure the context itself makes: no link, emphasis, struck text, HTML.
          const allowed = new Set([
            "p",
            "/p",
            "ul",
            "/ul",
            "li",
            "/li",
            "table",
            "/table",
            "thead",
            "/thead",
            "tbody",
            "/tbody",
            "tr",
            "/tr",
            "th",
            "/th",
            "td",
            "/td",
          ]);
          expect(tagNames(outside).filter((tag) => !allowed.has(tag))).toEqual([]);
          // No reference GitHub's filters would find, once entities are decoded.
          expect(textOf(outside)).not.toMatch(REFERENCE);
          // Shown exactly as written.
          expect(extract(html)).toBe(flat(text));
        });
      });
    }
  }

  it.each([
    ["plain text", "INC-4211: inspect", "`INC-4211: inspect`"],
    ["a backtick inside", "a `b` c", "``a `b` c``"],
    ["a backtick at an end", "`b` c", "`` `b` c ``"],
    ["a pipe", "a | b", "`a `\\|` b`"],
    ["line breaks", "one\ntwo\r\nthree", "`one two  three`"],
    ["spaces only", "  ", "`  `"],
    ["nothing", "", ""],
  ])("writes %s as a code span", (_name, text, literal) => {
    expect(markdownLiteral(text)).toBe(literal);
  });
});

describe("markdownCodeBlock cannot be closed from inside", () => {
  it.each(["plain", "```\n**bold** @octocat\n```", "````", "~~~\n<img src=x>"])("%j", (text) => {
    for (const [, render] of RENDERERS) {
      const html = render(`Before\n\n${markdownCodeBlock(text)}\n\nAfter **done**`);
      expect(tagNames(html)).toEqual(["p", "/p", "pre", "code", "/code", "/pre", "p", "strong", "/strong", "/p"]);
      expect(textOf(/<code>([\s\S]*?)<\/code>/u.exec(html)?.[1] ?? "")).toBe(`${text}\n`);
    }
  });
});

// Whole documents: a hostile value must add no element to what a benign one renders.
const BENIGN = {
  reason: "INC-4211: inspect stuck migrations",
  environment: "production",
  login: "bob",
  file: "jit-requests.yml",
  why: "GitHub answered HTTP 500",
};

function request(reason: string, environment: string): ValidRequest {
  const { requests } = validateHostile(oneEntry());
  const base = requests[0] as ValidRequest;
  return { ...base, environment, reason };
}

function grant(reason: string, environment: string, login: string): Grant {
  const at = new Date(Date.UTC(2026, 0, 1));
  return {
    id: "g1",
    installationId: 1,
    owner: "acme",
    repo: "api",
    environment,
    secret: "PROD_DB_URL",
    requester: { id: 1, login: "alice" },
    prNumber: 7,
    headSha: "a".repeat(40),
    approvers: [{ id: 2, login }],
    reason,
    durationMs: 3_600_000,
    requestKey: "k",
    state: "active",
    createdAt: at,
    grantedAt: at,
    expiresAt: new Date(at.getTime() + 3_600_000),
    endedAt: null,
    endReason: null,
    revokeAttempts: 0,
    nextAttemptAt: null,
  } as unknown as Grant;
}

function decision(login: string, why: string): ApprovalDecision {
  return { approved: false, approvers: [], required: 1, summary: "Waiting for 1 approval", ignored: [{ login, why }] };
}

type Values = typeof BENIGN;
const DOCUMENTS: ReadonlyArray<[string, (v: Values) => string]> = [
  ["the request table", (v) => requestTable([request(v.reason, v.environment)])],
  ["the waiting check", (v) => waitingCheck("a".repeat(40), [request(v.reason, v.environment)], decision(v.login, v.why)).summary],
  [
    "the problems check",
    (v) => problemsCheck(v.file, "a".repeat(40), [{ line: 3, column: 5, message: `unknown key "${v.reason}"` }]).summary,
  ],
  ["the granted check", (v) => grantedCheck("a".repeat(40), [grant(v.reason, v.environment, v.login)], Date.UTC(2026, 0, 1)).summary],
  [
    "the failed check",
    (v) => grantFailedCheck("a".repeat(40), [{ secret: "PROD_DB_URL", environment: v.environment, why: v.why }]).summary,
  ],
  ["the policy error check", (v) => policyErrorCheck("a".repeat(40), v.why).summary],
  [
    "the grant comment",
    (v) =>
      grantComment(
        {
          granted: [grant(v.reason, "production", v.login)],
          failed: [{ secret: "PROD_DB_URL", environment: v.environment, why: v.why }],
          deferred: [],
        },
        Date.UTC(2026, 0, 1),
      ),
  ],
];

describe("documents with hostile values render the same elements as with benign ones", () => {
  const hostileValues = HOSTILE.filter((text) => text.trim() !== "").map((text): Values => ({
    reason: text,
    environment: text,
    login: text,
    file: text,
    why: text,
  }));
  for (const [renderer, render] of RENDERERS) {
    describe(renderer, () => {
      it.each(DOCUMENTS)("%s", (_name, document) => {
        const expected = tagNames(outsideCode(render(document(BENIGN))));
        for (const values of hostileValues) {
          const html = render(document(values));
          expect([values.reason, tagNames(outsideCode(html))]).toEqual([values.reason, expected]);
          expect([values.reason, textOf(outsideCode(html))]).not.toEqual([values.reason, expect.stringMatching(REFERENCE)]);
        }
      });
    });
  }
});

describe("markup in an accepted reason is shown, not acted on", () => {
  it.each(["55-reason-html-injection.yml", "56-reason-team-mention.yml", "57-reason-javascript-link.yml"])("%s", (file) => {
    const { problems, requests } = validateHostile(readFixture(`requests/${file}`));
    expect(problems).toEqual([]);
    for (const [, render] of RENDERERS) {
      const html = render(requestTable(requests));
      expect(tagNames(outsideCode(html)).filter((tag) => !/^\/?(table|thead|tbody|tr|th|td)$/u.test(tag))).toEqual([]);
      expect(textOf(outsideCode(html))).not.toMatch(REFERENCE);
      expect(textOf(html)).toContain(requests[0]?.reason);
    }
  });
});

describe("markup echoed in a problem message is shown, not acted on", () => {
  it.each([
    ["an unknown key", `${oneEntry().trimEnd()}\n    "<img src=x onerror=alert(1)>": x\n`],
    ["an environment", oneEntry({ environment: '"[prod](javascript:alert(1)) @acme/admins"' })],
  ])("%s", (_name, text) => {
    const { problems } = validateHostile(text);
    expect(problems).not.toEqual([]);
    const { summary } = problemsCheck("jit-requests.yml", "a".repeat(40), problems);
    for (const [, render] of RENDERERS) {
      const html = render(summary);
      expect(tagNames(outsideCode(html)).filter((tag) => !/^\/?(p|ul|li)$/u.test(tag))).toEqual([]);
      expect(textOf(outsideCode(html))).not.toMatch(REFERENCE);
    }
  });
});
