/**
 * The webhook inbox in the SQLite ledger (`webhook_inbox`, `hook_redeliveries`; migration 10),
 * for `SqliteStore`, which runs these inside its own error handling. A claim is one IMMEDIATE
 * transaction: SQLite lets one writer in at a time, so two processes on one file never claim the
 * same entry.
 */
import type Database from "better-sqlite3";
import {
  abandonedError,
  checkClaim,
  checkNewDelivery,
  checkTime,
  shortError,
  type InboxClaim,
  type InboxCounts,
  type InboxEntry,
  type InboxState,
  type NewDelivery,
} from "./inbox-entries.js";

type Params = Record<string, string | number | null>;

export interface InboxRow {
  delivery_id: string;
  event: string;
  payload: string;
  bytes: number | string;
  received_at: number | string;
  state: InboxState;
  attempts: number | string;
  next_attempt_at: number | string;
  claimed_by: string | null;
  claim_expires_at: number | string | null;
  last_error: string | null;
  finished_at: number | string | null;
}

export function toInboxEntry(row: InboxRow): InboxEntry {
  const date = (value: number | string | null): Date | null => (value === null ? null : new Date(Number(value)));
  return {
    id: row.delivery_id,
    event: row.event,
    payload: row.payload,
    bytes: Number(row.bytes),
    receivedAt: new Date(Number(row.received_at)),
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(Number(row.next_attempt_at)),
    claimedBy: row.claimed_by,
    claimExpiresAt: date(row.claim_expires_at),
    lastError: row.last_error,
    finishedAt: date(row.finished_at),
  };
}

export class SqliteInbox {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare<Params>(
        `INSERT INTO webhook_inbox (delivery_id, event, payload, bytes, received_at, next_attempt_at)
         VALUES (@id, @event, @payload, @bytes, @receivedAt, @receivedAt)
         ON CONFLICT (delivery_id) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.received_at,
           finished_at = NULL, claimed_by = NULL, claim_expires_at = NULL
         WHERE webhook_inbox.state = 'dead'`,
      ),
      abandon: db.prepare<Params>(
        `UPDATE webhook_inbox SET state = 'dead', finished_at = @now, claimed_by = NULL, claim_expires_at = NULL,
           last_error = @abandoned || coalesce(' (last error: ' || last_error || ')', '')
         WHERE state = 'pending' AND claim_expires_at IS NOT NULL AND claim_expires_at <= @now AND attempts >= @maxAttempts`,
      ),
      claim: db.prepare<Params, InboxRow>(
        `UPDATE webhook_inbox SET claimed_by = @owner, claim_expires_at = @until, attempts = attempts + 1
         WHERE delivery_id IN (
           SELECT delivery_id FROM webhook_inbox
           WHERE state = 'pending' AND next_attempt_at <= @now AND (claim_expires_at IS NULL OR claim_expires_at <= @now)
           ORDER BY received_at, delivery_id LIMIT @limit)
         RETURNING *`,
      ),
      complete: db.prepare<Params>(
        `UPDATE webhook_inbox SET state = 'done', finished_at = @at, claimed_by = NULL, claim_expires_at = NULL
         WHERE delivery_id = @id AND state = 'pending' AND claimed_by = @owner`,
      ),
      retry: db.prepare<Params>(
        `UPDATE webhook_inbox SET next_attempt_at = @retryAt, last_error = @error, claimed_by = NULL, claim_expires_at = NULL
         WHERE delivery_id = @id AND state = 'pending' AND claimed_by = @owner`,
      ),
      dead: db.prepare<Params>(
        `UPDATE webhook_inbox SET state = 'dead', finished_at = @at, last_error = @error, claimed_by = NULL, claim_expires_at = NULL
         WHERE delivery_id = @id AND state = 'pending' AND claimed_by = @owner`,
      ),
      release: db.prepare<Params>(
        `UPDATE webhook_inbox SET claimed_by = NULL, claim_expires_at = NULL, attempts = max(attempts - 1, 0)
         WHERE state = 'pending' AND claimed_by = @owner`,
      ),
      byId: db.prepare<[string], InboxRow>("SELECT * FROM webhook_inbox WHERE delivery_id = ?"),
      byState: db.prepare<Params, InboxRow>(
        "SELECT * FROM webhook_inbox WHERE state = @state ORDER BY received_at, delivery_id LIMIT @limit",
      ),
      counts: db.prepare<[], { state: InboxState; n: number }>("SELECT state, count(*) AS n FROM webhook_inbox GROUP BY state"),
      prune: db.prepare<Params>("DELETE FROM webhook_inbox WHERE state = 'done' AND finished_at < @before"),
      redelivery: db.prepare<Params>(
        `INSERT INTO hook_redeliveries (guid, delivery_id, requested_at) VALUES (@guid, @deliveryId, @at)
         ON CONFLICT (guid) DO NOTHING`,
      ),
    };
  }

  record(delivery: NewDelivery): { created: boolean } {
    return this.insert(delivery, checkNewDelivery(delivery));
  }

  /** Every delivery checked first, then all inserted in one transaction: one commit, all or none. */
  recordMany(deliveries: readonly NewDelivery[]): Array<{ created: boolean }> {
    const bytes = deliveries.map(checkNewDelivery);
    return this.db.transaction(() => deliveries.map((delivery, i) => this.insert(delivery, bytes[i]!))).immediate();
  }

  private insert(delivery: NewDelivery, bytes: number): { created: boolean } {
    const { changes } = this.statements.insert.run({
      id: delivery.id,
      event: delivery.event,
      payload: delivery.payload,
      bytes,
      receivedAt: delivery.receivedAt.getTime(),
    });
    return { created: changes === 1 };
  }

  claim(claim: InboxClaim): InboxEntry[] {
    checkClaim(claim);
    const now = claim.now.getTime();
    return this.db
      .transaction(() => {
        this.statements.abandon.run({ now, maxAttempts: claim.maxAttempts, abandoned: abandonedError(claim.maxAttempts) });
        return this.statements.claim
          .all({ owner: claim.owner, now, until: now + claim.leaseMs, limit: claim.limit })
          .map(toInboxEntry)
          .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.id < b.id ? -1 : 1));
      })
      .immediate();
  }

  complete(id: string, owner: string, at: Date): boolean {
    return this.statements.complete.run({ id, owner, at: checkTime(at, "at") }).changes === 1;
  }

  fail(id: string, owner: string, error: string, at: Date, retryAt: Date | null): boolean {
    const params = { id, owner, error: shortError(error) };
    const { changes } =
      retryAt === null
        ? this.statements.dead.run({ ...params, at: checkTime(at, "at") })
        : this.statements.retry.run({ ...params, retryAt: checkTime(retryAt, "retryAt") });
    return changes === 1;
  }

  release(owner: string): number {
    return this.statements.release.run({ owner }).changes;
  }

  get(id: string): InboxEntry | null {
    const row = this.statements.byId.get(id);
    return row === undefined ? null : toInboxEntry(row);
  }

  list(state: InboxState, limit: number): InboxEntry[] {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`listDeliveries: limit must be a positive whole number, got ${limit}`);
    return this.statements.byState.all({ state, limit }).map(toInboxEntry);
  }

  counts(): InboxCounts {
    const counts: InboxCounts = { pending: 0, done: 0, dead: 0 };
    for (const row of this.statements.counts.all()) counts[row.state] = Number(row.n);
    return counts;
  }

  prune(before: Date): number {
    return this.statements.prune.run({ before: checkTime(before, "before") }).changes;
  }

  recordRedelivery(guid: string, deliveryId: number, at: Date): boolean {
    if (guid.length === 0 || guid.length > 200) throw new Error("a redelivery needs the delivery's guid");
    if (!Number.isSafeInteger(deliveryId)) throw new Error(`a redelivery needs the delivery log entry's id, got ${deliveryId}`);
    return this.statements.redelivery.run({ guid, deliveryId, at: checkTime(at, "at") }).changes === 1;
  }
}
