/**
 * The audit log read a page at a time, oldest first, for callers that may meet millions of
 * records (an export, an archive): each page is a `listAudit` query after the last seq of the
 * page before, so only one page is held at a time, whatever the store.
 */
import type { AuditEvent, LedgerStore } from "./store.js";

/** Records per page: small enough to hold, large enough that the queries cost little. */
export const AUDIT_PAGE_SIZE = 1_000;

export interface AuditPagesOptions {
  /** Only records at or after this instant. */
  since?: Date;
  /** Only records after this seq. */
  afterSeq?: number;
  /** Only records up to this seq. */
  throughSeq?: number;
  pageSize?: number;
}

/** Yields the records in seq order, one non-empty page at a time. */
export async function* readAuditPages(store: LedgerStore, options: AuditPagesOptions = {}): AsyncGenerator<AuditEvent[], void, undefined> {
  const { since, throughSeq, pageSize = AUDIT_PAGE_SIZE } = options;
  let afterSeq = options.afterSeq ?? 0;
  for (;;) {
    const page = await store.listAudit({ ...(since !== undefined && { since }), afterSeq, limit: pageSize });
    const kept = throughSeq === undefined ? page : page.filter((event) => event.seq <= throughSeq);
    if (kept.length > 0) yield kept;
    if (page.length < pageSize || kept.length < page.length) return;
    afterSeq = page.at(-1)!.seq;
  }
}
