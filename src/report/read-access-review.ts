/**
 * Reads what an access review needs from the ledger and builds it: the period's grants a page at
 * a time (`grantsInPeriod`), then the audit records from the first grant's creation on, then the
 * hash chain's verification. Through `LedgerStore` only, so any store serves.
 */
import type { Grant, LedgerStore } from "../ledger/store.js";
import { AccessReviewBuilder, type AccessReview, type ReviewScope } from "./access-review.js";

/** Grants read per query: few queries (SQLite has no index on creation time), little memory each. */
export const REVIEW_PAGE_SIZE = 2_000;

export async function readAccessReview(store: LedgerStore, scope: ReviewScope, pageSize = REVIEW_PAGE_SIZE): Promise<AccessReview> {
  const builder = new AccessReviewBuilder(scope);
  const period = { from: scope.since, until: scope.until, ...(scope.secret !== undefined && { secret: scope.secret }) };
  let after: Grant | undefined;
  for (;;) {
    const page = await store.grantsInPeriod(period, pageSize, after && { createdAt: after.createdAt, id: after.id });
    builder.addGrants(page);
    if (page.length < pageSize) break;
    after = page.at(-1);
  }
  builder.addAudit(await store.listAudit({ since: builder.auditFrom() }));
  return builder.finish(await store.verifyAudit());
}
