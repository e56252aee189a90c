/**
 * The notification outbox and request heads in the SQLite ledger (migration 12), for
 * `SqliteStore`, which runs these inside its own error handling and transactions.
 */
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import {
  checkNewNotification,
  checkNewRequestHead,
  type NewNotification,
  type NewRequestHead,
  type Notification,
  type RequestHead,
  type RequestHeadKey,
} from "./notify-rows.js";

type Params = Record<string, string | number | null>;

interface OutboxRow {
  id: string;
  url: string;
  event: string;
  body: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  abandoned_at: number | null;
  last_error: string | null;
}

interface HeadRow {
  installation_id: number;
  owner: string;
  repo: string;
  pr_number: number;
  head_sha: string;
  first_evaluated_at: number;
  lapses_at: number;
  ttl_ms: number;
  lapsed_at: number | null;
  approved_at: number | null;
}

export class SqliteNotify {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insert: db.prepare<Params>(
        `INSERT INTO notify_outbox (id, url, event, body, created_at, next_attempt_at)
         VALUES (@id, @url, @event, @body, @createdAt, @createdAt)`,
      ),
      byId: db.prepare<[string], OutboxRow>("SELECT * FROM notify_outbox WHERE id = ?"),
      due: db.prepare<Params, OutboxRow>(
        `SELECT * FROM notify_outbox WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= @now
         ORDER BY next_attempt_at, created_at, id LIMIT @limit`,
      ),
      delivered: db.prepare<Params>("UPDATE notify_outbox SET delivered_at = @at WHERE id = @id AND delivered_at IS NULL"),
      failed: db.prepare<Params>(
        `UPDATE notify_outbox SET attempts = attempts + 1, last_error = @error,
           next_attempt_at = coalesce(@next, next_attempt_at), abandoned_at = CASE WHEN @next IS NULL THEN @at ELSE abandoned_at END
         WHERE id = @id AND delivered_at IS NULL AND abandoned_at IS NULL`,
      ),
      list: db.prepare<Params, OutboxRow>("SELECT * FROM notify_outbox WHERE created_at >= @since ORDER BY created_at, id"),
      insertHead: db.prepare<Params>(
        `INSERT INTO request_heads (installation_id, owner, repo, pr_number, head_sha, first_evaluated_at, lapses_at, ttl_ms)
         VALUES (@installationId, @owner, @repo, @prNumber, @headSha, @firstEvaluatedAt, @lapsesAt, @ttlMs)
         ON CONFLICT (owner, repo, pr_number, head_sha) DO NOTHING`,
      ),
      head: db.prepare<Params, HeadRow>(
        "SELECT * FROM request_heads WHERE owner = @owner AND repo = @repo AND pr_number = @prNumber AND head_sha = @headSha",
      ),
      lapsing: db.prepare<Params, HeadRow>(
        `SELECT * FROM request_heads WHERE lapsed_at IS NULL AND approved_at IS NULL AND lapses_at <= @now
         ORDER BY lapses_at, owner, repo, pr_number LIMIT @limit`,
      ),
      settleLapsed: db.prepare<Params>(
        `UPDATE request_heads SET lapsed_at = @at
         WHERE owner = @owner AND repo = @repo AND pr_number = @prNumber AND head_sha = @headSha AND lapsed_at IS NULL AND approved_at IS NULL`,
      ),
      settleApproved: db.prepare<Params>(
        `UPDATE request_heads SET approved_at = @at
         WHERE owner = @owner AND repo = @repo AND pr_number = @prNumber AND head_sha = @headSha AND lapsed_at IS NULL AND approved_at IS NULL`,
      ),
    };
  }

  enqueue(notifications: NewNotification[]): Notification[] {
    notifications.forEach(checkNewNotification);
    return notifications.map((n) => {
      const id = randomUUID();
      this.statements.insert.run({ id, url: n.url, event: n.event, body: n.body, createdAt: n.createdAt.getTime() });
      return toNotification(this.statements.byId.get(id)!);
    });
  }

  due(now: Date, limit: number): Notification[] {
    return this.statements.due.all({ now: now.getTime(), limit }).map(toNotification);
  }

  delivered(id: string, at: Date): void {
    this.statements.delivered.run({ id, at: at.getTime() });
  }

  failed(id: string, error: string, at: Date, nextAttemptAt: Date | null): Notification {
    this.statements.failed.run({ id, error: error.slice(0, 500), at: at.getTime(), next: nextAttemptAt?.getTime() ?? null });
    const row = this.statements.byId.get(id);
    if (row === undefined) throw new Error(`no notification ${id} in the outbox`);
    return toNotification(row);
  }

  list(since?: Date): Notification[] {
    return this.statements.list.all({ since: since?.getTime() ?? 0 }).map(toNotification);
  }

  recordHead(head: NewRequestHead): RequestHead {
    checkNewRequestHead(head);
    const firstEvaluatedAt = head.firstEvaluatedAt.getTime();
    this.statements.insertHead.run({
      ...keyParams(head),
      installationId: head.installationId,
      firstEvaluatedAt,
      lapsesAt: firstEvaluatedAt + head.ttlMs,
      ttlMs: head.ttlMs,
    });
    return toHead(this.statements.head.get(keyParams(head))!);
  }

  head(key: RequestHeadKey): RequestHead | null {
    const row = this.statements.head.get(keyParams(key));
    return row === undefined ? null : toHead(row);
  }

  lapsing(now: Date, limit: number): RequestHead[] {
    return this.statements.lapsing.all({ now: now.getTime(), limit }).map(toHead);
  }

  settle(key: RequestHeadKey, outcome: "lapsed" | "approved", at: Date): { head: RequestHead; settled: boolean } | null {
    const statement = outcome === "lapsed" ? this.statements.settleLapsed : this.statements.settleApproved;
    const { changes } = statement.run({ ...keyParams(key), at: at.getTime() });
    const row = this.statements.head.get(keyParams(key));
    return row === undefined ? null : { head: toHead(row), settled: changes === 1 };
  }
}

function keyParams(key: RequestHeadKey): Params {
  return { owner: key.owner, repo: key.repo, prNumber: key.prNumber, headSha: key.headSha };
}

const dateOrNull = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function toNotification(row: OutboxRow): Notification {
  return {
    id: row.id,
    url: row.url,
    event: row.event,
    body: row.body,
    createdAt: new Date(Number(row.created_at)),
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(Number(row.next_attempt_at)),
    deliveredAt: dateOrNull(row.delivered_at === null ? null : Number(row.delivered_at)),
    abandonedAt: dateOrNull(row.abandoned_at === null ? null : Number(row.abandoned_at)),
    lastError: row.last_error,
  };
}

export function toHead(row: HeadRow): RequestHead {
  return {
    installationId: Number(row.installation_id),
    owner: row.owner,
    repo: row.repo,
    prNumber: Number(row.pr_number),
    headSha: row.head_sha,
    firstEvaluatedAt: new Date(Number(row.first_evaluated_at)),
    lapsesAt: new Date(Number(row.lapses_at)),
    ttlMs: Number(row.ttl_ms),
    lapsedAt: dateOrNull(row.lapsed_at === null ? null : Number(row.lapsed_at)),
    approvedAt: dateOrNull(row.approved_at === null ? null : Number(row.approved_at)),
  };
}

export type { OutboxRow, HeadRow };
