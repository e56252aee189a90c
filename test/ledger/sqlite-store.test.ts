import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from "../../src/ledger/migrations.js";
import { DEFAULT_DATABASE_URL, configureConnection, openLedger, sqliteFilename } from "../../src/ledger/open-ledger.js";
import { IllegalTransitionError } from "../../src/ledger/sqlite-store.js";
import type { Grant, GrantState, LedgerStore, NewGrant } from "../../src/ledger/store.js";

const T0 = new Date("2030-01-01T10:00:00.000Z");
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

let sequence = 0;
function newGrant(overrides: Partial<NewGrant> = {}): NewGrant {
  sequence += 1;
  return {
    installationId: 4242,
    owner: "acme",
    repo: "api",
    environment: "production",
    secret: "PROD_DB_URL",
    requester: { id: 7, login: "requester" },
    prNumber: 12,
    headSha: "a".repeat(40),
    approvers: [
      { id: 8, login: "owner-one" },
      { id: 9, login: "owner-two" },
    ],
    reason: "INC-4211: inspect stuck migrations",
    durationMs: 7_200_000,
    requestKey: `acme/api#12@${"a".repeat(40)}:production:PROD_DB_URL:${sequence}`,
    createdAt: T0,
    expiresAt: at(120),
    ...overrides,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

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

describe.each([
  ["in memory", () => "sqlite::memory:"],
  ["in a file", freshFileUrl],
])("SqliteStore %s", (_, url) => {
  let store: LedgerStore;
  beforeEach(async () => {
    store = await openLedger(url());
  });
  afterEach(async () => {
    await store.close();
  });

  const begin = async (overrides: Partial<NewGrant> = {}): Promise<Grant> => (await store.beginGrant(newGrant(overrides))).grant;

  describe("beginGrant", () => {
    it("writes every field and reads it back in state granting", async () => {
      const input = newGrant();
      const { grant, created } = await store.beginGrant(input);
      expect(created).toBe(true);
      expect(grant.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const expected: Grant = {
        ...input,
        id: grant.id,
        grantedAt: null,
        endedAt: null,
        state: "granting",
        endReason: null,
        revokeAttempts: 0,
        nextAttemptAt: null,
        lastError: null,
        pendingEnd: null,
      };
      expect(grant).toEqual(expected);
      expect(await store.getGrant(grant.id)).toEqual(expected);
    });

    it("keeps only id and login of people", async () => {
      const requester = { id: 7, login: "requester", email: "r@example.com" } as NewGrant["requester"];
      const grant = await begin({ requester, approvers: [] });
      expect(grant.requester).toEqual({ id: 7, login: "requester" });
      expect(grant.approvers).toEqual([]);
    });

    it("is idempotent on the request key: the second call returns the first grant and writes nothing", async () => {
      const input = newGrant();
      const first = await store.beginGrant(input);
      const second = await store.beginGrant({ ...input, reason: "a redelivered webhook", expiresAt: at(999) });
      expect(second).toEqual({ grant: first.grant, created: false });
      expect(await store.listGrants({ liveOnly: false })).toHaveLength(1);
    });

    it("gives each grant a different id", async () => {
      const a = await begin();
      const b = await begin();
      expect(a.id).not.toBe(b.id);
    });

    it("rejects an invalid date without writing", async () => {
      const error = await rejectionOf(store.beginGrant(newGrant({ expiresAt: new Date(Number.NaN) })));
      expect(error.message).toContain("expiresAt is not a valid date");
      expect(await store.listGrants({ liveOnly: false })).toEqual([]);
    });
  });

  describe("state transitions", () => {
    it("markActive records when the secret was written and counts the expiry from then", async () => {
      const grant = await begin();
      const active = await store.markActive(grant.id, at(1));
      expect(active).toEqual({ ...grant, state: "active", grantedAt: at(1), expiresAt: at(1 + 120) });
      expect(await store.getGrant(grant.id)).toEqual(active);
    });

    it("markFailed records the reason and the time", async () => {
      const grant = await begin();
      const failed = await store.markFailed(grant.id, "PUT secret: 403 Resource not accessible", at(1));
      expect(failed).toEqual({
        ...grant,
        state: "failed",
        endReason: "PUT secret: 403 Resource not accessible",
        endedAt: at(1),
      });
    });

    it.each(["expired", "revoked"] as const)("markEnded(%s) ends a grant and clears its backoff", async (state) => {
      const grant = await begin();
      await store.markActive(grant.id, at(1));
      await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(125));
      const ended = await store.markEnded(grant.id, state, "pull request closed", at(130));
      expect(ended).toMatchObject({
        state,
        endReason: "pull request closed",
        endedAt: at(130),
        nextAttemptAt: null,
        revokeAttempts: 1,
        lastError: "DELETE secret: 502",
        grantedAt: at(1),
      });
    });

    it("markEnded works from granting (a crash before the secret was written)", async () => {
      const grant = await begin();
      expect((await store.markEnded(grant.id, "expired", "expired", at(121))).state).toBe("expired");
    });

    it("recordRevokeFailure counts attempts, keeps the state and sets the backoff", async () => {
      const grant = await begin();
      await store.markActive(grant.id, at(1));
      await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(121));
      const second = await store.recordRevokeFailure(grant.id, "DELETE secret: timeout", at(125));
      expect(second).toMatchObject({
        state: "active",
        revokeAttempts: 2,
        lastError: "DELETE secret: timeout",
        nextAttemptAt: at(125),
      });
    });

    type Step = (store: LedgerStore, id: string) => Promise<Grant>;
    const steps: Record<string, Step> = {
      markActive: (s, id) => s.markActive(id, at(2)),
      markFailed: (s, id) => s.markFailed(id, "boom", at(2)),
      "markEnded expired": (s, id) => s.markEnded(id, "expired", "expired", at(2)),
      "markEnded revoked": (s, id) => s.markEnded(id, "revoked", "operator", at(2)),
      recordRevokeFailure: (s, id) => s.recordRevokeFailure(id, "502", at(3)),
    };
    const reach: Record<GrantState, Step | null> = {
      granting: null,
      active: steps.markActive!,
      failed: steps.markFailed!,
      expired: steps["markEnded expired"]!,
      revoked: steps["markEnded revoked"]!,
    };
    const legal: Record<string, GrantState[]> = {
      markActive: ["granting"],
      markFailed: ["granting"],
      "markEnded expired": ["granting", "active"],
      "markEnded revoked": ["granting", "active"],
      recordRevokeFailure: ["granting", "active"],
    };
    const cases = Object.keys(steps).flatMap((step) =>
      (Object.keys(reach) as GrantState[]).map((from) => [step, from, legal[step]!.includes(from)] as const),
    );

    it.each(cases)("%s from %s: allowed = %s", async (step, from, allowed) => {
      const grant = await begin();
      await reach[from]?.(store, grant.id);
      const attempt = steps[step]!(store, grant.id);
      if (allowed) {
        await expect(attempt).resolves.toMatchObject({ id: grant.id });
        return;
      }
      const error = await rejectionOf(attempt);
      expect(error).toBeInstanceOf(IllegalTransitionError);
      expect(error.message).toContain(`grant ${grant.id} is ${from}`);
      expect(error).toMatchObject({ grantId: grant.id, state: from });
      expect((await store.getGrant(grant.id))?.state).toBe(from);
    });

    it("a double revoke is detected", async () => {
      const grant = await begin();
      await store.markEnded(grant.id, "revoked", "operator: alice", at(5));
      const error = await rejectionOf(store.markEnded(grant.id, "revoked", "operator: bob", at(6)));
      expect(error.message).toBe(
        `grant ${grant.id} is revoked; cannot mark it revoked (allowed only from granting or active)`,
      );
      expect((await store.getGrant(grant.id))?.endReason).toBe("operator: alice");
    });

    it.each(Object.entries(steps))("%s on an unknown grant names the grant", async (_, step) => {
      const error = await rejectionOf(step(store, "no-such-grant"));
      expect(error.message).toContain("grant no-such-grant is not in the ledger");
    });
  });

  describe("queries", () => {
    it("getGrant returns null for an unknown id", async () => {
      expect(await store.getGrant("no-such-grant")).toBeNull();
    });

    it("listGrants filters, defaults to live grants, and orders by creation", async () => {
      const a = await begin({ createdAt: at(2), prNumber: 1 });
      const b = await begin({ createdAt: at(1), prNumber: 2, environment: "staging" });
      const c = await begin({ createdAt: at(3), prNumber: 1, repo: "web" });
      const ended = await begin({ createdAt: at(0), prNumber: 1 });
      await store.markEnded(ended.id, "revoked", "closed", at(4));
      const ids = async (filter?: Parameters<LedgerStore["listGrants"]>[0]) =>
        (await store.listGrants(filter)).map((grant) => grant.id);

      expect(await ids()).toEqual([b.id, a.id, c.id]);
      expect(await ids({ liveOnly: false })).toEqual([ended.id, b.id, a.id, c.id]);
      expect(await ids({ owner: "acme", repo: "api", prNumber: 1 })).toEqual([a.id]);
      expect(await ids({ prNumber: 1, liveOnly: false })).toEqual([ended.id, a.id, c.id]);
      expect(await ids({ environment: "staging" })).toEqual([b.id]);
      expect(await ids({ secret: "OTHER" })).toEqual([]);
      expect(await ids({ owner: "ACME", repo: "Web" })).toEqual([c.id]);
    });

    it("countOtherLive counts live grants for the same secret, except the one given", async () => {
      const mine = await begin();
      expect(await store.countOtherLive("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(0);

      const other = await begin();
      await store.markActive(other.id, at(1));
      await begin({ environment: "staging" });
      await begin({ repo: "web" });
      await begin({ secret: "OTHER_SECRET" });
      const ended = await begin();
      await store.markEnded(ended.id, "expired", "expired", at(2));
      const failed = await begin();
      await store.markFailed(failed.id, "boom", at(2));

      expect(await store.countOtherLive("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(1);
      expect(await store.countOtherLive("acme", "api", "production", "PROD_DB_URL", other.id)).toBe(1);
      expect(await store.countOtherLive("acme", "api", "production", "PROD_DB_URL", "none")).toBe(2);
    });

    it("countOtherLive compares names case-insensitively, as GitHub does", async () => {
      const mine = await begin();
      await begin({ owner: "Acme", repo: "API", environment: "Production", secret: "prod_db_url" });
      expect(await store.countOtherLive("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(1);
    });

    it("expiringBy returns live grants expiring at or before the time, soonest first", async () => {
      // Written at minute 1 for 29 minutes: expires at minute 30.
      const late = await begin({ expiresAt: at(30), durationMs: 29 * 60_000 });
      const soon = await begin({ expiresAt: at(10) });
      const exact = await begin({ expiresAt: at(20) });
      await begin({ expiresAt: at(21) });
      const ended = await begin({ expiresAt: at(5) });
      await store.markEnded(ended.id, "revoked", "closed", at(1));
      await store.markActive(late.id, at(1));

      expect((await store.expiringBy(at(20))).map((grant) => grant.id)).toEqual([soon.id, exact.id]);
      expect((await store.expiringBy(at(30))).map((grant) => grant.id)).toContain(late.id);
      expect(await store.expiringBy(at(0))).toEqual([]);
    });
  });

  describe("dueGrants", () => {
    const dueIds = async (now: Date, limit: number, after?: Grant): Promise<string[]> =>
      (await store.dueGrants(now, limit, after && { expiresAt: after.expiresAt, id: after.id })).map((g) => g.id);

    it("returns live grants expired by now, oldest expiry first, at most limit", async () => {
      // Written at minute 1 for 19 minutes: expires at minute 20.
      const second = await begin({ expiresAt: at(20), durationMs: 19 * 60_000 });
      const first = await begin({ expiresAt: at(10) });
      const third = await begin({ expiresAt: at(30) });
      await begin({ expiresAt: at(31) });
      const ended = await begin({ expiresAt: at(5) });
      await store.markEnded(ended.id, "revoked", "closed", at(1));
      await store.markActive(second.id, at(1));

      expect(await dueIds(at(30), 10)).toEqual([first.id, second.id, third.id]);
      expect(await dueIds(at(30), 2)).toEqual([first.id, second.id]);
      expect(await dueIds(at(9), 10)).toEqual([]);
    });

    it("pages by (expiry, id) without skipping or repeating grants that expire together", async () => {
      const grants = await Promise.all(Array.from({ length: 7 }, (_, i) => begin({ expiresAt: at(i < 5 ? 10 : 11) })));
      const expected = [...grants]
        .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : 1))
        .map((grant) => grant.id);

      const seen: string[] = [];
      let after: Grant | undefined;
      // Bounded, so that a paging bug fails the test instead of looping forever.
      for (let pages = 0; pages <= grants.length; pages += 1) {
        const page = await store.dueGrants(at(60), 2, after && { expiresAt: after.expiresAt, id: after.id });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...page.map((grant) => grant.id));
        after = page.at(-1);
      }
      expect(seen).toEqual(expected);
    });

    it("leaves out grants still backing off, and brings them back when the backoff has passed", async () => {
      const failing = await begin({ expiresAt: at(10) });
      const other = await begin({ expiresAt: at(11) });
      await store.recordRevokeFailure(failing.id, "DELETE secret: 502", at(15));

      expect(await dueIds(at(12), 10)).toEqual([other.id]);
      expect(await dueIds(at(15), 10)).toEqual([failing.id, other.id]);
    });

    it.each([0, -1, 1.5, Number.NaN])("rejects the limit %p", async (limit) => {
      const error = await rejectionOf(store.dueGrants(at(0), limit));
      expect(error.message).toContain("dueGrants needs a positive whole limit");
    });
  });

  describe("audit", () => {
    it("appends records and lists them in order, optionally since a time", async () => {
      const grant = await begin();
      await store.appendAudit({ at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api", prNumber: 12 });
      await store.appendAudit({
        at: at(1),
        action: "granted",
        actor: "jit-access",
        owner: "acme",
        repo: "api",
        prNumber: 12,
        grantId: grant.id,
        environment: "production",
        secret: "PROD_DB_URL",
        details: { approvers: ["owner-one", "owner-two"], expiresAt: at(120).toISOString(), nested: { n: 1 } },
      });
      await store.appendAudit({ at: at(2), action: "reconciled", actor: "operator:alice", owner: "acme", repo: "web" });

      const all = await store.listAudit();
      expect(all).toEqual([
        { seq: 1, at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api", prNumber: 12 },
        {
          seq: 2,
          at: at(1),
          action: "granted",
          actor: "jit-access",
          owner: "acme",
          repo: "api",
          prNumber: 12,
          grantId: grant.id,
          environment: "production",
          secret: "PROD_DB_URL",
          details: { approvers: ["owner-one", "owner-two"], expiresAt: at(120).toISOString(), nested: { n: 1 } },
        },
        { seq: 3, at: at(2), action: "reconciled", actor: "operator:alice", owner: "acme", repo: "web" },
      ]);
      expect((await store.listAudit({ since: at(1) })).map((event) => event.seq)).toEqual([2, 3]);
      expect(await store.listAudit({ since: at(3) })).toEqual([]);
    });

    it("refuses a record that points at a grant the ledger does not have", async () => {
      const error = await rejectionOf(
        store.appendAudit({ at: at(0), action: "granted", actor: "jit-access", owner: "acme", repo: "api", grantId: "nope" }),
      );
      expect(error.message).toContain("the ledger could not append audit record");
      expect(error.message).toContain("FOREIGN KEY");
      expect(await store.listAudit()).toEqual([]);
    });
  });
});

describe("SqliteStore on disk", () => {
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
      expect(() => raw.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(
        "the audit log is append-only: rows cannot be updated",
      );
      expect(() => raw.prepare("DELETE FROM audit").run()).toThrow("the audit log is append-only: rows cannot be deleted");
      expect(raw.prepare("SELECT actor FROM audit").pluck().all()).toEqual(["requester"]);
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
    ["postgres://jit:hunter2@db:5432/jit", 'DATABASE_URL "postgres:…": only sqlite: is supported in this build; PostgreSQL is planned behind the same LedgerStore interface'],
    ["postgresql://jit:hunter2@db/jit", 'DATABASE_URL "postgresql:…": only sqlite: is supported in this build'],
    ["mysql://jit:hunter2@db/jit", 'DATABASE_URL "mysql:…": only sqlite: is supported in this build'],
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

  it("creates the parent directory of a new database file", async () => {
    const url = `sqlite:${join(dir, "a", "b", "c", "ledger.db")}`;
    const store = await openLedger(url);
    await store.close();
    const raw = new Database(sqliteFilename(url), { fileMustExist: true });
    raw.close();
  });
});
