import { afterAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import { auditHash, GENESIS_HASH } from "../../src/ledger/audit-chain.js";
import { IllegalTransitionError } from "../../src/ledger/grant-states.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "../../src/ledger/migrations.js";
import { ledgerLabel, openLedger } from "../../src/ledger/open-ledger.js";
import { migratePostgres, PG_BASELINE_VERSION, PG_LATEST_SCHEMA_VERSION, PG_MIGRATIONS } from "../../src/ledger/pg-migrations.js";
import { postgresServer } from "../../src/ledger/pg-open.js";
import { isStorageFailure } from "../../src/ledger/storage-failure.js";
import { LedgerStorageError, type LedgerStore } from "../../src/ledger/store.js";
import { adminQuery, describePostgres, DROP_TIMEOUT_MS, dropTestSchemas, freshDatabaseUrl, freshSchema } from "../helpers/postgres.js";
import { replicaContract } from "./replica-contract.js";
import { at, auditOf, ledgerContract, newGateDecision, newGrant, rejectionOf } from "./ledger-contract.js";

afterAll(dropTestSchemas, DROP_TIMEOUT_MS);

describePostgres("PgStore", () => {
  ledgerContract("PgStore", async () => openLedger(await freshDatabaseUrl()));
});

describePostgres("PgStore replicas", () => {
  replicaContract("PgStore", async () => {
    const url = await freshDatabaseUrl();
    return [await openLedger(url), await openLedger(url)];
  });
});

describe("PostgreSQL migrations", () => {
  it("start at the baseline and twin every later SQLite migration: same version, same description", () => {
    expect(PG_MIGRATIONS[0]?.version).toBe(PG_BASELINE_VERSION);
    const twins = (migrations: readonly { version: number; description: string }[]) =>
      migrations
        .filter((migration) => migration.version > PG_BASELINE_VERSION)
        .map(({ version, description }) => ({ version, description }));
    expect(twins(PG_MIGRATIONS)).toEqual(twins(MIGRATIONS));
    expect(PG_LATEST_SCHEMA_VERSION).toBe(LATEST_SCHEMA_VERSION);
  });
});

/** Opens `count` stores on one URL, each with its own pool (as separate replicas would). */
async function replicas(url: string, count: number): Promise<LedgerStore[]> {
  return Promise.all(Array.from({ length: count }, () => openLedger(url)));
}

async function closeAll(stores: LedgerStore[]): Promise<void> {
  await Promise.all(stores.map((store) => store.close()));
}

describePostgres("PostgreSQL ledger schema", () => {
  it("is migrated once when several replicas open a fresh schema together, and reopening changes nothing", async () => {
    const { schema, url } = await freshSchema();
    const stores = await replicas(url, 4);
    try {
      expect(await adminQuery(schema, "SELECT version FROM schema_version ORDER BY version")).toEqual(
        PG_MIGRATIONS.map((migration) => ({ version: migration.version })),
      );
      const { grant } = await stores[0]!.beginGrant(newGrant());
      expect(await stores[3]!.getGrant(grant.id)).toEqual(grant);
    } finally {
      await closeAll(stores);
    }
    const again = await openLedger(url);
    try {
      expect(await adminQuery(schema, "SELECT count(*)::int AS n FROM schema_version")).toEqual([{ n: PG_MIGRATIONS.length }]);
      expect(await again.listGrants()).toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  it("applies all pending migrations in one transaction: a failing one leaves nothing behind", async () => {
    const { schema, url } = await freshSchema();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const broken = [...PG_MIGRATIONS, { version: PG_LATEST_SCHEMA_VERSION + 1, description: "broken", sql: "CREATE TABLE x (;" }];
      await expect(migratePostgres(client, broken)).rejects.toThrow(/syntax error/);
      expect(await adminQuery(schema, "SELECT to_regclass('grants') AS grants, to_regclass('schema_version') AS versions")).toEqual([
        { grants: null, versions: null },
      ]);
      await expect(
        migratePostgres(client, [
          { version: 6, description: "skips the baseline", sql: "" },
          { version: 8, description: "skips 7", sql: "" },
        ]),
      ).rejects.toThrow("numbered 6, 7, 8… in order; found 8 at position 2");
    } finally {
      await client.end();
    }
  });

  it("refuses a database from a newer build", async () => {
    const { schema, url } = await freshSchema();
    await (await openLedger(url)).close();
    await adminQuery(schema, "INSERT INTO schema_version (version, description) VALUES ($1, 'from the future')", [
      PG_LATEST_SCHEMA_VERSION + 1,
    ]);
    const error = await rejectionOf(openLedger(url));
    expect(error.message).toContain(
      `schema version ${PG_LATEST_SCHEMA_VERSION + 1}, newer than this build knows (${PG_LATEST_SCHEMA_VERSION})`,
    );
    expect(error.message).toMatch(/^cannot open the ledger database postgres:\/\/\S+ \(DATABASE_URL\): /);
  });

  it("opens read-only only a migrated ledger, and then refuses every write, saying why", async () => {
    const { url } = await freshSchema();
    const unmigrated = await rejectionOf(openLedger(url, { readonly: true }));
    expect(unmigrated.message).toContain(
      `it has schema version 0, this build needs ${PG_LATEST_SCHEMA_VERSION}; open it once without readonly`,
    );

    const writable = await openLedger(url);
    const { grant } = await writable.beginGrant(newGrant());
    await writable.close();
    const readonly = await openLedger(url, { readonly: true });
    try {
      expect(await readonly.getGrant(grant.id)).toEqual(grant);
      const error = await rejectionOf(readonly.beginGrant(newGrant()));
      expect(error.message).toMatch(/^the ledger could not record grant .*: cannot execute INSERT in a read-only transaction/);
      expect(error.message).toContain("point DATABASE_URL at the primary");
      expect(error.cause).toMatchObject({ code: "25006" });
      expect(error).toBeInstanceOf(LedgerStorageError);
      expect(isStorageFailure(error)).toBe(true);
      await expect(readonly.markActive(grant.id, at(1))).rejects.toThrow("read-only transaction");
      await expect(readonly.appendAudit(auditOf("validated"))).rejects.toThrow("read-only transaction");
      expect(await readonly.getGrant(grant.id)).toEqual(grant);
    } finally {
      await readonly.close();
    }
  });

  it("enforces the append-only audit log in the database itself", async () => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    await store.appendAudit(auditOf("validated", { actor: "requester" }));
    await store.close();
    await expect(adminQuery(schema, "UPDATE audit SET actor = 'mallory'")).rejects.toThrow(
      "the audit log is append-only: rows cannot be updated",
    );
    await expect(adminQuery(schema, "DELETE FROM audit")).rejects.toThrow(
      "the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive once they are in an archive file",
    );
    await expect(adminQuery(schema, "TRUNCATE audit")).rejects.toThrow("the audit log is append-only: rows cannot be truncated");
    expect(await adminQuery(schema, "SELECT actor FROM audit")).toEqual([{ actor: "requester" }]);
  });

  it("enforces append-only gate decisions and answers in the database itself", async () => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    const decision = newGateDecision();
    await store.recordGateDecision(decision);
    await store.recordGateAnswer(decision, { outcome: "accepted", answeredAt: at(7) });
    await store.close();
    for (const [table, what] of [
      ["gate_decisions", "gate decisions"],
      ["gate_answers", "gate answers"],
    ] as const) {
      await expect(adminQuery(schema, `UPDATE ${table} SET run_attempt = 2`)).rejects.toThrow(
        `${what} are append-only: rows cannot be updated`,
      );
      await expect(adminQuery(schema, `DELETE FROM ${table}`)).rejects.toThrow(`${what} are append-only: rows cannot be deleted`);
      await expect(adminQuery(schema, `TRUNCATE ${table} CASCADE`)).rejects.toThrow(`${what} are append-only: rows cannot be truncated`);
    }
    expect(
      await adminQuery(schema, "SELECT state, outcome FROM gate_decisions JOIN gate_answers USING (run_id, run_attempt, environment_key)"),
    ).toEqual([{ state: "rejected", outcome: "accepted" }]);
  });

  it("refuses a second record after the same predecessor (a fork) and a malformed hash", async () => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    await store.appendAudit(auditOf("validated"));
    await store.close();
    const insert =
      "INSERT INTO audit (seq, at, action, actor, owner, repo, prev_hash, hash) VALUES ($1, 0, 'validated', 'x', 'acme', 'api', $2, $3)";
    await expect(adminQuery(schema, insert, [2, GENESIS_HASH, "f".repeat(64)])).rejects.toThrow(/audit_prev_hash_key/);
    await expect(adminQuery(schema, insert, [2, "e".repeat(64), "not a hash"])).rejects.toThrow(/audit_hash_check/);
    await expect(adminQuery(schema, insert, [2, "E".repeat(64), "f".repeat(64)])).rejects.toThrow(/audit_prev_hash_check/);
  });

  it("folds only ASCII letters in the name keys, whatever the database's locale", async () => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    await store.beginGrant(newGrant({ owner: "ÄCME-\u212A", repo: "Api", environment: "PRODUCT\u0130ON", secret: "Prod_DB_URL" }));
    await store.close();
    expect(await adminQuery(schema, "SELECT owner_key, repo_key, environment_key, secret_key FROM grants")).toEqual([
      { owner_key: "Äcme-\u212A", repo_key: "api", environment_key: "product\u0130on", secret_key: "prod_db_url" },
    ]);
  });
});

describePostgres("PostgreSQL webhook inbox batches", () => {
  it("writes nothing of a batch of deliveries whose statement fails part way, and rejects it", async () => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    try {
      // The second row of the batch fails as a full disk would (53100), after the first was written.
      await adminQuery(
        schema,
        `CREATE FUNCTION fail_d2() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.delivery_id = 'd-2' THEN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END IF; RETURN NEW; END $$`,
      );
      await adminQuery(schema, "CREATE TRIGGER fail_d2 BEFORE INSERT ON webhook_inbox FOR EACH ROW EXECUTE FUNCTION fail_d2()");
      const delivery = (id: string) => ({ id, event: "ping", payload: "{}", receivedAt: at(0) });
      const failed = store.recordDeliveries([delivery("d-1"), delivery("d-2"), delivery("d-3")]);
      await expect(failed).rejects.toThrow("could not extend file");
      await expect(failed).rejects.toBeInstanceOf(LedgerStorageError);
      expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
      expect(await store.recordDeliveries([delivery("d-1"), delivery("d-3")])).toEqual([{ created: true }, { created: true }]);
    } finally {
      await store.close();
    }
  });
});

describePostgres("PostgreSQL ledger shared by several processes", () => {
  it("lets replicas claiming the webhook inbox at once take each entry once (SKIP LOCKED)", async () => {
    const stores = await replicas(await freshDatabaseUrl(), 3);
    try {
      for (let i = 0; i < 40; i += 1) {
        await stores[i % 3]!.recordDelivery({ id: `d-${String(i).padStart(2, "0")}`, event: "ping", payload: "{}", receivedAt: at(0) });
      }
      const claimed: string[][] = [[], [], []];
      await Promise.all(
        stores.map(async (store, replica) => {
          for (;;) {
            const batch = await store.claimDeliveries({
              owner: `replica-${replica}`,
              now: at(1),
              leaseMs: 60_000,
              limit: 3,
              maxAttempts: 3,
            });
            if (batch.length === 0) return;
            claimed[replica]!.push(...batch.map((entry) => entry.id));
          }
        }),
      );
      const all = claimed.flat();
      expect(all).toHaveLength(40);
      expect(new Set(all).size).toBe(40);
      expect(await stores[0]!.countDeliveries()).toEqual({ pending: 40, done: 0, dead: 0 });
    } finally {
      await closeAll(stores);
    }
  });

  it("never forks the audit hash chain when replicas append at once", async () => {
    const stores = await replicas(await freshDatabaseUrl(), 3);
    try {
      const { grant } = await stores[0]!.beginGrant(newGrant());
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 5 === 0
            ? stores[i % 3]!.recordRevokeFailure(grant.id, `502 #${i}`, at(i), undefined, auditOf("revoke_failed", { details: { i } }))
            : stores[i % 3]!.appendAudit(auditOf("validated", { details: { i } })),
        ),
      );
      const records = await stores[1]!.listAudit();
      expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await stores[2]!.verifyAudit()).toEqual({ ok: true, count: 30, lastSeq: 30, lastHash: records.at(-1)!.hash });
      // Six revocation failures from three processes: none lost.
      expect(await stores[0]!.getGrant(grant.id)).toMatchObject({ revokeAttempts: 6 });
    } finally {
      await closeAll(stores);
    }
  });

  it("lets exactly one replica make a change two of them try at once; the other is told the grant moved on", async () => {
    const stores = await replicas(await freshDatabaseUrl(), 2);
    try {
      const grants = await Promise.all(Array.from({ length: 8 }, async () => (await stores[0]!.beginGrant(newGrant())).grant));
      for (const grant of grants) {
        const outcomes = await Promise.allSettled(
          stores.map((store, i) =>
            store.markEnded(grant.id, "revoked", `by replica ${i}`, at(5), auditOf("revoked", { actor: `replica-${i}` })),
          ),
        );
        const winner = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
        const refused = outcomes.filter((outcome) => outcome.status === "rejected");
        expect(winner).not.toBe(-1);
        expect(refused).toHaveLength(1);
        expect(refused[0]?.reason).toBeInstanceOf(IllegalTransitionError);
        expect(refused[0]?.reason).toMatchObject({ grantId: grant.id, state: "revoked" });
        expect(await stores[1]!.getGrant(grant.id)).toMatchObject({ state: "revoked", endReason: `by replica ${winner}` });
        // One audit record for the grant's end: the winner's.
        expect((await stores[1]!.listAudit()).filter((record) => record.grantId === grant.id).map((record) => record.actor)).toEqual([
          `replica-${winner}`,
        ]);
      }
    } finally {
      await closeAll(stores);
    }
  });

  it("records one gate decision, with one audit record, when replicas decide the same job at once", async () => {
    const stores = await replicas(await freshDatabaseUrl(), 3);
    try {
      const input = newGateDecision();
      const results = await Promise.all(
        stores.map((store, i) =>
          store.recordGateDecision(
            { ...input, comment: `replica ${i}` },
            { at: at(6), action: "gate_rejected", actor: "jit-access", owner: "acme", repo: "api" },
          ),
        ),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.decision.comment)).size).toBe(1);
      const key = { runId: input.runId, runAttempt: 1, environment: "production" };
      const answers = await Promise.all(
        stores.map((store, i) => store.recordGateAnswer(key, { outcome: i === 0 ? "accepted" : "refused", answeredAt: at(7 + i) })),
      );
      expect(new Set(answers.map((decision) => decision.answer?.outcome)).size).toBe(1);
      expect((await stores[0]!.listAudit()).map((record) => record.action)).toEqual(["gate_rejected"]);
    } finally {
      await closeAll(stores);
    }
  });

  it("writes one grant for one request key when replicas begin it at once", async () => {
    const stores = await replicas(await freshDatabaseUrl(), 3);
    try {
      const input = newGrant();
      const results = await Promise.all(stores.map((store) => store.beginGrant(input, auditOf("granting"))));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.grant.id)).size).toBe(1);
      expect(await stores[0]!.listGrants({ liveOnly: false })).toHaveLength(1);
      expect((await stores[0]!.listAudit()).map((record) => record.action)).toEqual(["granting"]);
    } finally {
      await closeAll(stores);
    }
  });
});

describePostgres("PostgreSQL ledger: tampering shows in the hash chain", () => {
  it.each<[string, string, { seq: number; count: number; problem: RegExp }]>([
    ["a changed actor", "UPDATE audit SET actor = 'mallory' WHERE seq = 2", { seq: 2, count: 1, problem: /does not match its hash/ }],
    ["a deleted record", "DELETE FROM audit WHERE seq = 2", { seq: 3, count: 1, problem: /\(record 2 is missing\)/ }],
    [
      "changed details",
      `UPDATE audit SET details = '{"approvers":["mallory"]}' WHERE seq = 3`,
      { seq: 3, count: 2, problem: /does not match its hash/ },
    ],
    [
      "details that no longer read as an object",
      "UPDATE audit SET details = '[1, 2]' WHERE seq = 3",
      { seq: 3, count: 2, problem: /^it cannot be read: audit record 3 holds malformed details/ },
    ],
  ])("verifyAudit names the first broken record after %s", async (_, tamper, expected) => {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    try {
      const { grant } = await store.beginGrant(newGrant(), auditOf("granting", { at: at(0) }));
      await store.appendAudit(auditOf("approved", { at: at(0) }));
      await store.markActive(grant.id, at(1), auditOf("granted", { at: at(1), details: { approvers: ["owner-one"] } }));
      await store.markEnded(grant.id, "expired", "expired", at(120), auditOf("expired", { at: at(120) }));
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4 });
      // As someone with the database's owner rights would: the triggers first.
      await adminQuery(schema, "ALTER TABLE audit DISABLE TRIGGER USER");
      await adminQuery(schema, tamper);
      expect(await store.verifyAudit()).toEqual({
        ok: false,
        seq: expected.seq,
        count: expected.count,
        problem: expect.stringMatching(expected.problem),
      });
    } finally {
      await store.close();
    }
  });

  it("verifies a log longer than one page of reads, and names a break past the first page", async () => {
    const { schema, url } = await freshSchema();
    // 2,500 records chained as a store would chain them, written in one statement.
    const seqs: number[] = [];
    const hashes: string[] = [];
    const prevHashes: string[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= 2_500; seq += 1) {
      const hash = auditHash(seq, prevHash, { at: at(0), action: "validated", actor: "x", owner: "acme", repo: "api" });
      seqs.push(seq);
      prevHashes.push(prevHash);
      hashes.push(hash);
      prevHash = hash;
    }
    const store = await openLedger(url);
    try {
      await adminQuery(
        schema,
        `INSERT INTO audit (seq, at, action, actor, owner, repo, prev_hash, hash)
         SELECT seq, $4, 'validated', 'x', 'acme', 'api', prev_hash, hash FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t (seq, prev_hash, hash)`,
        [seqs, prevHashes, hashes, at(0).getTime()],
      );
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 2_500, lastSeq: 2_500, lastHash: prevHash });
      await adminQuery(schema, "ALTER TABLE audit DISABLE TRIGGER USER");
      await adminQuery(schema, "UPDATE audit SET actor = 'mallory' WHERE seq = 2345");
      expect(await store.verifyAudit()).toMatchObject({ ok: false, seq: 2_345, count: 2_344 });
    } finally {
      await store.close();
    }
  });
});

describePostgres("PostgreSQL ledger: archived audit records", () => {
  /** Records 1–4, then records 1 and 2 archived (record 5 says so). */
  async function archivedTwo(): Promise<{ schema: string; store: LedgerStore; hashes: string[] }> {
    const { schema, url } = await freshSchema();
    const store = await openLedger(url);
    for (let minute = 0; minute < 4; minute += 1) await store.appendAudit(auditOf("validated", { at: at(minute) }));
    const hashes = (await store.listAudit()).map((event) => event.hash);
    await store.archiveAudit((await store.planAuditArchive(at(2)))!, at(10), auditOf("archived", { at: at(10) }));
    return { schema, store, hashes };
  }

  it("the database removes audit rows only where a recorded cut covers them, and never changes a cut", async () => {
    const { schema, store } = await archivedTwo();
    try {
      const refusal =
        "the audit log is append-only: rows cannot be deleted, except by jit-access audit --archive once they are in an archive file";
      await expect(adminQuery(schema, "DELETE FROM audit WHERE seq = 3")).rejects.toThrow(refusal);
      await expect(adminQuery(schema, "DELETE FROM audit")).rejects.toThrow(refusal);
      await expect(adminQuery(schema, "TRUNCATE audit")).rejects.toThrow("the audit log is append-only: rows cannot be truncated");
      await expect(adminQuery(schema, "UPDATE audit_archives SET head_hash = $1", ["f".repeat(64)])).rejects.toThrow(
        "the record of audit archives is append-only: rows cannot be updated",
      );
      await expect(adminQuery(schema, "DELETE FROM audit_archives")).rejects.toThrow(
        "the record of audit archives is append-only: rows cannot be deleted",
      );
      await expect(adminQuery(schema, "TRUNCATE audit_archives")).rejects.toThrow(
        "the record of audit archives is append-only: rows cannot be truncated",
      );
      expect(await adminQuery(schema, "SELECT seq::int FROM audit ORDER BY seq")).toEqual([{ seq: 3 }, { seq: 4 }, { seq: 5 }]);
      expect(await adminQuery(schema, "SELECT count(*)::int AS n FROM audit_archives")).toEqual([{ n: 1 }]);
    } finally {
      await store.close();
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
    const { schema, store } = await archivedTwo();
    try {
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 3, lastSeq: 5 });
      await adminQuery(schema, "ALTER TABLE audit DISABLE TRIGGER USER");
      await adminQuery(schema, tamper);
      expect(await store.verifyAudit()).toEqual({ ok: false, seq: expect.any(Number), count: 0, problem: expect.stringMatching(problem) });
    } finally {
      await store.close();
    }
  });

  it("two archives of one cut and appends from other replicas at the same time: one archive, one chain", async () => {
    const { url } = await freshSchema();
    const stores = await replicas(url, 4);
    try {
      const [first, second, ...appenders] = stores as [LedgerStore, LedgerStore, ...LedgerStore[]];
      for (let minute = 0; minute < 40; minute += 1) await first.appendAudit(auditOf("validated", { at: at(minute) }));
      const plan = (await first.planAuditArchive(at(40)))!;
      expect(plan).toMatchObject({ firstSeq: 1, lastSeq: 40, count: 40 });

      const appends = appenders.flatMap((store, replica) =>
        Array.from({ length: 10 }, (_, index) =>
          store.appendAudit(auditOf("approved", { at: at(50), actor: `replica-${replica}-${index}` })),
        ),
      );
      const archives = await Promise.allSettled([
        first.archiveAudit(plan, at(60), auditOf("archived", { at: at(60) })),
        second.archiveAudit(plan, at(60), auditOf("archived", { at: at(60) })),
      ]);
      await Promise.all(appends);

      // The second to take its turn finds the cut gone, and says so; it changed nothing.
      expect(archives.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      const refused = archives.find((result): result is PromiseRejectedResult => result.status === "rejected");
      expect(String(refused?.reason)).toContain(
        "the audit log changed since the archive was planned: the ledger's chain now starts after record 40, not 0",
      );
      expect(await first.listAuditArchives()).toEqual([{ ...plan, archivedAt: at(60) }]);
      const left = await first.listAudit();
      expect(left.map((event) => event.seq)).toEqual(Array.from({ length: 21 }, (_, index) => 41 + index));
      expect(left[0]!.prevHash).toBe(plan.headHash);
      expect(left.filter((event) => event.action === "archived")).toHaveLength(1);
      expect(await first.verifyAudit()).toMatchObject({ ok: true, count: 21, lastSeq: 61 });
    } finally {
      await closeAll(stores);
    }
  });

  it("archives a cut longer than one page of reads, and the rest verifies from its head", async () => {
    const { schema, url } = await freshSchema();
    const seqs: number[] = [];
    const hashes: string[] = [];
    const prevHashes: string[] = [];
    const times: number[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= 2_500; seq += 1) {
      const record = { at: at(seq), action: "validated" as const, actor: "x", owner: "acme", repo: "api" };
      const hash = auditHash(seq, prevHash, record);
      seqs.push(seq);
      prevHashes.push(prevHash);
      hashes.push(hash);
      times.push(record.at.getTime());
      prevHash = hash;
    }
    const store = await openLedger(url);
    try {
      await adminQuery(
        schema,
        `INSERT INTO audit (seq, at, action, actor, owner, repo, prev_hash, hash)
         SELECT seq, at, 'validated', 'x', 'acme', 'api', prev_hash, hash FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS t (seq, prev_hash, hash, at)`,
        [seqs, prevHashes, hashes, times],
      );
      const plan = (await store.planAuditArchive(at(2_001)))!;
      expect(plan).toEqual({
        firstSeq: 1,
        lastSeq: 2_000,
        count: 2_000,
        prevHash: GENESIS_HASH,
        headHash: hashes[1_999],
        before: at(2_001),
      });
      await store.archiveAudit(plan, at(3_000), auditOf("archived", { at: at(3_000) }));
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 501, lastSeq: 2_501 });
      expect(await store.listAuditArchives()).toEqual([{ ...plan, archivedAt: at(3_000) }]);
    } finally {
      await store.close();
    }
  });
});

describe("PostgreSQL DATABASE_URL", () => {
  it.each([
    ["postgres://jit:hunter2@127.0.0.1:1/jit", "postgres://jit@127.0.0.1:1/jit"],
    ["postgresql://jit:hunter2@db.internal/jit?sslmode=require&password=hunter2", "postgres://jit@db.internal/jit"],
    ["PostgreSQL://db.internal:5433/jit", "postgres://db.internal:5433/jit"],
  ])("names %s as %s in errors", (url, shown) => {
    expect(postgresServer(url)).toBe(shown);
  });

  it.each([
    ["postgres://jit:hunter2@db.internal:5432/jit?password=hunter2", "postgres://jit@db.internal:5432/jit"],
    ["postgresql://jit:hunter2@[db/jit", "postgresql:…"],
    ["sqlite:./data/jit-access.db", "sqlite:./data/jit-access.db"],
    ["mysql://jit:hunter2@db/jit", "mysql:…"],
    ["host=db password=hunter2", "(not a URL)"],
  ])("the start-up log names the ledger %s as %s", (url, label) => {
    expect(ledgerLabel(url)).toBe(label);
  });

  it.each([
    [
      "postgres:jit",
      'DATABASE_URL "postgres:…" is not a valid PostgreSQL URL: it has no //HOST part; write it like postgres://USER:PASSWORD@HOST:5432/DATABASE',
    ],
    ["postgres://jit:hunter2@[db/jit", "it cannot be parsed as a URL"],
  ])("refuses %j without echoing it", async (url, message) => {
    const error = await rejectionOf(openLedger(url));
    expect(error.message).toContain(message);
    expect(error.message).not.toContain("hunter2");
  });

  it.each(["postgres", "postgresql", "PostgreSQL"])(
    "opens %s: URLs as PostgreSQL, and says which server could not be reached and what to check, without the password",
    async (scheme) => {
      const error = await rejectionOf(openLedger(`${scheme}://jit:hunter2@127.0.0.1:1/jit`));
      expect(error.message).toMatch(
        /^cannot open the ledger database postgres:\/\/jit@127\.0\.0\.1:1\/jit \(DATABASE_URL\): connect ECONNREFUSED 127\.0\.0\.1:1 \(nothing listens at the host and port in DATABASE_URL/,
      );
      expect(error.message).not.toContain("hunter2");
    },
  );
});

describePostgres("PostgreSQL DATABASE_URL on a live server", () => {
  it("says when the database does not exist", async () => {
    const url = new URL(await freshDatabaseUrl());
    url.pathname = "/jit_no_such_database";
    const error = await rejectionOf(openLedger(url.toString()));
    expect(error.message).toContain('database "jit_no_such_database" does not exist (the database named in DATABASE_URL does not exist');
  });
});

describePostgres("migrating a PostgreSQL ledger at version 7 to version 8", () => {
  it("marks grants that were written as written, and any other as possibly written; no grant has a write mark yet", async () => {
    const { schema, url } = await freshSchema();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migratePostgres(
        client,
        PG_MIGRATIONS.filter((migration) => migration.version <= 7),
      );
    } finally {
      await client.end();
    }
    const insert = (id: string, state: string, grantedAt: number | null, endedAt: number | null = null) =>
      adminQuery(
        schema,
        `INSERT INTO grants (id, installation_id, owner, repo, environment, secret, requester, pr_number, head_sha, approvers,
           reason, duration_ms, request_key, created_at, granted_at, expires_at, ended_at, state)
         VALUES ($1, 42, 'acme', 'api', 'production', 'PROD_DB_URL', '{"id":7,"login":"alice"}', 7, $2, '[{"id":8,"login":"bob"}]',
           'INC-1', 3600000, $1, $3, $4, $5, $6, $7)`,
        [id, "a".repeat(40), at(0).getTime(), grantedAt, at(60).getTime(), endedAt, state],
      );
    await insert("active", "active", at(1).getTime());
    await insert("granting", "granting", null);
    await insert("expired", "expired", at(1).getTime(), at(61).getTime());
    await insert("failed", "failed", null, at(1).getTime());

    const store = await openLedger(url);
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
      expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "granting")).toBe(1);
      expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "active")).toBe(0);
      // The approvers' permissions at the time were not recorded then (version 13): null, not guessed.
      expect((await store.getGrant("active"))?.approverPermissions).toBeNull();
      expect((await store.getGrant("active"))?.approvers).toEqual([{ id: 8, login: "bob" }]);
    } finally {
      await store.close();
    }
    expect(await adminQuery(schema, "SELECT max(version)::int AS version FROM schema_version")).toEqual([
      { version: PG_LATEST_SCHEMA_VERSION },
    ]);
    await expect(adminQuery(schema, "UPDATE grants SET secret_write = 'maybe' WHERE id = 'active'")).rejects.toThrow(/check constraint/);
  });
});

describePostgres("PostgreSQL secret locks", () => {
  it("are released by the server when the holder's connection ends (a replica that died)", async () => {
    const url = await freshDatabaseUrl();
    const key = "acme/api\u0000production\u0000PROD_DB_URL";
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    const store = await openLedger(url);
    try {
      await holder.query("SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '') || chr(1) || $2))", [
        0x6a697473,
        key.replaceAll("\u0000", "\u0001"),
      ]);
      const error = await rejectionOf(store.withSecretLock(key, async () => "ran", { timeoutMs: 100 }));
      expect(error.name).toBe("SecretLockTimeoutError");
      await holder.end();
      expect(await store.withSecretLock(key, async () => "ran", { timeoutMs: 5_000 })).toBe("ran");
    } finally {
      await holder.end().catch(() => undefined);
      await store.close();
    }
  });
});
