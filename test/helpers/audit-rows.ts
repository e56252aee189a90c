import Database from "better-sqlite3";
import { auditHash, canonicalDetails, GENESIS_HASH } from "../../src/ledger/audit-chain.js";
import { sqliteFilename } from "../../src/ledger/sqlite-open.js";
import type { AuditInput } from "../../src/ledger/store.js";

/**
 * Appends `count` chained audit records to the (migrated) SQLite ledger at `databaseUrl` in one
 * transaction, as fast as SQLite takes them: a long log for export and archive tests, without a
 * transaction and a sync per record. Record n is at `start + n` minutes, with a reason of some
 * length, as the lifecycle writes them.
 */
export function appendAuditRows(databaseUrl: string, count: number, start = Date.parse("2020-01-01T00:00:00Z")): void {
  const db = new Database(sqliteFilename(databaseUrl));
  try {
    const head = db.prepare<[], { seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").get();
    const insert = db.prepare(
      `INSERT INTO audit (seq, at, action, actor, owner, repo, pr_number, environment, secret, details, prev_hash, hash)
       VALUES (@seq, @at, @action, @actor, @owner, @repo, @prNumber, @environment, @secret, @details, @prevHash, @hash)`,
    );
    db.transaction(() => {
      let seq = head?.seq ?? 0;
      let prevHash = head?.hash ?? GENESIS_HASH;
      for (let i = 0; i < count; i += 1) {
        seq += 1;
        const event: AuditInput = {
          at: new Date(start + seq * 60_000),
          action: "approved",
          actor: `reviewer-${seq % 97}`,
          owner: "acme",
          repo: `service-${seq % 13}`,
          prNumber: seq,
          environment: "production",
          secret: "PROD_DB_URL",
          details: {
            reason: `INC-${seq}: inspect the stuck migrations on the primary before the release window`,
            approvers: ["owner-one", "owner-two"],
          },
        };
        const hash = auditHash(seq, prevHash, event);
        insert.run({
          seq,
          at: event.at.getTime(),
          action: event.action,
          actor: event.actor,
          owner: event.owner,
          repo: event.repo,
          prNumber: event.prNumber!,
          environment: event.environment!,
          secret: event.secret!,
          details: canonicalDetails(event.details),
          prevHash,
          hash,
        });
        prevHash = hash;
      }
    })();
  } finally {
    db.close();
  }
}
