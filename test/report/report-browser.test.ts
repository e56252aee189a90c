/**
 * The access review as an auditor opens it: `jit-access report` writes the page from a seeded
 * ledger, and headless Chromium (Debian's `chromium`, driven by playwright-core, which downloads
 * nothing) opens it from the file with every request routed through the test. The page must
 * draw its bars, list the planted exception, show a hostile reason as text without running it,
 * respond to the keyboard, and ask for nothing but its own file.
 *
 * Without Chromium (JIT_CHROMIUM, default /usr/bin/chromium) the suite is skipped with one
 * line, unless JIT_REQUIRE_BROWSER=1 (as `.ci/run` sets): then it fails.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { Browser, Locator, Page } from "playwright-core";
import { describeInChromium, launchChromium } from "../helpers/chromium.js";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { HOSTILE_REASON, REVIEW_NOW, seedReviewLedger, type ReviewLedger } from "../helpers/review-ledger.js";

const describeInBrowser = describeInChromium("report-browser.test.ts");

describeInBrowser("the access review in headless Chromium", () => {
  let cli: CliHarness;
  let ledger: ReviewLedger;
  let workDir: string;
  let outputDir: string;
  let browser: Browser;
  let page: Page;
  let fileUrl: string;
  const requests: string[] = [];
  const refused: string[] = [];
  const dialogs: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    cli = await startCliHarness();
    ledger = await seedReviewLedger(cli.store);
    await cli.clock.advance(REVIEW_NOW.getTime() - cli.clock.now());
    workDir = await mkdtemp(join(tmpdir(), "jit-report-page-"));
    outputDir = process.env.JIT_TEST_OUTPUT ?? (await mkdtemp(join(tmpdir(), "jit-report-browser-")));
    await mkdir(outputDir, { recursive: true });
    const out = join(workDir, "access-review.html");
    const result = await cli.run(["report", "--since", "2026-03-01", "--until", "2026-03-08", "--out", out], {
      DATABASE_URL: cli.env.DATABASE_URL,
    });
    expect(result.code).toBe(0);
    fileUrl = pathToFileURL(out).href;

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Every request the page makes comes through here: only its own file may load.
    await context.route("**/*", async (route) => {
      const url = route.request().url();
      requests.push(url);
      if (url === fileUrl) await route.continue();
      else {
        refused.push(url);
        await route.abort();
      }
    });
    page = await context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
    });
    await page.goto(fileUrl, { waitUntil: "load" });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cli?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it("draws a bar for each of the 12 grants with access, in 6 timelines, the break-glass ones coloured so", async () => {
    expect(await page.locator("svg.timeline").count()).toBe(6);
    expect(await page.locator("svg.timeline a.bar").count()).toBe(12);
    expect(await page.locator("svg.timeline a.bar.live").count()).toBe(1);
    expect(await page.locator("svg.timeline a.bar.closed").count()).toBe(1);
    const glass = page.locator("svg.timeline a.bar.break-glass");
    expect(await glass.count()).toBe(2);
    // Break-glass orange, as the legend says, not the colour of how they ended (expired).
    const style = (selector: string, property: "fill" | "backgroundColor") =>
      page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`);
    const glassFill = await style("svg.timeline a.bar.break-glass rect", "fill");
    expect(glassFill).toBe(await style("ul.legend .swatch.break-glass", "backgroundColor"));
    expect(glassFill).toBe("rgb(245, 133, 24)");
    expect(await style("svg.timeline a.bar.expired rect", "fill")).not.toBe(glassFill);
    // Each bar is drawn: a visible, non-empty box.
    for (const box of await Promise.all((await page.locator("svg.timeline a.bar rect").all()).map((rect) => rect.boundingBox()))) {
      expect(box?.width).toBeGreaterThan(0);
      expect(box?.height).toBeGreaterThan(0);
    }
  });

  it("lists the planted exceptions first: a grant without a recorded approval, a break-glass grant not reviewed", async () => {
    const sections = await Promise.all((await page.locator("main > section").all()).map((section) => section.getAttribute("id")));
    expect(sections).toEqual(["exceptions", "summary", "timelines", "grants"]);
    const exceptions = page.locator("#exceptions");
    await expect(exceptions.locator("li", { hasText: "no approver recorded" }).innerText()).resolves.toBe(
      "acme/api · staging · PROD_DB_URL, mallory, PR #8: no approver recorded",
    );
    // Its link leads to the grant's row.
    await exceptions.locator("li", { hasText: "no approver recorded" }).locator("a").click();
    const target = page.locator("tr:target");
    await expect(target.innerText()).resolves.toContain("mallory");
    await expect(target.locator("td").nth(3).innerText()).resolves.toBe("none recorded");
    await expect(exceptions.locator("li", { hasText: "break-glass" }).allInnerTexts()).resolves.toEqual([
      "acme/api · production · PAYMENTS_KEY, heidi, PR #14: break-glass grant not reviewed",
    ]);
  });

  /**
   * A card is shown by a rule (its bar hovered or focused, or the card itself) that also drops the
   * delay with which a card hides; without one the card is hiding, whatever it shows for now.
   */
  const heldShown = (card: Locator) =>
    card.evaluate(
      (element) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { transitionDelay: string } }).getComputedStyle(element)
          .transitionDelay === "0s",
    );

  it("shows a hostile reason as text: no element made from it, no script run, no dialog", async () => {
    const row = page.locator("#grant-table tbody tr", { hasText: "frank" });
    await expect(row.locator("td.reason").innerText()).resolves.toBe(HOSTILE_REASON);
    await expect(row.locator("td.reason > *").count()).resolves.toBe(0);
    expect(await page.locator("img").count()).toBe(0);
    // Hovering its bar shows the card with the reason as text; still nothing runs.
    const bar = page.locator("svg.timeline a.bar").filter({ has: page.locator("title", { hasText: "frank:" }) });
    await bar.hover();
    const card = bar.locator("xpath=following-sibling::*[1]");
    await expect(card.innerHTML()).resolves.toContain("Reason: &lt;img src=x onerror=alert(1)&gt;");
    // The pointer moves on from the bar to the card: the card stays, and its pull request link can be clicked.
    const link = card.locator("a");
    await link.hover();
    await expect(card.isVisible()).resolves.toBe(true);
    // Held shown by the pointer on it, not merely fading out after the bar lost it.
    await expect(heldShown(card)).resolves.toBe(true);
    await expect(link.getAttribute("href")).resolves.toBe("https://github.com/acme/web/pull/9");
    await link.click({ trial: true });
    await page.waitForTimeout(100);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("shows a bar's card when the keyboard focuses it, and Enter goes to the grant's row", async () => {
    const first = page.locator("svg.timeline a.bar").first();
    const card = first.locator("xpath=following-sibling::*[1]");
    await expect(card.isVisible()).resolves.toBe(false);
    await first.focus();
    await expect(card.isVisible()).resolves.toBe(true);
    await expect(card.textContent()).resolves.toContain(`Approved by dave`);
    await page.keyboard.press("Enter");
    await expect(page.evaluate("location.hash")).resolves.toMatch(/^#grant-\d+$/u);
    await expect(page.locator("tr:target").innerText()).resolves.toContain("INC-4301: refund batch stuck");
    // Tab moves on to the card's pull request link, the card staying shown, then to the next bar.
    await first.focus();
    await page.keyboard.press("Tab");
    await expect(page.evaluate('document.activeElement?.getAttribute("href")')).resolves.toBe("https://github.com/acme/api/pull/6");
    await expect(card.isVisible()).resolves.toBe(true);
    await expect(heldShown(card)).resolves.toBe(true);
    await page.keyboard.press("Tab");
    await expect(page.evaluate('document.activeElement?.getAttribute("class")')).resolves.toMatch(/^bar /u);
  });

  it("sorts the table by a column with the inline script", async () => {
    const requesters = () => page.locator("#grant-table tbody tr td:nth-child(3)").allInnerTexts();
    await page.locator("#grant-table th", { hasText: "Requester" }).locator("button").click();
    expect(await requesters()).toEqual([
      "alice",
      "alice",
      "alice",
      "carol",
      "dave",
      "dave",
      "erin",
      "frank",
      "grace",
      "grace",
      "heidi",
      "heidi",
      "mallory",
    ]);
    await expect(page.locator("#grant-table th", { hasText: "Requester" }).getAttribute("aria-sort")).resolves.toBe("ascending");
    await page.locator("#grant-table th", { hasText: "Actual" }).locator("button").click();
    await page.locator("#grant-table th", { hasText: "Actual" }).locator("button").click();
    expect((await page.locator("#grant-table tbody tr td:nth-child(10)").allInnerTexts())[0]).toBe("5h");
  });

  it("made no request but for its own file, and the browser reported no error (no CSP violation)", async () => {
    await page.screenshot({ path: join(outputDir, "access-review.png"), fullPage: true });
    // The first timelines, a bar focused: the picture in the README (docs/access-review.png).
    // carol's grant, closed early, approved by bob (write) and dave (admin, via @acme/dba).
    await page.locator("svg.timeline a.bar").nth(7).focus();
    // Boxes are relative to the viewport; a full-page clip is relative to the page.
    const scrolled = await page.evaluate<number>("window.scrollY");
    const top = (await page.locator("#timelines").boundingBox())!;
    const third = (await page.locator("#timelines figure").nth(2).boundingBox())!;
    const clip = { x: top.x - 8, y: top.y + scrolled - 8, width: top.width + 16, height: third.y + third.height - top.y + 16 };
    await page.screenshot({ path: join(outputDir, "access-review-timelines.png"), fullPage: true, clip });
    process.stdout.write(`report-browser.test.ts: screenshots in ${outputDir}\n`);
    expect(refused).toEqual([]);
    expect(new Set(requests)).toEqual(new Set([fileUrl]));
    expect(problems).toEqual([]);
    expect(ledger.hostile.reason).toBe(HOSTILE_REASON);
  });
});
