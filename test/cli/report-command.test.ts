import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { REPORT_USAGE, webUrl } from "../../src/cli/report-command.js";
import type { AccessReview } from "../../src/report/access-review.js";
import { readAccessReview } from "../../src/report/read-access-review.js";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { HOSTILE_REASON, REVIEW_NOW, REVIEW_SINCE, REVIEW_UNTIL, seedReviewLedger, type ReviewLedger } from "../helpers/review-ledger.js";

let cli: CliHarness;
let ledgerOnly: NodeJS.ProcessEnv;
let ledger: ReviewLedger;
let outDir: string;
beforeEach(async () => {
  cli = await startCliHarness();
  ledgerOnly = { DATABASE_URL: cli.env.DATABASE_URL };
  ledger = await seedReviewLedger(cli.store);
  await cli.clock.advance(REVIEW_NOW.getTime() - cli.clock.now());
  outDir = await mkdtemp(join(tmpdir(), "jit-report-"));
});
afterEach(async () => {
  await cli.close();
  await rm(outDir, { recursive: true, force: true });
});

const WEEK = ["--since", "2026-03-01", "--until", "2026-03-08"];

describe("jit-access report", () => {
  it("writes one HTML page to --out and says what is in it; needs only DATABASE_URL", async () => {
    const out = join(outDir, "review.html");

    const result = await cli.run(["report", ...WEEK, "--out", out], ledgerOnly);

    expect(result).toEqual({
      code: 0,
      stdout: [`wrote ${out}: 12 grants with access from 2026-03-01T00:00:00.000Z to 2026-03-08T00:00:00.000Z; 5 exceptions`],
      stderr: [],
    });
    const page = readFileSync(out, "utf8");
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain("<title>Access review, 2026-03-01 to 2026-03-08</title>");
    expect(page).not.toContain(HOSTILE_REASON);
    expect(readdirSync(outDir)).toEqual(["review.html"]);
  });

  it("prints the same data as JSON with --format json, as the review module builds it", async () => {
    const result = await cli.run(["report", ...WEEK, "--format", "json"], ledgerOnly);

    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([]);
    const printed = JSON.parse(result.stdout.join("\n")) as AccessReview;
    const expected = await readAccessReview(cli.store, {
      since: REVIEW_SINCE,
      until: REVIEW_UNTIL,
      now: REVIEW_NOW,
      webUrl: "https://github.com",
    });
    expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(printed.exceptions.withoutApproval.map((note) => note.grantId)).toEqual([ledger.unapproved.id, ledger.glassUnreviewed.id]);
  });

  it("writes the JSON to --out when given", async () => {
    const out = join(outDir, "review.json");
    const result = await cli.run(
      ["report", ...WEEK, "--repo", "acme/web", "--secret", "payments_key", "--format", "json", "--out", out],
      ledgerOnly,
    );

    expect(result.code).toBe(0);
    const review = JSON.parse(readFileSync(out, "utf8")) as AccessReview;
    expect(review.filters).toEqual({ repo: "acme/web", secret: "payments_key" });
    expect(review.grants.map((grant) => grant.id)).toEqual([ledger.hostile.id, ledger.leftover.id]);
  });

  it("reviews up to now when --until is not given", async () => {
    const result = await cli.run(["report", "--since", "2026-03-07", "--format", "json"], ledgerOnly);

    const review = JSON.parse(result.stdout.join("\n")) as AccessReview;
    expect(review.period).toEqual({ since: "2026-03-07T00:00:00.000Z", until: REVIEW_NOW.toISOString(), asOf: REVIEW_NOW.toISOString() });
  });

  it("links pull requests on the GitHub Enterprise Server host the app uses", async () => {
    const result = await cli.run(["report", ...WEEK, "--format", "json"], { ...ledgerOnly, GHE_HOST: "github.example.com" });

    const review = JSON.parse(result.stdout.join("\n")) as AccessReview;
    expect(review.grants[0]!.prUrl).toBe("https://github.example.com/acme/api/pull/2");
    expect(webUrl("https://api.github.com")).toBe("https://github.com");
    expect(webUrl("http://localhost:3456/api/v3")).toBe("http://localhost:3456");
  });

  it("says so when the file cannot be written, and leaves nothing behind", async () => {
    const out = join(outDir, "missing-folder", "review.html");
    const result = await cli.run(["report", ...WEEK, "--out", out], ledgerOnly);

    expect(result.code).toBe(1);
    // As --help says.
    expect((await cli.run(["report", "--help"], ledgerOnly)).stdout.join("\n")).toContain("1 the file cannot be written");
    expect(result.stderr).toEqual([
      expect.stringMatching(
        new RegExp(`^jit-access report: cannot write ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: its folder does not exist$`),
      ),
    ]);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it.each([
    [[], "give the period's start: --since 2026-01-01"],
    [
      ["--since", "last week", "--out", "r.html"],
      '--since must be an ISO 8601 date or date-time with offset, e.g. 2026-01-01 or 2026-01-01T09:30:00Z; got "last week"',
    ],
    [
      ["--since", "2026-03-01", "--until", "2026-03-01T10:00", "--out", "r.html"],
      "--until must be an ISO 8601 date or date-time with offset",
    ],
    [
      ["--since", "2026-03-08", "--until", "2026-03-01", "--out", "r.html"],
      "the period must start before it ends: --since 2026-03-08T00:00:00.000Z is not before --until 2026-03-01T00:00:00.000Z",
    ],
    [["--since", "2026-03-20", "--out", "r.html"], "is not before now 2026-03-10T12:00:00.000Z"],
    [["--since", "2026-03-01", "--format", "csv", "--out", "r.html"], '--format must be html or json; got "csv"'],
    [["--since", "2026-03-01"], "an HTML review is written to a file: give --out report.html (or --format json for stdout)"],
    [["--since", "2026-03-01", "--out", " "], "--out needs a file path"],
    [
      ["--since", "2026-03-01", "--repo", "acme", "--out", "r.html"],
      '--repo must be OWNER/NAME, with * or ? for any characters (acme/*); got "acme"',
    ],
    [["--since", "2026-03-01", "--repo", "acme/a\u202Epi", "--out", "r.html"], "--repo contains an invisible control or bidi character"],
    [["--since", "2026-03-01", "--secret", "PROD-DB", "--out", "r.html"], "--secret: secret names may contain only letters, digits and _"],
    [["--since", "2026-03-01", "--out", "r.html", "--verbose"], "Unknown option '--verbose'"],
  ])("refuses %p with a usage error, writing nothing", async (args, message) => {
    const result = await cli.run(["report", ...args], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr[0]).toContain(message);
    expect(result.stderr.at(-1)).toBe(REPORT_USAGE);
    expect(existsSync("r.html")).toBe(false);
  });
});
