import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { configureConnection } from "../../src/ledger/sqlite-open.js";
import { SqliteStore } from "../../src/ledger/sqlite-store.js";
import type { GrantFilter } from "../../src/ledger/store.js";

/**
 * The lookups the app makes at every revocation, close and reconcile must not scan the whole
 * grants table, which keeps every grant ever recorded: SQLite's own query plan for the
 * statement `listGrants` runs says whether it uses an index.
 */
let db: Database.Database;
let store: SqliteStore;
let prepared: string[];

beforeEach(() => {
  db = new Database(":memory:");
  configureConnection(db, { readonly: false });
  prepared = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (source: string) => {
    prepared.push(source);
    return prepare(source);
  };
  store = new SqliteStore(db);
});
afterEach(() => {
  db.close();
});

async function planOf(filter: GrantFilter): Promise<string> {
  const before = prepared.length;
  await store.listGrants(filter);
  const sql = prepared.slice(before).find((source) => source.startsWith("SELECT * FROM grants"));
  if (sql === undefined) throw new Error(`listGrants(${JSON.stringify(filter)}) prepared no statement`);
  const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((match): [string, string] => [match[1]!, "x"]));
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
  return rows.map((row) => row.detail).join("; ");
}

describe("listGrants query plans", () => {
  it.each([
    {
      use: "a pull request's live grants (revocation, close)",
      filter: { owner: "acme", repo: "api", prNumber: 7, liveOnly: true },
      index: "grants_by_pull_request",
    },
    {
      use: "a secret's live grants (reconcile)",
      filter: { owner: "acme", repo: "api", environment: "production", secret: "PROD_DB_URL", liveOnly: true },
      index: "grants_by_secret",
    },
    { use: "every live grant (jit-access grants)", filter: { liveOnly: true }, index: "grants_by_state_expiry" },
    {
      use: "a pull request's grants by repository id (renamed or transferred repositories)",
      filter: { repositoryId: 1_296_269, prNumber: 7, liveOnly: false },
      index: "grants_by_repository_pull_request",
    },
  ])("$use uses $index", async ({ filter, index }) => {
    const plan = await planOf(filter);

    expect(plan).toContain(`USING INDEX ${index}`);
    expect(plan).not.toMatch(/SCAN grants(?! USING)/);
  });

  it("prepares one statement per combination of filters", async () => {
    const before = prepared.length;
    await store.listGrants({ owner: "acme", repo: "api", prNumber: 1 });
    await store.listGrants({ owner: "other", repo: "web", prNumber: 2 });
    await store.listGrants({ owner: "acme", repo: "api", prNumber: 1, liveOnly: false });

    expect(prepared.slice(before)).toHaveLength(2);
  });
});
