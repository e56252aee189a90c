import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import Database from "better-sqlite3";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from "../../src/ledger/migrations.js";
import { DEFAULT_DATABASE_URL, openLedger } from "../../src/ledger/open-ledger.js";
import { configureConnection, sqliteFilename } from "../../src/ledger/sqlite-open.js";
import { auditHash, GENESIS_HASH } from "../../src/ledger/audit-chain.js";
import { SqliteStore } from "../../src/ledger/sqlite-store.js";
import { LedgerStorageError } from "../../src/ledger/store.js";
import { replicaContract } from "./replica-contract.js";
import { at, auditOf, ledgerContract, newGateDecision, newGrant, rejectionOf } from "./ledger-contract.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "jit-ledger-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCounter = 0;
function freshFileUrl(): string {
  fileCounter += 1;
  return `sqlite:${join(dir, `nested-${fileCounter}`, "ledger.db")}`;
}

ledgerContract("SqliteStore in memory", () => openLedger("sqlite::memory:"));
ledgerContract("SqliteStore in a file", () => openLedger(freshFileUrl()));

describe("SqliteStore on disk", () => {
  it("writes nothing of a batch of deliveries whose transaction fails part way, and rejects it", async () => {
    const url = freshFileUrl();
    const store = await openLedger(url);
    const raw = new Database(sqliteFilename(url));
    try {
      // The second insert of the batch fails as a full disk would, after the first was written.
      raw.exec(`CREATE TRIGGER fail_d2 BEFORE INSERT ON webhook_inbox WHEN NEW.delivery_id = 'd-2'
                BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
      const delivery = (id: string) => ({ id, event: "ping", payload: "{}", receivedAt: at(0) });
      const failed = store.recordDeliveries([delivery("d-1"), delivery("d-2"), delivery("d-3")]);
      await expect(failed).rejects.toThrow("the ledger could not record 3 webhook deliveries: database or disk is full");
      await expect(failed).rejects.toBeInstanceOf(LedgerStorageError);
      expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
      expect(await store.recordDeliveries([delivery("d-1"), delivery("d-3")])).toEqual([{ created: true }, { created: true }]);
    } finally {
      raw.close();
      await store.close();
    }
  });

  it("keeps grants and audit records across a restart, and migrating again changes nothing", async () => {
    const url = freshFileUrl();
    const first = await openLedger(url);
    const { grant } = await first.beginGrant(newGrant());
    const active = await first.markActive(grant.id, at(1));
    await first.appendAudit({ at: at(1), action: "granted", actor: "jit-access", owner: "acme", repo: "api", grantId: grant.id });
    await first.close();

    const second = await openLedger(url);
    expect(await second.getGrant(grant.id)).toEqual(active);
    expect(await second.listAudit()).toHaveLength(1);
    await second.close();

    const raw = new Database(sqliteFilename(url));
    try {
      expect(schemaVersion(raw)).toBe(LATEST_SCHEMA_VERSION);
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      migrate(raw);
      expect(schemaVersion(raw)).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      raw.close();
    }
    const third = await openLedger(url);
    expect(await third.getGrant(grant.id)).toEqual(active);
    await third.close();
  });

  it("enforces the append-only audit log in the database itself", async () => {
    const url = freshFileUrl();
    const store = await openLedger(url);
    await store.appendAudit({ at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api" });
    await store.close();

    const raw = new Database(sqliteFilename(url));
    try {
      expect(() => raw.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow("the audit log is append-only: rows cannot be updated");
      expect(() => raw.prepare("DELETE FROM audit").run()).toThrow(
        "the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive",
      );
      expect(raw.prepare("SELECT actor FROM audit").pluck().all()).toEqual(["requester"]);
    } finally {
      raw.close();
    }
  });

  it("enforces append-only gate decisions and answers in the database itself", async () => {
    const url = freshFileUrl();
    const store = await openLedger(url);
    const decision = newGateDecision();
    await store.recordGateDecision(decision);
    await store.recordGateAnswer(decision, { outcome: "accepted", answeredAt: at(7) });
    await store.close();

    const raw = new Database(sqliteFilename(url));
    try {
      expect(() => raw.prepare("UPDATE gate_decisions SET state = 'approved'").run()).toThrow(
        "gate decisions are append-only: rows cannot be updated",
      );
      expect(() => raw.prepare("DELETE FROM gate_decisions").run()).toThrow("gate decisions are append-only: rows cannot be deleted");
      expect(() => raw.prepare("UPDATE gate_answers SET outcome = 'refused'").run()).toThrow(
        "gate answers are append-only: rows cannot be updated",
      );
      expect(() => raw.prepare("DELETE FROM gate_answers").run()).toThrow("gate answers are append-only: rows cannot be deleted");
      // An approval without its grant is refused by the table too, not only by the store.
      expect(() =>
        raw
          .prepare(
            `INSERT INTO gate_decisions (run_id, run_attempt, environment, installation_id, repository_id, owner, repo, state, reason, comment,
               grant_id, actor, triggering_actor, workflow_path, ref, head_sha, event, run_started_at, decided_at)
             VALUES (1, 1, 'production', 1, 1, 'acme', 'api', 'approved', 'requester', '', NULL, '{}', '{}', 'w', NULL, 'h', 'push', 0, 0)`,
          )
          .run(),
      ).toThrow("CHECK constraint failed");
      expect(raw.prepare("SELECT state FROM gate_decisions").pluck().all()).toEqual(["rejected"]);
      expect(raw.prepare("SELECT outcome FROM gate_answers").pluck().all()).toEqual(["accepted"]);
    } finally {
      raw.close();
    }
  });

  it("surfaces a failed write (read-only database) as a rejection that says what to fix", async () => {
    const url = freshFileUrl();
    const writable = await openLedger(url);
    const { grant } = await writable.beginGrant(newGrant());
    await writable.close();

    const readonly = await openLedger(url, { readonly: true });
    try {
      expect(await readonly.getGrant(grant.id)).toMatchObject({ id: grant.id });
      const error = await rejectionOf(readonly.beginGrant(newGrant()));
      expect(error.message).toMatch(/^the ledger could not record grant .*: attempt to write a readonly database/);
      expect(error.message).toContain("the database is read-only");
      expect(error.cause).toMatchObject({ code: "SQLITE_READONLY" });
      await expect(readonly.markActive(grant.id, at(1))).rejects.toThrow("attempt to write a readonly database");
      await expect(readonly.appendAudit({ at: at(0), action: "validated", actor: "x", owner: "acme", repo: "api" })).rejects.toThrow(
        "attempt to write a readonly database",
      );
    } finally {
      await readonly.close();
    }
  });

  it("refuses to open read-only a database that does not exist or is not migrated", async () => {
    const missing = `sqlite:${join(dir, "missing", "ledger.db")}`;
    await expect(openLedger(missing, { readonly: true })).rejects.toThrow("cannot open the ledger database");

    const emptyFile = join(dir, "empty.db");
    new Database(emptyFile).close();
    await expect(openLedger(`sqlite:${emptyFile}`, { readonly: true })).rejects.toThrow(
      `has schema version 0, this build needs ${LATEST_SCHEMA_VERSION}; open it once without readonly`,
    );
    await expect(openLedger("sqlite::memory:", { readonly: true })).rejects.toThrow("cannot be opened read-only");
  });
});

describe("migrations", () => {
  it("are numbered 1, 2, 3… and end at the latest version", () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it("apply all pending migrations in one transaction: a failing one leaves nothing behind", () => {
    const db = new Database(":memory:");
    try {
      const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, description: "broken", sql: "CREATE TABLE x (; " }];
      expect(() => migrate(db, broken)).toThrow();
      expect(schemaVersion(db)).toBe(0);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'grants'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it("refuse a database from a newer build", () => {
    const db = new Database(":memory:");
    try {
      db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
      expect(() => migrate(db)).toThrow(`schema version ${LATEST_SCHEMA_VERSION + 1}, newer than this build knows`);
    } finally {
      db.close();
    }
  });

  it("refuse a list that is out of order", () => {
    const db = new Database(":memory:");
    try {
      expect(() => migrate(db, [{ version: 2, description: "skips 1", sql: "" }])).toThrow("numbered 1, 2, 3");
    } finally {
      db.close();
    }
  });
});

describe("configureConnection", () => {
  it("turns on WAL, full synchronous writes, a busy timeout and foreign keys, then migrates", () => {
    const file = join(dir, "configured.db");
    const db = new Database(file);
    try {
      configureConnection(db, { readonly: false });
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
      expect(db.pragma("busy_timeout", { simple: true })).toBeGreaterThan(0);
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });
});

describe("openLedger and DATABASE_URL", () => {
  it("defaults to a file under ./data", () => {
    expect(sqliteFilename(DEFAULT_DATABASE_URL)).toBe(join(process.cwd(), "data", "jit-access.db"));
  });

  it.each([
    ["sqlite:./data/ledger.db", join(process.cwd(), "data", "ledger.db")],
    ["sqlite:relative.db", join(process.cwd(), "relative.db")],
    ["sqlite:/var/lib/jit-access/ledger.db", "/var/lib/jit-access/ledger.db"],
    ["SQLite:/var/lib/jit-access/ledger.db", "/var/lib/jit-access/ledger.db"],
    ["sqlite::memory:", ":memory:"],
  ])("reads %s as %s", (url, filename) => {
    expect(sqliteFilename(url)).toBe(filename);
  });

  it.each([
    [
      "mysql://jit:hunter2@db/jit",
      'DATABASE_URL "mysql:…": the ledger is SQLite or PostgreSQL; write it like sqlite:./data/jit-access.db, sqlite:/var/lib/jit-access/ledger.db or sqlite::memory:, or postgres://USER:PASSWORD@HOST:5432/DATABASE',
    ],
    ["constructor:x", 'DATABASE_URL "constructor:…": the ledger is SQLite or PostgreSQL'],
    ["", "DATABASE_URL is empty; set it like sqlite:./data/jit-access.db"],
    ["./data/jit-access.db", "DATABASE_URL is not a URL (it has no scheme); write it like sqlite:./data/jit-access.db"],
    ["host=db password=hunter2", "DATABASE_URL is not a URL (it has no scheme)"],
    ["sqlite:", 'DATABASE_URL "sqlite:" is not a valid SQLite location: the path is empty; write it like sqlite:./data/jit-access.db'],
    ["sqlite://host/ledger.db", "host-style sqlite:// URLs are not supported"],
    ["sqlite:./ledger.db?mode=ro", "query parameters and fragments are not supported"],
  ])("rejects %j", async (url, message) => {
    const error = await rejectionOf(openLedger(url));
    expect(error.message).toContain(message);
    expect(error.message).toContain("DATABASE_URL");
    expect(error.message).not.toContain("hunter2");
  });

  it("sqliteFilename refuses a URL of another store without echoing it", () => {
    expect(() => sqliteFilename("postgres://jit:hunter2@db/jit")).toThrow('DATABASE_URL "postgres:…" does not name a SQLite database');
    expect(() => sqliteFilename("postgres://jit:hunter2@db/jit")).not.toThrow("hunter2");
  });

  it("creates the parent directory of a new database file", async () => {
    const url = `sqlite:${join(dir, "a", "b", "c", "ledger.db")}`;
    const store = await openLedger(url);
    await store.close();
    const raw = new Database(sqliteFilename(url), { fileMustExist: true });
    raw.close();
  });
});

/** A configured, migrated in-memory ledger and its raw connection, for what only SQLite can do. */
function rawStore(): { db: Database.Database; store: SqliteStore } {
  const db = new Database(":memory:");
  configureConnection(db, { readonly: false });
  return { db, store: new SqliteStore(db) };
}

describe("SqliteStore: a state change and its audit record in one transaction", () => {
  it("rolls the change back when SQLite refuses the audit record, and applies it once SQLite takes it", async () => {
    const { db, store } = rawStore();
    try {
      const { grant } = await store.beginGrant(newGrant());
      const active = await store.markActive(grant.id, at(1));
      db.exec("CREATE TRIGGER audit_write_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk I/O trouble'); END");

      const error = await rejectionOf(store.markEnded(grant.id, "revoked", "pull request closed", at(2), auditOf("revoked")));
      expect(error.message).toMatch(/^the ledger could not update grant .* \(mark it revoked\): disk I\/O trouble/);
      expect(await store.getGrant(grant.id)).toEqual(active);

      const begun = await rejectionOf(store.beginGrant(newGrant({ requestKey: "other" }), auditOf("granting")));
      expect(begun.message).toContain("disk I/O trouble");
      expect(await store.listGrants({ liveOnly: false })).toEqual([active]);

      db.exec("DROP TRIGGER audit_write_fails");
      const ended = await store.markEnded(grant.id, "revoked", "pull request closed", at(2), auditOf("revoked"));
      expect(ended.state).toBe("revoked");
      expect((await store.listAudit()).map((event) => [event.action, event.grantId])).toEqual([["revoked", grant.id]]);
    } finally {
      db.close();
    }
  });

  it("names the foreign key when a record points at a grant the ledger does not have", async () => {
    const { db, store } = rawStore();
    try {
      const error = await rejectionOf(
        store.appendAudit({ at: at(0), action: "granted", actor: "jit-access", owner: "acme", repo: "api", grantId: "nope" }),
      );
      expect(error.message).toContain('the ledger could not append audit record "granted"');
      expect(error.message).toContain("FOREIGN KEY");
    } finally {
      db.close();
    }
  });
});

describe("SqliteStore: the audit hash chain shows tampering", () => {
  /** Four records (seq 1–4) about one grant; the append-only triggers dropped, as an attacker with the file would. */
  async function tamperable(): Promise<{ db: Database.Database; store: SqliteStore; hashes: string[] }> {
    const { db, store } = rawStore();
    const { grant } = await store.beginGrant(newGrant(), auditOf("granting", { at: at(0) }));
    await store.appendAudit(auditOf("approved", { at: at(0) }));
    await store.markActive(grant.id, at(1), auditOf("granted", { at: at(1), details: { approvers: ["owner-one"] } }));
    await store.markEnded(grant.id, "expired", "expired", at(120), auditOf("expired", { at: at(120) }));
    expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4, lastSeq: 4 });
    db.exec("DROP TRIGGER audit_rows_are_never_updated; DROP TRIGGER audit_rows_are_removed_only_when_archived");
    const hashes = db.prepare("SELECT hash FROM audit ORDER BY seq").pluck().all() as string[];
    return { db, store, hashes };
  }

  it.each<[string, (db: Database.Database, hashes: string[]) => void, { seq: number; count: number; problem: RegExp }]>([
    [
      "a changed actor",
      (db) => db.exec("UPDATE audit SET actor = 'mallory' WHERE seq = 2"),
      {
        seq: 2,
        count: 1,
        problem:
          /^its content does not match its hash \(stored [0-9a-f]{12}…, computed [0-9a-f]{12}…\): the record was changed after it was written$/,
      },
    ],
    [
      "changed details",
      (db) => db.exec(`UPDATE audit SET details = json_set(details, '$.approvers', json('["mallory"]')) WHERE seq = 3`),
      { seq: 3, count: 2, problem: /does not match its hash/ },
    ],
    [
      "a changed time",
      (db) => db.exec("UPDATE audit SET at = at + 3600000 WHERE seq = 4"),
      { seq: 4, count: 3, problem: /does not match its hash/ },
    ],
    [
      "a deleted record",
      (db) => db.exec("DELETE FROM audit WHERE seq = 2"),
      {
        seq: 3,
        count: 1,
        problem: /^its prev_hash [0-9a-f]{12}… is not the hash [0-9a-f]{12}… of record 1 before it \(record 2 is missing\)/,
      },
    ],
    [
      "two deleted records",
      (db) => db.exec("DELETE FROM audit WHERE seq IN (2, 3)"),
      { seq: 4, count: 1, problem: /\(records 2 to 3 are missing\)/ },
    ],
    [
      "a deleted first record",
      (db) => db.exec("DELETE FROM audit WHERE seq = 1"),
      { seq: 2, count: 0, problem: /^it is the first record, but its prev_hash is [0-9a-f]{12}…, not the chain's start 000000000000…/ },
    ],
    [
      "a record rewritten with a hash recomputed for its new content",
      (db, hashes) => {
        const row = db.prepare("SELECT * FROM audit WHERE seq = 2").get() as {
          at: number;
          action: "approved";
          owner: string;
          repo: string;
          pr_number: number;
          environment: string;
          secret: string;
          details: string;
        };
        const forged = auditHash(2, hashes[0]!, {
          at: new Date(row.at),
          action: row.action,
          actor: "mallory",
          owner: row.owner,
          repo: row.repo,
          prNumber: row.pr_number,
          environment: row.environment,
          secret: row.secret,
          details: JSON.parse(row.details) as Record<string, unknown>,
        });
        db.prepare("UPDATE audit SET actor = 'mallory', hash = ? WHERE seq = 2").run(forged);
      },
      {
        seq: 3,
        count: 2,
        problem: /is not the hash [0-9a-f]{12}… of record 2 before it: a record was removed or inserted, or its prev_hash was changed$/,
      },
    ],
    [
      "details that no longer read as an object",
      (db) => db.exec("UPDATE audit SET details = '[1, 2]' WHERE seq = 3"),
      { seq: 3, count: 2, problem: /^it cannot be read: audit record 3 holds malformed details/ },
    ],
  ])("verifyAudit names the first broken record after %s", async (_, tamper, expected) => {
    const { db, store, hashes } = await tamperable();
    try {
      tamper(db, hashes);
      const result = await store.verifyAudit();
      expect(result).toEqual({ ok: false, seq: expected.seq, count: expected.count, problem: expect.stringMatching(expected.problem) });
    } finally {
      db.close();
    }
  });

  it("verifyAudit does not mind details reformatted to the same JSON", async () => {
    const { db, store } = await tamperable();
    try {
      db.exec(`UPDATE audit SET details = '{ "approvers" : [ "owner-one" ] }' WHERE seq = 3`);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4 });
    } finally {
      db.close();
    }
  });

  it("the database refuses a second record after the same predecessor (a fork) and a malformed hash", async () => {
    const { db, hashes } = await tamperable();
    try {
      const insert = db.prepare(
        "INSERT INTO audit (at, action, actor, owner, repo, prev_hash, hash) VALUES (0, 'validated', 'x', 'acme', 'api', ?, ?)",
      );
      expect(() => insert.run(hashes[1], "f".repeat(64))).toThrow(/UNIQUE constraint failed: audit.prev_hash/);
      expect(() => insert.run("e".repeat(64), "not a hash")).toThrow(/CHECK constraint failed/);
      expect(() =>
        db.prepare("INSERT INTO audit (at, action, actor, owner, repo) VALUES (0, 'validated', 'x', 'acme', 'api')").run(),
      ).toThrow(/NOT NULL/);
    } finally {
      db.close();
    }
  });
});

describe("SqliteStore: archived audit records", () => {
  /** Records 1–4, then records 1 and 2 archived (record 5 says so). */
  async function archivedTwo(): Promise<{ db: Database.Database; store: SqliteStore; hashes: string[] }> {
    const { db, store } = rawStore();
    for (let minute = 0; minute < 4; minute += 1) await store.appendAudit(auditOf("validated", { at: at(minute) }));
    const hashes = db.prepare("SELECT hash FROM audit ORDER BY seq").pluck().all() as string[];
    await store.archiveAudit((await store.planAuditArchive(at(2)))!, at(10), auditOf("archived", { at: at(10) }));
    return { db, store, hashes };
  }

  it("the database removes audit rows only where a recorded cut covers them, and never changes a cut", async () => {
    const { db } = await archivedTwo();
    try {
      const refusal =
        "the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive once they are in an archive file";
      expect(() => db.prepare("DELETE FROM audit WHERE seq = 3").run()).toThrow(refusal);
      expect(() => db.prepare("DELETE FROM audit").run()).toThrow(refusal);
      expect(() => db.prepare("UPDATE audit_archives SET head_hash = ?").run("f".repeat(64))).toThrow(
        "the record of audit archives is append-only: rows cannot be updated",
      );
      expect(() => db.prepare("DELETE FROM audit_archives").run()).toThrow(
        "the record of audit archives is append-only: rows cannot be deleted",
      );
      expect(db.prepare("SELECT seq FROM audit ORDER BY seq").pluck().all()).toEqual([3, 4, 5]);
      expect(db.prepare("SELECT count(*) FROM audit_archives").pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });

  it.each<[string, string, RegExp]>([
    [
      "the first record after the cut deleted",
      "DELETE FROM audit WHERE seq = 3",
      /^its prev_hash [0-9a-f]{12}… is not the hash [0-9a-f]{12}… of the last archived record, 2 \(record 3 is missing\): a record was removed or inserted/,
    ],
    ["the first record after the cut changed", "UPDATE audit SET actor = 'mallory' WHERE seq = 3", /^its content does not match its hash/],
  ])("verifyAudit checks the records left from the cut's head hash: %s", async (_, tamper, problem) => {
    const { db, store } = await archivedTwo();
    try {
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 3, lastSeq: 5 });
      db.exec("DROP TRIGGER audit_rows_are_never_updated; DROP TRIGGER audit_rows_are_removed_only_when_archived");
      db.exec(tamper);
      expect(await store.verifyAudit()).toEqual({ ok: false, seq: expect.any(Number), count: 0, problem: expect.stringMatching(problem) });
    } finally {
      db.close();
    }
  });

  it("names the error when records were removed behind its back before the cut", async () => {
    const { db, store } = rawStore();
    try {
      for (let minute = 0; minute < 3; minute += 1) await store.appendAudit(auditOf("validated", { at: at(minute) }));
      const plan = (await store.planAuditArchive(at(9)))!;
      db.exec("DROP TRIGGER audit_rows_are_removed_only_when_archived; DELETE FROM audit WHERE seq = 1");

      await expect(store.archiveAudit(plan, at(10), auditOf("archived"))).rejects.toThrow(
        "the audit records 1 to 3 are not the ones the archive holds (2 in the ledger, 3 archived; head hash matches); nothing was removed",
      );
      expect(db.prepare("SELECT seq FROM audit ORDER BY seq").pluck().all()).toEqual([2, 3]);
    } finally {
      db.close();
    }
  });
});

/** Every statement in src/ that removes audit rows (one per store, its archive), so that a new one shows up in review. */
describe("nothing but the archive removes audit records", () => {
  function sourceFiles(directory: string): string[] {
    return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sourceFiles(join(directory, entry.name)) : entry.name.endsWith(".ts") ? [join(directory, entry.name)] : [],
    );
  }

  it("has one DELETE of audit rows in each store, in its archiveAudit, and none anywhere else", () => {
    const removals = sourceFiles(resolve("src")).flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/\b(?:DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+["`]?audit["`]?(?![\w])/gi)].map(() =>
        relative(resolve("src"), file),
      ),
    );
    expect(removals.length).toBeGreaterThan(0);
    expect(removals.filter((file) => !/^ledger\/[\w-]+-store\.ts$/.test(file))).toEqual([]);
    expect(removals.length).toBe(new Set(removals).size);
    expect(readFileSync(resolve("src/ledger/sqlite-store.ts"), "utf8")).toMatch(
      /removeArchived: db\.prepare<Params>\("DELETE FROM audit WHERE seq > @afterSeq AND seq <= @throughSeq"\)/,
    );
  });
});

describe("migrating a version 2 ledger", () => {
  it("chains the existing audit records in seq order, leaves the new grant fields null, and keeps the triggers", async () => {
    const file = join(dir, "from-v2.db");
    const old = new Database(file);
    old.pragma("foreign_keys = ON");
    migrate(old, MIGRATIONS.slice(0, 2));
    old
      .prepare(
        `INSERT INTO grants (id, installation_id, owner, repo, environment, secret, requester, pr_number, head_sha, approvers,
         reason, duration_ms, request_key, created_at, expires_at, state)
       VALUES ('g1', 42, 'acme', 'api', 'production', 'PROD_DB_URL', '{"id":7,"login":"alice"}', 7, ?, '[{"id":8,"login":"bob"}]',
         'INC-1', 3600000, 'key-1', ?, ?, 'active')`,
      )
      .run("a".repeat(40), at(0).getTime(), at(60).getTime());
    const insertAudit = old.prepare(
      "INSERT INTO audit (at, action, actor, owner, repo, pr_number, grant_id, environment, secret, details) VALUES (?, ?, ?, 'acme', 'api', ?, ?, ?, ?, ?)",
    );
    insertAudit.run(at(0).getTime(), "validated", "alice", 7, null, null, null, null);
    // Details as the old store wrote them: keys in insertion order, not sorted.
    insertAudit.run(
      at(1).getTime(),
      "granted",
      "jit-access",
      7,
      "g1",
      "production",
      "PROD_DB_URL",
      '{"expiresAt":"2030-01-01T11:00:00.000Z","approvers":["bob"]}',
    );
    insertAudit.run(at(2).getTime(), "reconciled", "operator:dana", null, null, "production", "OTHER", "{}");
    old.close();

    const store = await openLedger(`sqlite:${file}`);
    try {
      const records = await store.listAudit();
      expect(records.map(({ seq, action, actor, details }) => ({ seq, action, actor, details }))).toEqual([
        { seq: 1, action: "validated", actor: "alice", details: undefined },
        { seq: 2, action: "granted", actor: "jit-access", details: { expiresAt: "2030-01-01T11:00:00.000Z", approvers: ["bob"] } },
        { seq: 3, action: "reconciled", actor: "operator:dana", details: {} },
      ]);
      expect(records.map((record) => record.prevHash)).toEqual([GENESIS_HASH, records[0]!.hash, records[1]!.hash]);
      for (const record of records) {
        const { seq, prevHash, hash, ...content } = record;
        expect(hash).toBe(auditHash(seq, prevHash, content));
      }
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 3, lastSeq: 3, lastHash: records[2]!.hash });

      expect(await store.getGrant("g1")).toMatchObject({ state: "active", repositoryId: null, mergeBaseSha: null, requestDigest: null });
      expect(await store.setRepositoryId("acme", "api", 1_296_269)).toBe(1);

      // New records go on from the migrated chain.
      await store.appendAudit(auditOf("validated"));
      expect((await store.listAudit()).at(-1)).toMatchObject({ seq: 4, prevHash: records[2]!.hash });
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4, lastSeq: 4 });
    } finally {
      await store.close();
    }

    const raw = new Database(file);
    try {
      expect(schemaVersion(raw)).toBe(LATEST_SCHEMA_VERSION);
      expect(() => raw.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow("the audit log is append-only: rows cannot be updated");
      expect(() => raw.prepare("DELETE FROM audit").run()).toThrow(
        "the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive",
      );
      const names = raw.prepare("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger', 'table') ORDER BY name").pluck().all();
      expect(names).toEqual(
        expect.arrayContaining([
          "audit",
          "audit_by_time",
          "grants_by_repository_pull_request",
          "audit_rows_are_never_updated",
          "audit_rows_are_removed_only_when_archived",
        ]),
      );
      expect(names).not.toContain("audit_chained");
    } finally {
      raw.close();
    }
  });

  it("migrates an empty version 2 ledger", async () => {
    const file = join(dir, "empty-v2.db");
    const old = new Database(file);
    migrate(old, MIGRATIONS.slice(0, 2));
    old.close();
    const store = await openLedger(`sqlite:${file}`);
    try {
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 0, lastSeq: null, lastHash: GENESIS_HASH });
      await store.appendAudit(auditOf("validated"));
      expect(await store.listAudit()).toEqual([expect.objectContaining({ seq: 1, prevHash: GENESIS_HASH })]);
    } finally {
      await store.close();
    }
  });
});

describe("migrating a version 5 ledger to version 8", () => {
  it("marks grants that were written as written, and any other as possibly written; no grant has a write mark yet", async () => {
    const file = join(dir, "from-v5.db");
    const old = new Database(file);
    old.pragma("foreign_keys = ON");
    migrate(old, MIGRATIONS.slice(0, 5));
    const insert = old.prepare(
      `INSERT INTO grants (id, installation_id, owner, repo, environment, secret, requester, pr_number, head_sha, approvers,
         reason, duration_ms, request_key, created_at, granted_at, expires_at, ended_at, state)
       VALUES (@id, 42, 'acme', 'api', 'production', 'PROD_DB_URL', '{"id":7,"login":"alice"}', 7, @sha, '[{"id":8,"login":"bob"}]',
         'INC-1', 3600000, @id, @createdAt, @grantedAt, @expiresAt, @endedAt, @state)`,
    );
    const row = (id: string, state: string, grantedAt: number | null, endedAt: number | null = null) =>
      insert.run({ id, sha: "a".repeat(40), createdAt: at(0).getTime(), grantedAt, expiresAt: at(60).getTime(), endedAt, state });
    row("active", "active", at(1).getTime());
    row("granting", "granting", null);
    row("expired", "expired", at(1).getTime(), at(61).getTime());
    row("failed", "failed", null, at(1).getTime());
    old.close();

    const store = await openLedger(`sqlite:${file}`);
    try {
      const writes = Object.fromEntries(
        (await store.listGrants({ liveOnly: false })).map((g) => [g.id, [g.secretWrite, g.secretUpdatedAt]]),
      );
      expect(writes).toEqual({
        active: ["written", null],
        granting: ["uncertain", null],
        expired: ["written", null],
        failed: ["uncertain", null],
      });
      // The active grant holds the secret; the one that may have written does not.
      expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "granting")).toBe(1);
      expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "active")).toBe(0);
      // The approvers' permissions at the time were not recorded then (version 13): null, not guessed.
      expect((await store.getGrant("active"))?.approverPermissions).toBeNull();
      expect((await store.getGrant("active"))?.approvers).toEqual([{ id: 8, login: "bob" }]);
    } finally {
      await store.close();
    }
    const raw = new Database(file);
    try {
      expect(schemaVersion(raw)).toBe(LATEST_SCHEMA_VERSION);
      expect(() => raw.prepare("UPDATE grants SET secret_write = 'maybe' WHERE id = 'active'").run()).toThrow(/CHECK constraint failed/);
    } finally {
      raw.close();
    }
  });
});

replicaContract("SqliteStore in a file", async () => {
  const url = freshFileUrl();
  return [await openLedger(url), await openLedger(url)];
});

describe("SqliteStore secret locks held by a process that died", () => {
  const key = "acme/api\u0000production\u0000PROD_DB_URL";
  const leaseRow = (filename: string, expiresAt: number): void => {
    const raw = new Database(filename);
    try {
      raw
        .prepare("INSERT INTO secret_locks (lock_key, owner, expires_at) VALUES (?, 'dead-process', ?)")
        .run(key.replaceAll("\u0000", "\u0001"), expiresAt);
    } finally {
      raw.close();
    }
  };

  it("take over at once a lease whose holder was a process of this host that no longer runs", async () => {
    const url = freshFileUrl();
    const store = await openLedger(url);
    try {
      const gone = spawnSync(process.execPath, ["-e", ""]).pid;
      const raw = new Database(sqliteFilename(url));
      raw
        .prepare("INSERT INTO secret_locks (lock_key, owner, expires_at) VALUES (?, ?, ?)")
        .run(key.replaceAll("\u0000", "\u0001"), `${hostname()}:${gone}:killed`, Date.now() + 60_000);
      raw.close();
      expect(await store.withSecretLock(key, async () => "ran", { timeoutMs: 100 })).toBe("ran");
    } finally {
      await store.close();
    }
  });

  it("wait for a lease that still holds, and take over one that ran out", async () => {
    const url = freshFileUrl();
    const store = await openLedger(url);
    try {
      leaseRow(sqliteFilename(url), Date.now() + 60_000);
      const error = await rejectionOf(store.withSecretLock(key, async () => "ran", { timeoutMs: 100 }));
      expect(error.name).toBe("SecretLockTimeoutError");
      const raw = new Database(sqliteFilename(url));
      raw.prepare("UPDATE secret_locks SET expires_at = ?").run(Date.now() - 1);
      raw.close();
      expect(await store.withSecretLock(key, async () => "ran", { timeoutMs: 100 })).toBe("ran");
      // Released after the work: no row is left behind.
      const after = new Database(sqliteFilename(url));
      expect(after.prepare("SELECT count(*) AS n FROM secret_locks").get()).toEqual({ n: 0 });
      after.close();
    } finally {
      await store.close();
    }
  });
});
