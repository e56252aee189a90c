import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { AUDIT_FIELDS } from "../../src/cli/audit-command.js";
import { sqliteFilename } from "../../src/ledger/sqlite-open.js";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";

let cli: CliHarness;
let ledgerOnly: NodeJS.ProcessEnv;
beforeEach(async () => {
  cli = await startCliHarness();
  ledgerOnly = { DATABASE_URL: cli.env.DATABASE_URL };
});
afterEach(async () => {
  await cli.close();
});

/** Three records on two days; the second has every optional field, and a reason that needs CSV quoting. */
async function seedAudit(): Promise<string> {
  const grant = await seedGrant(cli.store);
  await cli.store.appendAudit({ at: new Date("2026-02-28T23:59:59.999Z"), action: "validated", actor: "alice", owner: "acme", repo: "api", prNumber: 7 });
  await cli.store.appendAudit({
    at: new Date("2026-03-01T00:00:00Z"),
    action: "revoked",
    actor: "operator:dana",
    owner: "acme",
    repo: "api",
    prNumber: 7,
    grantId: grant.id,
    environment: "production",
    secret: "PROD_DB_URL",
    details: { reason: 'pasted "by mistake", into chat\nsecond line' },
  });
  await cli.store.appendAudit({ at: new Date("2026-03-02T08:30:00Z"), action: "reconciled", actor: "operator:dana", owner: "acme", repo: "web", environment: "production", secret: "PROD_DB_URL" });
  return grant.id;
}

describe("jit-access audit", () => {
  it("exports JSON lines by default: every field, in order, null where a record has none; no credentials needed", async () => {
    const grantId = await seedAudit();

    const result = await cli.run(["audit"], ledgerOnly);

    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([]);
    const records = result.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => Object.keys(record))).toEqual(records.map(() => [...AUDIT_FIELDS]));
    expect(records[0]).toEqual({
      seq: 1,
      at: "2026-02-28T23:59:59.999Z",
      action: "validated",
      actor: "alice",
      owner: "acme",
      repo: "api",
      prNumber: 7,
      grantId: null,
      environment: null,
      secret: null,
      details: null,
      prevHash: "0".repeat(64),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(records[1]?.prevHash).toBe(records[0]?.hash);
    expect(records[1]).toMatchObject({ seq: 2, action: "revoked", grantId, secret: "PROD_DB_URL", details: { reason: 'pasted "by mistake", into chat\nsecond line' } });
    expect(records.map((record) => record.seq)).toEqual([1, 2, 3]);
  });

  it("exports CSV with a header row and RFC 4180 quoting; details as a JSON string", async () => {
    const grantId = await seedAudit();

    const result = await cli.run(["audit", "--format", "csv"], ledgerOnly);

    expect(result.code).toBe(0);
    const text = result.stdout.map((line) => `${line}\n`).join("");
    const [h1, h2, h3] = (await cli.store.listAudit()).map((record) => record.hash);
    expect(text).toBe(
      [
        "seq,at,action,actor,owner,repo,prNumber,grantId,environment,secret,details,prevHash,hash",
        `1,2026-02-28T23:59:59.999Z,validated,alice,acme,api,7,,,,,${"0".repeat(64)},${h1}`,
        `2,2026-03-01T00:00:00.000Z,revoked,operator:dana,acme,api,7,${grantId},production,PROD_DB_URL,"{""reason"":""pasted \\""by mistake\\"", into chat\\nsecond line""}",${h1},${h2}`,
        `3,2026-03-02T08:30:00.000Z,reconciled,operator:dana,acme,web,,,production,PROD_DB_URL,,${h2},${h3}`,
        "",
      ].join("\r\n"),
    );
  });

  it.each([
    ["2026-03-01", [2, 3]],
    ["2026-03-01T00:00:00Z", [2, 3]],
    ["2026-03-01T00:00:00.001Z", [3]],
    ["2026-03-01T01:00:00+01:00", [2, 3]],
    ["2026-03-03", []],
  ])("--since %s keeps records at or after that instant", async (since, seqs) => {
    await seedAudit();

    const result = await cli.run(["audit", "--since", since], ledgerOnly);

    expect(result.code).toBe(0);
    expect(result.stdout.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(seqs);
  });

  it.each([
    [["--since", "yesterday"], "--since must be an ISO 8601 date"],
    [["--since", "2026-02-30"], "--since must be an ISO 8601 date"],
    [["--since", "2026-03-01T10:00"], "--since must be an ISO 8601 date"],
    [["--since", "2026-03-01T24:00Z"], "--since must be an ISO 8601 date"],
    [["--format", "xml"], '--format must be jsonl or csv; got "xml"'],
    [["--verify", "--since", "2026-03-01"], "--verify checks the whole log and exports nothing: it takes neither --since nor --format"],
    [["--verify", "--format", "jsonl"], "it takes neither --since nor --format"],
    [["--out", "file"], "Unknown option '--out'"],
  ])("exits 2 with the usage for %p", async (args, message) => {
    const result = await cli.run(["audit", ...args], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr[0]).toContain(message);
    expect(result.stderr[1]).toMatch(/^usage: jit-access audit/);
  });
});

describe("jit-access audit --verify", () => {
  /** A raw connection to the ledger file the commands use, with the append-only triggers dropped, as an attacker with the file would. */
  function tamper(sql: string): void {
    const raw = new Database(sqliteFilename(cli.env.DATABASE_URL!));
    try {
      raw.exec("DROP TRIGGER audit_rows_are_never_updated; DROP TRIGGER audit_rows_are_removed_only_when_archived");
      raw.exec(sql);
    } finally {
      raw.close();
    }
  }

  it("exits 0 with the count and the head of an intact chain; no credentials needed", async () => {
    await seedAudit();
    const head = (await cli.store.listAudit()).at(-1)!.hash;

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result).toEqual({ code: 0, stdout: [`audit chain intact: 3 records; last record 3, hash ${head}`], stderr: [] });
  });

  it("exits 0 on an empty log", async () => {
    expect(await cli.run(["audit", "--verify"], ledgerOnly)).toEqual({ code: 0, stdout: ["audit chain intact: 0 records (the log is empty)"], stderr: [] });
  });

  it("exits 1 naming a record changed with raw SQL", async () => {
    await seedAudit();
    tamper(`UPDATE audit SET details = '{"reason":"nothing to see"}' WHERE seq = 2`);

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([
      expect.stringMatching(
        /^audit chain broken at record 2: its content does not match its hash \(stored [0-9a-f]{12}…, computed [0-9a-f]{12}…\): the record was changed after it was written; the 1 record before it checked intact$/,
      ),
    ]);
  });

  it("exits 1 naming the record after one deleted with raw SQL", async () => {
    await seedAudit();
    tamper("DELETE FROM audit WHERE seq = 2");

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([expect.stringMatching(/^audit chain broken at record 3: its prev_hash .* is not the hash .* of record 1 before it \(record 2 is missing\)/)]);
  });

  it("exits 1 when the first record is gone", async () => {
    await seedAudit();
    tamper("DELETE FROM audit WHERE seq = 1");

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([expect.stringMatching(/^audit chain broken at record 2: it is the first record, but .*; no record before it checked intact$/)]);
  });
});
