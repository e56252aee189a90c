import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { AccessReview } from "../../src/report/access-review.js";
import { htmlText } from "../../src/util/html-text.js";
import { readAccessReview } from "../../src/report/read-access-review.js";
import { axisTicks, renderAccessReviewHtml } from "../../src/report/render-html.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { HOSTILE_REASON, REVIEW_NOW, REVIEW_SINCE, REVIEW_UNTIL, seedReviewLedger, type ReviewLedger } from "../helpers/review-ledger.js";

/**
 * The page as text: what it loads (nothing), how it shows ledger text (inert), and what it
 * draws. `test/report/report-browser.test.ts` opens it in Chromium.
 */
let store: LedgerStore;
let ledger: ReviewLedger;
let review: AccessReview;
let html: string;
beforeAll(async () => {
  store = await openLedger("sqlite::memory:");
  ledger = await seedReviewLedger(store);
  review = await readAccessReview(store, { since: REVIEW_SINCE, until: REVIEW_UNTIL, now: REVIEW_NOW, webUrl: "https://github.com" });
  html = renderAccessReviewHtml(review);
});
afterAll(async () => {
  await store.close();
});

const all = (pattern: RegExp, text = html): string[] => [...text.matchAll(pattern)].map((match) => match[1]!);

describe("a self-contained page", () => {
  it("references nothing outside itself: no src, no stylesheet link, no url() or @import", () => {
    expect(html.startsWith("<!doctype html>\n")).toBe(true);
    // Inside a tag: the escaped reason "&lt;img src=x …" is text.
    expect(html).not.toMatch(/<[a-z][^>]*\ssrc\s*=/iu);
    expect(html).not.toMatch(/<link\b|<iframe\b|<object\b|<embed\b|<img\b|@import|url\(/iu);
    const hrefs = all(/\shref="([^"]*)"/gu);
    expect(hrefs.length).toBeGreaterThan(10);
    const outside = hrefs.filter((href) => !href.startsWith("#"));
    expect(outside.every((href) => /^https:\/\/github\.com\/acme\/(api|web)\/pull\/\d+$/u.test(href))).toBe(true);
    // Links out of the page are navigations a reader chooses, and send no referrer.
    expect(all(/<a (href="https:[^>]*)>/gu).every((attributes) => attributes.includes('rel="noreferrer noopener"'))).toBe(true);
  });

  it("forbids every load in its Content Security Policy, allowing only its own style and script by hash", () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/u.exec(html)![1]!.replaceAll("&#39;", "'");
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    const style = /<style>([\s\S]*?)<\/style>/u.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/u.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src ${hash(style)};`);
    expect(csp).toContain(`script-src ${hash(script)};`);
    expect(csp).toContain("img-src 'none'");
    expect(html.match(/<style>/gu)).toHaveLength(1);
    expect(html.match(/<script>/gu)).toHaveLength(1);
    // The policy is read before anything it governs.
    expect(html.indexOf("Content-Security-Policy")).toBeLessThan(html.indexOf("<style>"));
  });
});

describe("ledger text is shown, never acted on", () => {
  it("shows a reason that is an <img> tag as its characters, in the table, the bar's title and its card", () => {
    expect(html).not.toContain("<img");
    const escaped = "&lt;img src=x onerror=alert(1)&gt;";
    expect(html.split(escaped).length - 1).toBeGreaterThanOrEqual(3);
  });

  it("shows a leading = as text", () => {
    expect(html).toContain("=HYPERLINK(&quot;http://evil.example/&quot;,&quot;INC-1&quot;)");
  });

  it.each([
    ["a quote that would close an attribute", 'x" onmouseover="alert(1)', "x&quot; onmouseover=&quot;alert(1)"],
    [
      "a closing tag",
      "</td></tr></table><script>alert(1)</script>",
      "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
    ],
    ["an entity", "&lt;b&gt;", "&amp;lt;b&amp;gt;"],
    ["a right-to-left override", "INC-1 \u202Egnp.exe", "INC-1 \\u202egnp.exe"],
    ["a line break", "one\ntwo", "one\\u000atwo"],
    ["an apostrophe", "it's", "it&#39;s"],
  ])("htmlText shows %s as text", (_, text, shown) => {
    expect(htmlText(text)).toBe(shown);
  });

  it("escapes every ledger field it shows: requester, approvers, names, end reasons and errors", async () => {
    const hostile = await openLedger("sqlite::memory:");
    try {
      const tag = (field: string) => `<b data-field="${field}">`;
      const grant = await seedGrant(hostile, {
        createdAt: new Date("2026-03-02T10:00:00Z"),
        requester: { id: 1, login: tag("requester") },
        approvers: [{ id: 2, login: tag("approver") }],
        owner: tag("owner"),
        repo: tag("repo"),
        environment: tag("environment"),
        secret: "PROD_DB_URL",
        reason: tag("reason"),
      });
      await hostile.recordRevokeFailure(grant.id, tag("error"), new Date("2026-03-02T10:10:00Z"));
      await hostile.markEnded(grant.id, "revoked", tag("endReason"), new Date("2026-03-02T10:20:00Z"), {
        at: new Date("2026-03-02T10:20:00Z"),
        action: "revoked",
        actor: tag("actor"),
        owner: grant.owner,
        repo: grant.repo,
      });
      const page = renderAccessReviewHtml(
        await readAccessReview(hostile, { since: REVIEW_SINCE, until: REVIEW_UNTIL, now: REVIEW_NOW, webUrl: "https://github.com" }),
      );
      expect(page).not.toContain("<b ");
      for (const field of ["requester", "approver", "owner", "repo", "environment", "reason", "error", "endReason", "actor"]) {
        expect(page).toContain(`&lt;b data-field=&quot;${field}&quot;&gt;`);
      }
      // The repository and owner in the pull request link are URL-encoded, then escaped.
      expect(page).toContain('href="https://github.com/%3Cb%20data-field%3D%22owner%22%3E/');
    } finally {
      await hostile.close();
    }
  });
});

describe("what the page shows", () => {
  it("puts the exceptions first and lists each planted one", () => {
    const exceptions = html.indexOf('<section id="exceptions"');
    expect(exceptions).toBeGreaterThan(0);
    expect(exceptions).toBeLessThan(html.indexOf('<section id="summary"'));
    const section = html.slice(exceptions, html.indexOf("</section>", exceptions));
    expect(section).toContain("5 exceptions.");
    expect(section).toContain("mallory, PR #8</a>: no approver recorded");
    expect(section).toContain("heidi, PR #14</a>: break-glass grant not reviewed");
    // The reviewed break-glass grant is not an exception.
    expect(section).not.toContain("PR #13</a>");
    expect(section).toContain("erin, PR #7</a>: deleted 3h after its expiry");
    expect(section).toContain("grace, PR #12</a>: still live 2h59m58s after its expiry");
    expect(section).toContain("None: the audit log's hash chain is intact");
  });

  it("says None plainly where there is nothing to report", async () => {
    const quiet = await readAccessReview(store, {
      since: new Date("2026-03-01T08:00:00Z"),
      until: new Date("2026-03-02T00:00:00Z"),
      now: REVIEW_NOW,
      webUrl: "https://github.com",
    });
    const page = renderAccessReviewHtml(quiet);
    const section = page.slice(page.indexOf('<section id="exceptions"'), page.indexOf('<section id="summary"'));
    expect(section).toContain("None: every grant had a recorded approval");
    expect(section.match(/<p class="none">None\.<\/p>/gu)).toHaveLength(2);
    expect(page).toContain("None: every revocation succeeded at its first attempt");
    expect(page).toContain("<dt>Break-glass grants</dt><dd>0 break-glass grants in this period.</dd>");
  });

  it("draws one bar per grant with access, each a link to its row, with a title and a card", () => {
    const bars = all(/<a class="bar (\w[\w-]*)" href="#grant-\d+">/gu);
    expect(bars).toHaveLength(review.summary.grants);
    expect(bars.filter((ending) => ending === "live")).toHaveLength(1);
    expect(bars.filter((ending) => ending === "break-glass")).toHaveLength(2);
    const targets = all(/<a class="bar [\w-]+" href="#(grant-\d+)">/gu);
    const rows = new Set(all(/<tr id="(grant-\d+)">/gu));
    expect(rows.size).toBe(review.grants.length);
    expect(targets.every((target) => rows.has(target))).toBe(true);
    expect(html.match(/<g class="card">/gu)).toHaveLength(review.summary.grants);
    // Each card links its pull request.
    const cardLinks = all(/<a href="([^"]+)" rel="noreferrer noopener"><text [^>]*>Pull request #\d+: /gu);
    expect(cardLinks).toHaveLength(review.summary.grants);
    expect(cardLinks).toContain("https://github.com/acme/api/pull/5");
    expect(html.match(/<svg class="timeline"/gu)).toHaveLength(review.timelines.length);
    // The failed grant has a row and no bar.
    const failedRow = all(/<tr id="(grant-\d+)">/gu)[review.grants.findIndex((g) => g.id === ledger.failed.id)];
    expect(targets).not.toContain(failedRow);
  });

  it("gives the bar's title who, when, how it ended, who approved, why and the pull request", () => {
    const titles = all(/<title>([^<]*)<\/title>/gu).slice(1);
    expect(titles).toContain(
      "carol: PROD_DB_URL in production of acme/api; 2026-03-02 10:00:02 UTC to 2026-03-02 11:30:02 UTC (1h30m of 4h requested), revoked: pull request closed; approved by bob (write), dave (admin, via @acme/dba); reason: INC-4300: rotate the read replica; pull request #5: https://github.com/acme/api/pull/5",
    );
    expect(titles.some((title) => title.includes(`reason: ${htmlText(HOSTILE_REASON)}`))).toBe(true);
  });

  it("shows each approver's permission at the time in the table and the card, and says when it was not recorded", () => {
    const row = (grant: { id: string }) => {
      const anchor = all(/<tr id="(grant-\d+)">/gu)[review.grants.findIndex((g) => g.id === grant.id)];
      const start = html.indexOf(`<tr id="${anchor}">`);
      return html.slice(start, html.indexOf("</tr>", start));
    };
    expect(row(ledger.closed)).toContain("<td>bob (write), dave (admin, via @acme/dba)</td>");
    expect(row(ledger.spanning)).toContain("<td>bob (permission not recorded)</td>");
    expect(html).toContain("Approved by bob (write), dave (admin, via @acme/dba) · head aaaaaaa");
    expect(html).not.toContain("The ledger records who approved, not the permission");
  });

  it("counts break-glass grants and says who reviewed each one, in the summary, the table and the bar's title", () => {
    expect(html).toContain("<dt>Break-glass grants</dt><dd>2 break-glass grants, 1 of them reviewed.</dd>");
    const section = html.slice(html.indexOf("<h3>Break-glass</h3>"), html.indexOf("<h3>Revocations that failed or ran late</h3>"));
    expect(section).toContain("heidi, PR #13</a></td><td>carol, 2026-03-05 09:00:00 UTC</td>");
    expect(section).toContain('heidi, PR #14</a></td><td><span class="bad">not reviewed</span></td>');
    expect(html).toContain("<td>break-glass; reviewed afterwards: carol, 2026-03-05 09:00:00 UTC</td>");
    const titles = all(/<title>([^<]*)<\/title>/gu);
    expect(titles.filter((title) => title.includes("PAYMENTS_KEY in production of acme/api") && title.includes("break-glass;"))).toEqual([
      expect.stringContaining(
        "approved by nobody before the grant (break-glass); reviewed afterwards by carol at 2026-03-05 09:00:00 UTC;",
      ),
      expect.stringContaining("approved by nobody (break-glass, not reviewed);"),
    ]);
  });

  it("sorts the table of every grant with its inline script, one button per heading", () => {
    const table = html.slice(
      html.indexOf('<table class="sortable grants"'),
      html.indexOf("</table>", html.indexOf('<table class="sortable grants"')),
    );
    expect(table.match(/<th scope="col" aria-sort="none" data-type="(text|number)"[^>]*><button type="button">/gu)).toHaveLength(11);
    expect(table.match(/<tr id="grant-\d+">/gu)).toHaveLength(13);
  });
});

describe("axisTicks", () => {
  it("marks a week by day, at midnight UTC", () => {
    const ticks = axisTicks(REVIEW_SINCE.getTime(), REVIEW_UNTIL.getTime());
    expect(ticks.map((tick) => tick.label)).toEqual([
      "2026-03-01",
      "2026-03-02",
      "2026-03-03",
      "2026-03-04",
      "2026-03-05",
      "2026-03-06",
      "2026-03-07",
    ]);
  });

  it.each([
    ["an hour", 3_600_000],
    ["a day", 86_400_000],
    ["a quarter", 90 * 86_400_000],
    ["ten years", 3653 * 86_400_000],
  ])("keeps %s to at most 8 ticks, inside the period", (_, span) => {
    const from = Date.parse("2026-01-01T00:07:00Z");
    const ticks = axisTicks(from, from + span);
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks.every((tick) => tick.at >= from && tick.at < from + span)).toBe(true);
  });
});
