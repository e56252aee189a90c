import type { AuditInput, Grant, LedgerStore, NewGrant } from "../../src/ledger/store.js";
import { CLOSED_UNMERGED_REASON } from "../../src/revoke/end-reasons.js";
import { grantFixture } from "./grant-fixture.js";

/**
 * A week of grants for access-review tests, written through the store as the grant flow writes
 * them (each state change with its audit record). The review covers `REVIEW_SINCE` to
 * `REVIEW_UNTIL` and is made at `REVIEW_NOW`, after the week.
 *
 *   name         where                               ends                                    in the review
 *   spanning     acme/api production PROD_DB_URL     expired 03-01 01:00, written the day before   yes (clipped);
 *                                                   approvers' permissions not recorded (an older row)
 *   onTime       acme/api production PROD_DB_URL     expired on time                          yes
 *   overlapping  acme/api production PROD_DB_URL     expired on time, overlaps onTime          yes
 *   closed       acme/api production PROD_DB_URL     PR closed after 90 min of 4 h            yes; dave approved
 *                                                   as admin, through @acme/dba
 *   early        acme/api production PAYMENTS_KEY    revoked by an operator after 20 min      yes
 *   late         acme/web production PROD_DB_URL     2 failed deletes, deleted 3 h late       yes: exception
 *   unapproved   acme/api staging PROD_DB_URL        no approver recorded, expired            yes: exception
 *   glassReviewed   acme/api production PAYMENTS_KEY break-glass, expired, reviewed by carol  yes
 *   glassUnreviewed acme/api production PAYMENTS_KEY break-glass, expired, never reviewed     yes: exception
 *   hostile      acme/web staging PAYMENTS_KEY       expired; its reason is an <img> tag      yes
 *   failed       acme/api production PROD_DB_URL     GitHub refused the write                 table only
 *   leftover     acme/web production PAYMENTS_KEY    revoked, then a delete failed            yes: exception
 *   overdue      acme/api production PAYMENTS_KEY    still live, 3 h past expiry at the end    yes: exception
 *   before       acme/api production PROD_DB_URL     ended the week before                    no
 */
export const REVIEW_SINCE = new Date("2026-03-01T00:00:00Z");
export const REVIEW_UNTIL = new Date("2026-03-08T00:00:00Z");
export const REVIEW_NOW = new Date("2026-03-10T12:00:00Z");

export const HOSTILE_REASON = "<img src=x onerror=alert(1)>";
export const FORMULA_REASON = '=HYPERLINK("http://evil.example/","INC-1")';

const HOUR = 3_600_000;
const MINUTE = 60_000;

export type ReviewLedger = Record<
  | "spanning"
  | "onTime"
  | "overlapping"
  | "closed"
  | "early"
  | "late"
  | "unapproved"
  | "glassReviewed"
  | "glassUnreviewed"
  | "hostile"
  | "failed"
  | "leftover"
  | "overdue"
  | "before",
  Grant
>;

export async function seedReviewLedger(store: LedgerStore): Promise<ReviewLedger> {
  const audit = (
    grant: Pick<Grant, "owner" | "repo" | "prNumber" | "environment" | "secret">,
    action: AuditInput["action"],
    at: Date,
    actor = "jit-access",
    details?: Record<string, unknown>,
  ): AuditInput => ({
    at,
    action,
    actor,
    owner: grant.owner,
    repo: grant.repo,
    prNumber: grant.prNumber,
    environment: grant.environment,
    secret: grant.secret,
    ...(details !== undefined && { details }),
  });
  // Each approver's permission at the time, as the grant flow records it: write, through their
  // own name, unless a grant says otherwise; `notRecorded` writes a grant as the ledger did before
  // it kept them.
  const begin = async (overrides: Partial<NewGrant> & { createdAt: Date; notRecorded?: true }): Promise<Grant> => {
    const { notRecorded, ...rest } = overrides;
    const approvers = rest.approvers ?? grantFixture().approvers;
    const fixture = grantFixture({
      ...(notRecorded ? {} : { approverPermissions: approvers.map((a) => ({ ...a, permission: "write" as const, via: `@${a.login}` })) }),
      ...rest,
    });
    const { grant } = await store.beginGrant(
      fixture,
      audit(fixture, "granting", fixture.createdAt, "jit-access", {
        approvers: fixture.approverPermissions ?? fixture.approvers.map((a) => a.login),
      }),
    );
    return grant;
  };
  const activate = async (grant: Grant, afterMs = 2_000): Promise<Grant> => {
    const at = new Date(grant.createdAt.getTime() + afterMs);
    return store.markActive(grant.id, at, audit(grant, "granted", at));
  };
  const expire = async (grant: Grant, lateMs = 3_000): Promise<Grant> => {
    const at = new Date(grant.expiresAt.getTime() + lateMs);
    return store.markEnded(grant.id, "expired", "expired", at, audit(grant, "expired", at, "jit-access", { reason: "expired" }));
  };
  const revoke = async (grant: Grant, afterMs: number, reason: string, actor: string): Promise<Grant> => {
    const at = new Date((grant.grantedAt ?? grant.createdAt).getTime() + afterMs);
    return store.markEnded(grant.id, "revoked", reason, at, audit(grant, "revoked", at, actor, { reason }));
  };
  const failDelete = async (
    grant: Grant,
    at: Date,
    attempts: number,
    pendingEnd?: { kind: "revoked"; reason: string; actor: string },
  ): Promise<Grant> =>
    store.recordRevokeFailure(
      grant.id,
      "GitHub answered HTTP 502 to the DELETE",
      new Date(at.getTime() + 5 * MINUTE),
      pendingEnd,
      audit(grant, "revoke_failed", at, "jit-access", { error: "GitHub answered HTTP 502 to the DELETE", attempts }),
    );

  const people = {
    alice: { id: 101, login: "alice" },
    bob: { id: 202, login: "bob" },
    carol: { id: 303, login: "carol" },
    dave: { id: 404, login: "dave" },
    erin: { id: 505, login: "erin" },
    frank: { id: 606, login: "frank" },
    grace: { id: 707, login: "grace" },
    mallory: { id: 666, login: "mallory" },
    heidi: { id: 808, login: "heidi" },
  };

  const before = await activate(await begin({ createdAt: new Date("2026-02-20T09:00:00Z"), durationMs: HOUR, prNumber: 1 }));
  const spanning = await activate(
    await begin({
      createdAt: new Date("2026-02-28T23:00:00Z"),
      durationMs: 2 * HOUR,
      prNumber: 2,
      requester: people.dave,
      approvers: [people.bob],
      // Recorded before the ledger kept the approvers' permissions.
      notRecorded: true,
    }),
  );
  const onTime = await activate(
    await begin({
      createdAt: new Date("2026-03-01T09:00:00Z"),
      durationMs: 2 * HOUR,
      prNumber: 3,
      requester: people.alice,
      approvers: [people.bob],
    }),
  );
  const overlapping = await activate(
    await begin({
      createdAt: new Date("2026-03-01T10:00:00Z"),
      durationMs: HOUR,
      prNumber: 4,
      requester: people.dave,
      approvers: [people.bob],
    }),
  );
  const closed = await activate(
    await begin({
      createdAt: new Date("2026-03-02T10:00:00Z"),
      durationMs: 4 * HOUR,
      prNumber: 5,
      requester: people.carol,
      approvers: [people.bob, people.dave],
      approverPermissions: [
        { ...people.bob, permission: "write", via: "@bob" },
        { ...people.dave, permission: "admin", via: "@acme/dba" },
      ],
      reason: "INC-4300: rotate the read replica",
    }),
  );
  const early = await activate(
    await begin({
      createdAt: new Date("2026-03-03T14:00:00Z"),
      durationMs: HOUR,
      prNumber: 6,
      secret: "PAYMENTS_KEY",
      requester: people.alice,
      approvers: [people.dave],
      reason: "INC-4301: refund batch stuck",
    }),
  );
  const late = await activate(
    await begin({
      createdAt: new Date("2026-03-04T08:00:00Z"),
      durationMs: 2 * HOUR,
      prNumber: 7,
      repo: "web",
      requester: people.erin,
      approvers: [people.bob],
      reason: "INC-4302: cache warm-up",
    }),
  );
  const unapproved = await activate(
    await begin({
      createdAt: new Date("2026-03-05T12:00:00Z"),
      durationMs: 30 * MINUTE,
      prNumber: 8,
      environment: "staging",
      requester: people.mallory,
      approvers: [],
      reason: FORMULA_REASON,
    }),
  );
  // Break-glass: granted at once without approval, as the grant flow records it: one
  // `break_glass` record for the pull request (naming no grant), then the grant (approvers empty).
  const breakGlassRecord = (prNumber: number, at: Date) =>
    store.appendAudit({
      ...audit({ owner: "acme", repo: "api", prNumber, environment: "production", secret: "PAYMENTS_KEY" }, "break_glass", at, "heidi"),
    });
  await breakGlassRecord(13, new Date("2026-03-04T22:00:00Z"));
  const glassReviewed = await activate(
    await begin({
      createdAt: new Date("2026-03-04T22:00:00Z"),
      durationMs: HOUR,
      prNumber: 13,
      secret: "PAYMENTS_KEY",
      requester: people.heidi,
      approvers: [],
      breakGlass: true,
      reason: "INC-4303: payments down at night",
    }),
  );
  await breakGlassRecord(14, new Date("2026-03-06T02:00:00Z"));
  const glassUnreviewed = await activate(
    await begin({
      createdAt: new Date("2026-03-06T02:00:00Z"),
      durationMs: 30 * MINUTE,
      prNumber: 14,
      secret: "PAYMENTS_KEY",
      requester: people.heidi,
      approvers: [],
      breakGlass: true,
      reason: "INC-4304: card processor timeouts",
    }),
  );
  const hostile = await activate(
    await begin({
      createdAt: new Date("2026-03-06T09:00:00Z"),
      durationMs: 2 * HOUR,
      prNumber: 9,
      repo: "web",
      environment: "staging",
      secret: "PAYMENTS_KEY",
      requester: people.frank,
      approvers: [people.carol],
      reason: HOSTILE_REASON,
    }),
  );
  const failedRow = await begin({
    createdAt: new Date("2026-03-06T15:00:00Z"),
    durationMs: HOUR,
    prNumber: 10,
    requester: people.alice,
    approvers: [people.bob],
  });
  const failedAt = new Date(failedRow.createdAt.getTime() + 1_000);
  const failed = await store.markFailed(
    failedRow.id,
    "GitHub refused to write the secret (HTTP 422)",
    failedAt,
    audit(failedRow, "failed", failedAt),
  );
  const leftoverRow = await begin({
    createdAt: new Date("2026-03-07T10:00:00Z"),
    durationMs: HOUR,
    prNumber: 11,
    repo: "web",
    secret: "PAYMENTS_KEY",
    requester: people.grace,
    approvers: [people.carol],
  });
  const overdue = await activate(
    await begin({
      createdAt: new Date("2026-03-07T20:00:00Z"),
      durationMs: HOUR,
      prNumber: 12,
      secret: "PAYMENTS_KEY",
      requester: people.grace,
      approvers: [people.dave],
      reason: "INC-4305: payments reconciliation",
    }),
  );

  const endedOnTime = await expire(onTime);
  const endedOverlapping = await expire(overlapping);
  const endedSpanning = await expire(spanning);
  const endedBefore = await expire(before);
  const endedClosed = await revoke(closed, 90 * MINUTE, CLOSED_UNMERGED_REASON, "carol");
  const endedEarly = await revoke(early, 20 * MINUTE, "done: refunds went through", "operator:dana");
  await failDelete(late, late.expiresAt, 1);
  await failDelete(late, new Date(late.expiresAt.getTime() + HOUR), 2);
  const endedLate = await expire(late, 3 * HOUR);
  const endedUnapproved = await expire(unapproved);
  const endedHostile = await expire(hostile);
  await expire(glassReviewed);
  await expire(glassUnreviewed);
  // A code owner approved the first break-glass pull request the next morning: its review.
  const reviewedAt = new Date("2026-03-05T09:00:00Z");
  const { grant: endedGlassReviewed } = await store.recordBreakGlassReview(glassReviewed.id, people.carol, reviewedAt, {
    ...audit(glassReviewed, "break_glass_reviewed", reviewedAt, "carol", { reviewer: { id: people.carol.id, login: people.carol.login } }),
    grantId: glassReviewed.id,
  });
  const endedGlassUnreviewed = (await store.getGrant(glassUnreviewed.id))!;
  // Ended while its write was in flight; deleting what the write may have left then failed.
  const endedLeftover = await revoke(leftoverRow, 30_000, "approval withdrawn", "jit-access");
  await store.appendAudit({
    ...audit(leftoverRow, "revoke_failed", new Date(endedLeftover.endedAt!.getTime() + 2_000), "jit-access", {
      why: "the grant was revoked while its secret was being written",
      error: "GitHub answered HTTP 502 to the DELETE",
    }),
    grantId: leftoverRow.id,
  });
  // Its revocation keeps failing: still live at the end of the week, and now.
  const overdueNow = await failDelete(overdue, overdue.expiresAt, 1);

  return {
    before: endedBefore,
    spanning: endedSpanning,
    onTime: endedOnTime,
    overlapping: endedOverlapping,
    closed: endedClosed,
    early: endedEarly,
    late: endedLate,
    unapproved: endedUnapproved,
    glassReviewed: endedGlassReviewed,
    glassUnreviewed: endedGlassUnreviewed,
    hostile: endedHostile,
    failed,
    leftover: endedLeftover,
    overdue: overdueNow,
  };
}
