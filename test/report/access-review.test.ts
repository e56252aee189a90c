import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { AccessReviewBuilder, LATE_AFTER_MS, median, type AccessReview, type ReviewScope } from "../../src/report/access-review.js";
import { readAccessReview } from "../../src/report/read-access-review.js";
import { activeGrant, grantFixture, tempLedgerDir } from "../helpers/grant-fixture.js";
import {
  FORMULA_REASON,
  HOSTILE_REASON,
  REVIEW_NOW,
  REVIEW_SINCE,
  REVIEW_UNTIL,
  seedReviewLedger,
  type ReviewLedger,
} from "../helpers/review-ledger.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const SCOPE: ReviewScope = { since: REVIEW_SINCE, until: REVIEW_UNTIL, now: REVIEW_NOW, webUrl: "https://github.com" };

let store: LedgerStore;
let ledger: ReviewLedger;
beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  ledger = await seedReviewLedger(store);
});
afterEach(async () => {
  await store.close();
});

const ids = (grants: readonly { id: string }[] | readonly { grantId: string }[]): string[] =>
  grants.map((g) => ("id" in g ? g.id : g.grantId));

describe("an access review over a week of the ledger", () => {
  let review: AccessReview;
  beforeEach(async () => {
    review = await readAccessReview(store, SCOPE);
  });

  it("covers every grant whose life overlaps the period, by creation, and none that ended before it", () => {
    const {
      spanning,
      onTime,
      overlapping,
      closed,
      early,
      late,
      unapproved,
      glassReviewed,
      glassUnreviewed,
      hostile,
      failed,
      leftover,
      overdue,
    } = ledger;
    expect(ids(review.grants)).toEqual(
      ids([
        spanning,
        onTime,
        overlapping,
        closed,
        early,
        late,
        glassReviewed,
        unapproved,
        glassUnreviewed,
        hostile,
        failed,
        leftover,
        overdue,
      ]),
    );
    expect(review.period).toEqual({
      since: "2026-03-01T00:00:00.000Z",
      until: "2026-03-08T00:00:00.000Z",
      asOf: "2026-03-08T00:00:00.000Z",
    });
    expect(review.generatedAt).toBe(REVIEW_NOW.toISOString());
  });

  it("counts grants with access, grants never written, and grants still live", () => {
    expect(review.summary).toMatchObject({ grants: 12, notWritten: 1, live: 1 });
  });

  it("counts grants by secret and environment, per repository, and how each ended", () => {
    const rows = review.summary.bySecret.map((s) => [s.repository, s.environment, s.secret, s.grants, s.endings]);
    const endings = (counts: Partial<Record<string, number>>) => ({
      expired: 0,
      revoked: 0,
      closed: 0,
      "break-glass": 0,
      live: 0,
      failed: 0,
      ...counts,
    });
    expect(rows).toEqual([
      ["acme/api", "production", "PAYMENTS_KEY", 4, endings({ revoked: 1, "break-glass": 2, live: 1 })],
      ["acme/api", "production", "PROD_DB_URL", 4, endings({ expired: 3, closed: 1 })],
      ["acme/api", "staging", "PROD_DB_URL", 1, endings({ expired: 1 })],
      ["acme/web", "production", "PAYMENTS_KEY", 1, endings({ revoked: 1 })],
      ["acme/web", "production", "PROD_DB_URL", 1, endings({ expired: 1 })],
      ["acme/web", "staging", "PAYMENTS_KEY", 1, endings({ expired: 1 })],
    ]);
  });

  it("counts requesters and approvers, most grants first", () => {
    expect(review.summary.requesters).toEqual([
      { login: "alice", grants: 2 },
      { login: "dave", grants: 2 },
      { login: "grace", grants: 2 },
      { login: "heidi", grants: 2 },
      { login: "carol", grants: 1 },
      { login: "erin", grants: 1 },
      { login: "frank", grants: 1 },
      { login: "mallory", grants: 1 },
    ]);
    expect(review.summary.approvers).toEqual([
      { login: "bob", grants: 5 },
      { login: "dave", grants: 3 },
      { login: "carol", grants: 2 },
    ]);
  });

  it("shows each approver with the permission recorded with the grant, and says when none was recorded", () => {
    const byId = new Map(review.grants.map((g) => [g.id, g]));
    expect(byId.get(ledger.closed.id)!.approverPermissions).toEqual([
      { login: "bob", permission: "write", via: "@bob" },
      { login: "dave", permission: "admin", via: "@acme/dba" },
    ]);
    expect(byId.get(ledger.onTime.id)!.approverPermissions).toEqual([{ login: "bob", permission: "write", via: "@bob" }]);
    // An older row: who approved is known, their permission then is not.
    expect(byId.get(ledger.spanning.id)!).toMatchObject({ approvers: ["bob"], approverPermissions: null });
    expect(byId.get(ledger.glassReviewed.id)!.approverPermissions).toEqual([]);
  });

  it("measures durations from the write to the end: the median and the longest of the ended grants", () => {
    // Ended: 30 s, 20 m, 30 m 3 s (twice), 1 h 3 s (twice), 1 h 30 m, 2 h 3 s (three times), 5 h; the live one does not count.
    expect(review.summary.durations).toEqual({ ended: 11, medianMs: HOUR + 3_000, longest: { grantId: ledger.late.id, ms: 5 * HOUR } });
    const actual = Object.fromEntries(review.grants.map((g) => [g.id, g.actualMs]));
    expect(actual[ledger.onTime.id]).toBe(2 * HOUR + 3_000);
    expect(actual[ledger.failed.id]).toBeNull();
    // Live: measured to the end of the review, the period's end.
    expect(actual[ledger.overdue.id]).toBe(REVIEW_UNTIL.getTime() - ledger.overdue.grantedAt!.getTime());
  });

  it("says how each grant ended, who ended it, and when its access started", () => {
    const byId = new Map(review.grants.map((g) => [g.id, g]));
    const view = (grant: Grant) => {
      const g = byId.get(grant.id)!;
      return [g.ending, g.endedBy, g.start, g.writeConfirmed];
    };
    expect(view(ledger.onTime)).toEqual(["expired", "jit-access", ledger.onTime.grantedAt!.toISOString(), true]);
    expect(view(ledger.closed)).toEqual(["closed", "carol", ledger.closed.grantedAt!.toISOString(), true]);
    expect(view(ledger.early)).toEqual(["revoked", "operator:dana", ledger.early.grantedAt!.toISOString(), true]);
    expect(view(ledger.overdue)).toEqual(["live", null, ledger.overdue.grantedAt!.toISOString(), true]);
    expect(view(ledger.failed)).toEqual(["failed", null, null, false]);
    // Never confirmed as written: counted from its ledger row, as its expiry is.
    expect(view(ledger.leftover)).toEqual(["revoked", "jit-access", ledger.leftover.createdAt.toISOString(), false]);
    expect(byId.get(ledger.closed.id)!.prUrl).toBe("https://github.com/acme/api/pull/5");
  });

  it("lists revocations that failed or ran late, with how late, and grants revoked early", () => {
    expect(review.summary.revocationFailures).toEqual([
      { grantId: ledger.late.id, attempts: 2, lastError: "GitHub answered HTTP 502 to the DELETE", resolved: true },
      { grantId: ledger.overdue.id, attempts: 1, lastError: "GitHub answered HTTP 502 to the DELETE", resolved: false },
    ]);
    expect(review.summary.lateRevocations).toEqual([
      { grantId: ledger.late.id, lateMs: 3 * HOUR, stillLive: false },
      { grantId: ledger.overdue.id, lateMs: REVIEW_UNTIL.getTime() - ledger.overdue.expiresAt.getTime(), stillLive: true },
    ]);
    expect(review.summary.revokedEarly).toEqual([
      { grantId: ledger.closed.id, earlyMs: 150 * MINUTE, reason: "pull request closed without merging", by: "carol" },
      { grantId: ledger.early.id, earlyMs: 40 * MINUTE, reason: "done: refunds went through", by: "operator:dana" },
      { grantId: ledger.leftover.id, earlyMs: HOUR - 30_000, reason: "approval withdrawn", by: "jit-access" },
    ]);
  });

  it("counts break-glass grants one per grant, from the grants themselves, with how many were reviewed", () => {
    expect(review.summary.breakGlass).toEqual({ grants: 2, reviewed: 1 });
    const byId = new Map(review.grants.map((g) => [g.id, g]));
    const view = (grant: Grant) => {
      const g = byId.get(grant.id)!;
      return [g.ending, g.breakGlass, g.breakGlassReview, g.approvers];
    };
    // However they ended (both expired), their bars are break-glass.
    expect(view(ledger.glassReviewed)).toEqual(["break-glass", true, { reviewer: "carol", at: "2026-03-05T09:00:00.000Z" }, []]);
    expect(view(ledger.glassUnreviewed)).toEqual(["break-glass", true, null, []]);
    expect(view(ledger.onTime)).toEqual(["expired", false, null, ["bob"]]);
  });

  it("lists the exceptions: no recorded approval, secrets that outlived their end; the chain intact", async () => {
    // The reviewed break-glass grant stands approved by its review; the other one is an exception.
    expect(review.exceptions.withoutApproval).toEqual([
      { grantId: ledger.unapproved.id, why: "no approver recorded" },
      { grantId: ledger.glassUnreviewed.id, why: "break-glass grant not reviewed" },
    ]);
    expect(review.exceptions.outlived).toEqual([
      { grantId: ledger.late.id, why: "deleted 3h after its expiry" },
      {
        grantId: ledger.leftover.id,
        why: "deleting the secret failed after the grant had ended (GitHub answered HTTP 502 to the DELETE); it may still be in the environment until `jit-access reconcile` removes it",
      },
      { grantId: ledger.overdue.id, why: "still live 2h59m58s after its expiry at the end of the review" },
    ]);
    const audit = await store.listAudit();
    expect(review.exceptions.auditChain).toEqual({
      intact: true,
      records: audit.length,
      lastSeq: audit.at(-1)!.seq,
      lastHash: audit.at(-1)!.hash,
    });
  });

  it("draws one timeline per secret and environment with the grants that had access, by start", () => {
    const { spanning, onTime, overlapping, closed, early, glassReviewed, glassUnreviewed, overdue } = ledger;
    expect(review.timelines.map((t) => [t.repository, t.environment, t.secret, t.grantIds])).toEqual([
      ["acme/api", "production", "PAYMENTS_KEY", ids([early, glassReviewed, glassUnreviewed, overdue])],
      ["acme/api", "production", "PROD_DB_URL", ids([spanning, onTime, overlapping, closed])],
      ["acme/api", "staging", "PROD_DB_URL", [ledger.unapproved.id]],
      ["acme/web", "production", "PAYMENTS_KEY", [ledger.leftover.id]],
      ["acme/web", "production", "PROD_DB_URL", [ledger.late.id]],
      ["acme/web", "staging", "PAYMENTS_KEY", [ledger.hostile.id]],
    ]);
  });

  it("keeps requester text exactly as recorded: escaping is the renderer's", () => {
    const reasons = new Map(review.grants.map((g) => [g.id, g.reason]));
    expect(reasons.get(ledger.hostile.id)).toBe(HOSTILE_REASON);
    expect(reasons.get(ledger.unapproved.id)).toBe(FORMULA_REASON);
  });

  it("is the same whatever the page size the ledger is read in", async () => {
    for (const pageSize of [1, 2, 3, 13, 14]) expect(await readAccessReview(store, SCOPE, pageSize)).toEqual(review);
  });
});

describe("narrowing and the period's edges", () => {
  it("narrows to repositories matching a glob, and to one secret (in any case)", async () => {
    const web = await readAccessReview(store, { ...SCOPE, repo: "ACME/we*" });
    expect(ids(web.grants)).toEqual(ids([ledger.late, ledger.hostile, ledger.leftover]));
    expect(web.filters).toEqual({ repo: "ACME/we*", secret: null });

    const payments = await readAccessReview(store, { ...SCOPE, secret: "payments_key" });
    expect(ids(payments.grants)).toEqual(
      ids([ledger.early, ledger.glassReviewed, ledger.glassUnreviewed, ledger.hostile, ledger.leftover, ledger.overdue]),
    );

    const both = await readAccessReview(store, { ...SCOPE, repo: "acme/api", secret: "PAYMENTS_KEY" });
    expect(ids(both.grants)).toEqual(ids([ledger.early, ledger.glassReviewed, ledger.glassUnreviewed, ledger.overdue]));
    expect(both.exceptions.withoutApproval.map((note) => note.grantId)).toEqual([ledger.glassUnreviewed.id]);
    expect(both.summary.breakGlass).toEqual({ grants: 2, reviewed: 1 });
    expect(both.exceptions.outlived.map((note) => note.grantId)).toEqual([ledger.overdue.id]);
  });

  it("reviews a period that has not ended up to now, and no further", async () => {
    const review = await readAccessReview(store, {
      ...SCOPE,
      since: new Date("2026-03-07T00:00:00Z"),
      until: new Date("2026-04-01T00:00:00Z"),
    });
    expect(review.period.asOf).toBe(REVIEW_NOW.toISOString());
    const overdue = review.grants.find((g) => g.id === ledger.overdue.id)!;
    expect(overdue.lateMs).toBe(REVIEW_NOW.getTime() - ledger.overdue.expiresAt.getTime());
    expect(overdue.actualMs).toBe(REVIEW_NOW.getTime() - ledger.overdue.grantedAt!.getTime());
  });

  it("finds no exception in a quiet period, and says the chain is intact", async () => {
    const review = await readAccessReview(store, {
      ...SCOPE,
      since: new Date("2026-03-01T08:00:00Z"),
      until: new Date("2026-03-02T00:00:00Z"),
    });
    expect(ids(review.grants)).toEqual(ids([ledger.onTime, ledger.overlapping]));
    expect(review.exceptions.withoutApproval).toEqual([]);
    expect(review.exceptions.outlived).toEqual([]);
    expect(review.exceptions.auditChain.intact).toBe(true);
  });

  it("refuses a period that does not start before it ends", () => {
    expect(() => new AccessReviewBuilder({ ...SCOPE, until: REVIEW_SINCE })).toThrow("the period must start before it ends");
  });
});

describe("an audit chain break", () => {
  it("is an exception naming the first broken record", async () => {
    const dir = await tempLedgerDir();
    const fileStore = await openLedger(dir.url());
    try {
      await seedReviewLedger(fileStore);
      const raw = new Database(dir.path("ledger.db"));
      raw.exec("DROP TRIGGER audit_rows_are_never_updated");
      raw.exec(`UPDATE audit SET actor = 'someone-else' WHERE seq = 5`);
      raw.close();

      const review = await readAccessReview(fileStore, SCOPE);
      expect(review.exceptions.auditChain).toEqual({
        intact: false,
        seq: 5,
        recordsIntact: 4,
        problem: expect.stringContaining("does not match its hash"),
      });
    } finally {
      await fileStore.close();
      await dir.remove();
    }
  });
});

describe("median", () => {
  it.each([
    [[], null],
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])("of %p is %p", (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

it("late means more than LATE_AFTER_MS after the expiry", () => {
  const builder = new AccessReviewBuilder(SCOPE);
  const base = grantFixture({ createdAt: new Date("2026-03-02T10:00:00Z"), durationMs: HOUR });
  const at = (ms: number) => new Date(base.createdAt.getTime() + HOUR + ms);
  const make = (id: string, endedAt: Date): Grant =>
    activeGrant({ ...base, id, repositoryId: null, endedAt, state: "expired", endReason: "expired" });
  builder.addGrants([make("on-the-edge", at(LATE_AFTER_MS)), make("late", at(LATE_AFTER_MS + 1_000))]);
  const review = builder.finish({ ok: true, count: 0, lastSeq: null, lastHash: "0".repeat(64) });
  expect(review.summary.lateRevocations.map((r) => r.grantId)).toEqual(["late"]);
});
