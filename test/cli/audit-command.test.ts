import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { ARCHIVE_FORMAT, defaultArchiveFile } from "../../src/cli/audit-archive.js";
import { AUDIT_FIELDS } from "../../src/cli/audit-command.js";
import type { CliIO } from "../../src/cli/cli-context.js";
import { runCli } from "../../src/cli/run-cli.js";
import { AUDIT_PAGE_SIZE } from "../../src/ledger/audit-pages.js";
import { sqliteFilename } from "../../src/ledger/sqlite-open.js";
import { appendAuditRows } from "../helpers/audit-rows.js";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";

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
  await cli.store.appendAudit({
    at: new Date("2026-02-28T23:59:59.999Z"),
    action: "validated",
    actor: "alice",
    owner: "acme",
    repo: "api",
    prNumber: 7,
  });
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
  await cli.store.appendAudit({
    at: new Date("2026-03-02T08:30:00Z"),
    action: "reconciled",
    actor: "operator:dana",
    owner: "acme",
    repo: "web",
    environment: "production",
    secret: "PROD_DB_URL",
  });
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
    expect(records[1]).toMatchObject({
      seq: 2,
      action: "revoked",
      grantId,
      secret: "PROD_DB_URL",
      details: { reason: 'pasted "by mistake", into chat\nsecond line' },
    });
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
    [["--out", "file"], "--out go with --archive"],
  ])("exits 2 with the usage for %p", async (args, message) => {
    const result = await cli.run(["audit", ...args], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr[0]).toContain(message);
    expect(result.stderr[1]).toMatch(/^usage: jit-access audit/);
  });
});

/** A raw connection to the ledger file the commands use, with the append-only triggers dropped, as an attacker with the file would. */
function tamperLedger(sql: string): void {
  const raw = new Database(sqliteFilename(cli.env.DATABASE_URL!));
  try {
    raw.exec("DROP TRIGGER audit_rows_are_never_updated; DROP TRIGGER audit_rows_are_removed_only_when_archived");
    raw.exec(sql);
  } finally {
    raw.close();
  }
}

describe("jit-access audit: a long log", () => {
  it("is read a page at a time, each page once stdout has taken the one before", async () => {
    const rows = AUDIT_PAGE_SIZE * 2 + 500;
    appendAuditRows(cli.env.DATABASE_URL!, rows);
    const lines: string[] = [];
    /** How many lines were written at each wait for stdout, and when the export awaited it. */
    const waits: number[] = [];
    const awaited: number[] = [];
    /** Waits for stdout not released yet, oldest first; `arrived` tells `held` a new one came. */
    const pending: Array<() => void> = [];
    let arrived: (() => void) | undefined;
    /** Lines written while a wait for stdout was held: a page written before stdout took the one before. */
    let writtenWhileHeld = 0;
    const io: CliIO = {
      stdout: (line) => {
        if (pending.length > 0) writtenWhileHeld += 1;
        lines.push(line);
      },
      stderr: (line) => lines.push(`stderr: ${line}`),
      stdoutDrained: () => {
        waits.push(lines.length);
        const drained = new Promise<void>((resolve) => {
          pending.push(resolve);
          arrived?.();
        });
        // A thenable rather than the promise: `await` calls its `then`, so the export is seen waiting on it.
        const thenable: PromiseLike<void> = {
          then: (onDrained, onFailed) => {
            awaited.push(lines.length);
            return drained.then(onDrained, onFailed);
          },
        };
        return thenable as Promise<void>;
      },
      env: ledgerOnly,
      clock: cli.clock,
    };
    /** The oldest wait for stdout not released yet, once the export has come to it. */
    const held = async (): Promise<() => void> => {
      while (pending.length === 0) await new Promise<void>((resolve) => (arrived = resolve));
      return pending[0]!;
    };
    /** Lets the export go on past that wait. */
    const release = (go: () => void): void => {
      pending.shift();
      go();
    };

    const exported = runCli(["audit"], io);
    const first = await held();
    expect(lines).toHaveLength(AUDIT_PAGE_SIZE);
    release(first);
    release(await held());
    release(await held());

    expect(await exported).toBe(0);
    expect(waits).toEqual([AUDIT_PAGE_SIZE, AUDIT_PAGE_SIZE * 2, rows]);
    expect(awaited).toEqual(waits);
    // While stdout had not taken a page, nothing more was written (checked at every write, not after a wait).
    expect(writtenWhileHeld).toBe(0);
    expect(lines.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
  });
});

describe("jit-access audit --verify", () => {
  const tamper = tamperLedger;

  it("exits 0 with the count and the head of an intact chain; no credentials needed", async () => {
    await seedAudit();
    const head = (await cli.store.listAudit()).at(-1)!.hash;

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result).toEqual({ code: 0, stdout: [`audit chain intact: 3 records; last record 3, hash ${head}`], stderr: [] });
  });

  it("exits 0 on an empty log", async () => {
    expect(await cli.run(["audit", "--verify"], ledgerOnly)).toEqual({
      code: 0,
      stdout: ["audit chain intact: 0 records (the log is empty)"],
      stderr: [],
    });
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
    expect(result.stderr).toEqual([
      expect.stringMatching(
        /^audit chain broken at record 3: its prev_hash .* is not the hash .* of record 1 before it \(record 2 is missing\)/,
      ),
    ]);
  });

  it("exits 1 when the first record is gone", async () => {
    await seedAudit();
    tamper("DELETE FROM audit WHERE seq = 1");

    const result = await cli.run(["audit", "--verify"], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      expect.stringMatching(/^audit chain broken at record 2: it is the first record, but .*; no record before it checked intact$/),
    ]);
  });
});

describe("jit-access audit --archive", () => {
  let files: Awaited<ReturnType<typeof tempLedgerDir>>;
  beforeEach(async () => {
    files = await tempLedgerDir();
  });
  afterEach(async () => {
    await files.remove();
  });

  /** The header and the records of an archive file. */
  async function readArchiveFile(
    path: string,
  ): Promise<{ header: Record<string, unknown>; records: Record<string, unknown>[]; text: string }> {
    const text = await readFile(path, "utf8");
    const [header, ...records] = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { header: header!, records, text };
  }

  it("writes the records before the instant to the file, then removes them; the ledger's chain goes on from the last one's hash", async () => {
    await seedAudit();
    const exported = (await cli.run(["audit"], ledgerOnly)).stdout;
    const [h1, h2] = (await cli.store.listAudit()).map((record) => record.hash);
    const out = files.path("2026-02.jsonl");

    const result = await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], { ...ledgerOnly, USER: "dana" });

    expect(result).toEqual({
      code: 0,
      stdout: [
        `archived 2 records (1 to 2, before 2026-03-01T05:00:00.000Z) to ${out}; head hash ${h2}, where the ledger's audit chain now starts. Keep the file: the records are no longer in the ledger.`,
      ],
      stderr: [],
    });
    const { header, records, text } = await readArchiveFile(out);
    expect(header).toEqual({
      format: ARCHIVE_FORMAT,
      firstSeq: 1,
      lastSeq: 2,
      count: 2,
      prevHash: "0".repeat(64),
      headHash: h2,
      before: "2026-03-01T05:00:00.000Z",
      archivedAt: "2026-03-01T10:00:00.000Z",
    });
    // The records exactly as `jit-access audit` exported them.
    expect(text.trimEnd().split("\n").slice(1)).toEqual(exported.slice(0, 2));
    expect(records.map((record) => record.hash)).toEqual([h1, h2]);
    expect((await stat(out)).mode & 0o777).toBe(0o600);

    const left = await cli.store.listAudit();
    expect(left.map((record) => [record.seq, record.action])).toEqual([
      [3, "reconciled"],
      [4, "archived"],
    ]);
    expect(left[0]!.prevHash).toBe(h2);
    expect(left[1]).toMatchObject({
      actor: "operator:dana",
      owner: "",
      repo: "",
      details: {
        firstSeq: 1,
        lastSeq: 2,
        count: 2,
        prevHash: "0".repeat(64),
        headHash: h2,
        before: "2026-03-01T05:00:00.000Z",
        file: out,
        ranBy: expect.objectContaining({ host: expect.any(String) }),
      },
    });
    expect(await cli.run(["audit", "--verify"], ledgerOnly)).toEqual({
      code: 0,
      stdout: [
        `audit chain intact: 2 records after record 2, the last one archived (chain checked from its hash ${h2}); last record 4, hash ${left[1]!.hash}`,
      ],
      stderr: [],
    });
  });

  it("archives again from where the last archive ended, and each file verifies and links to the ledger", async () => {
    await seedAudit();
    const first = files.path("first.jsonl");
    const second = files.path("second.jsonl");
    expect((await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", first], ledgerOnly)).code).toBe(0);
    await cli.clock.advance(24 * 3_600_000);
    expect((await cli.run(["audit", "--archive", "--before", "2026-03-02T09:00:00Z", "--out", second], ledgerOnly)).code).toBe(0);
    const [archive1, archive2] = await cli.store.listAuditArchives();
    expect(archive1).toMatchObject({ firstSeq: 1, lastSeq: 2 });
    expect(archive2).toMatchObject({ firstSeq: 3, lastSeq: 4, prevHash: archive1!.headHash });

    expect(await cli.run(["audit", "--verify-archive", first], ledgerOnly)).toEqual({
      code: 0,
      stdout: [
        `archive intact: 2 records, 1 to 2, head hash ${archive1!.headHash}; the ledger recorded this cut on 2026-03-01T10:00:00.000Z, and the archive of records 3 to 4 chains from its head hash`,
      ],
      stderr: [],
    });
    expect(await cli.run(["audit", "--verify-archive", second], ledgerOnly)).toEqual({
      code: 0,
      stdout: [
        `archive intact: 2 records, 3 to 4, head hash ${archive2!.headHash}; the ledger recorded this cut on 2026-03-02T10:00:00.000Z, and the records the ledger holds chain from its head hash (jit-access audit --verify checks them)`,
      ],
      stderr: [],
    });
    expect((await cli.run(["audit", "--verify"], ledgerOnly)).stdout).toEqual([
      expect.stringMatching(/^audit chain intact: 1 record after record 4, the last one archived/),
    ]);
  });

  it("says so when nothing is before the instant, and writes and removes nothing", async () => {
    await seedAudit();
    const out = files.path("nothing.jsonl");

    const result = await cli.run(["audit", "--archive", "--before", "2026-02-01", "--out", out], ledgerOnly);

    expect(result).toEqual({
      code: 0,
      stdout: [
        "nothing to archive: the ledger holds no audit record before 2026-02-01T00:00:00.000Z; no file was written and the ledger is unchanged",
      ],
      stderr: [],
    });
    expect(existsSync(out)).toBe(false);
    expect(await cli.store.listAudit()).toHaveLength(3);
    expect(await cli.store.listAuditArchives()).toEqual([]);
  });

  it("never overwrites a file: exits 2, and the file and the ledger are unchanged", async () => {
    await seedAudit();
    const out = files.path("taken.jsonl");
    await writeFile(out, "someone else's file\n");

    const result = await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], ledgerOnly);

    expect(result).toEqual({
      code: 2,
      stdout: [],
      stderr: [
        `jit-access audit: cannot write the archive to ${out}: it already exists, and an archive never overwrites a file; name another with --out. Nothing was archived.`,
      ],
    });
    expect(await readFile(out, "utf8")).toBe("someone else's file\n");
    expect(await cli.store.listAudit()).toHaveLength(3);
  });

  it("archives nothing from a broken chain, and removes the partial file", async () => {
    await seedAudit();
    tamperLedger("UPDATE audit SET actor = 'mallory' WHERE seq = 2");
    const out = files.path("broken.jsonl");

    const result = await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      expect.stringMatching(
        /^jit-access audit: the audit chain is broken at record 2: its content does not match its hash .*\. Nothing was archived and the partial file was removed; run jit-access audit --verify/,
      ),
    ]);
    expect(existsSync(out)).toBe(false);
    expect((await cli.store.listAudit()).map((record) => record.seq)).toEqual([1, 2, 3]);
    expect(await cli.store.listAuditArchives()).toEqual([]);
  });

  it("keeps the file and says so when the ledger cannot remove the records; every record stays", async () => {
    await seedAudit();
    const raw = new Database(sqliteFilename(cli.env.DATABASE_URL!));
    raw.exec("CREATE TRIGGER archive_fails BEFORE INSERT ON audit_archives BEGIN SELECT RAISE(ABORT, 'disk I/O trouble'); END");
    raw.close();
    const out = files.path("kept.jsonl");

    const result = await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], ledgerOnly);

    expect(result).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        `jit-access audit: the archive was written to ${out}, but the records were not removed from the ledger: the ledger could not remove audit records 1 to 2 (archived): disk I/O trouble. ` +
          `Every record is still in the ledger; delete ${out} and run the archive again.`,
      ],
    });
    expect((await readArchiveFile(out)).records).toHaveLength(2);
    expect((await cli.store.listAudit()).map((record) => record.seq)).toEqual([1, 2, 3]);
    expect(await cli.store.listAuditArchives()).toEqual([]);
  });

  it.each<[string, (text: string) => string, RegExp]>([
    [
      "a record changed",
      (text) => text.replace('"actor":"alice"', '"actor":"mallory"'),
      /^archive .* does not verify: the audit chain is broken at record 1: its content does not match its hash/,
    ],
    [
      "the last record cut off",
      (text) => text.split("\n").slice(0, 2).join("\n"),
      /does not verify: 1 record ending at record 1, where 2 records ending at record 2 were expected: the file was cut short$/,
    ],
    [
      "a line that is not a record",
      (text) => text.replace(/\n[^\n]*\n$/, '\n{"seq":2}\n'),
      /does not verify: the audit chain is broken at record 2: line 3 is not an audit record: its at is not an ISO 8601 UTC time$/,
    ],
    [
      "its header's head hash changed",
      (text) => text.replace(/"headHash":"[0-9a-f]{64}"/, `"headHash":"${"f".repeat(64)}"`),
      /does not verify: record 2's hash is [0-9a-f]{64}, not the head hash f{64}$/,
    ],
    [
      "no header",
      (text) => text.split("\n").slice(1).join("\n"),
      /does not verify: its first line is not a jit-access\/audit-archive\/v1 header: its format is undefined$/,
    ],
    ["nothing in it", () => "", /does not verify: the file is empty$/],
  ])("--verify-archive exits 1 for a file with %s", async (_, change, problem) => {
    await seedAudit();
    const out = files.path("archive.jsonl");
    await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], ledgerOnly);
    await writeFile(out, change(await readFile(out, "utf8")));

    const result = await cli.run(["audit", "--verify-archive", out], ledgerOnly);

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([expect.stringMatching(problem)]);
  });

  it("--verify-archive exits 1 for an intact file the ledger has no record of", async () => {
    await seedAudit();
    const out = files.path("archive.jsonl");
    await cli.run(["audit", "--archive", "--before", "2026-03-01T05:00:00Z", "--out", out], ledgerOnly);

    const result = await cli.run(["audit", "--verify-archive", out], { DATABASE_URL: files.url("another-ledger.db") });

    expect(result).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        `archive ${out} does not verify: its records (1 to 2) are intact, but the ledger has no record of archiving them: the file is from another ledger, or the ledger was replaced`,
      ],
    });
  });

  it("--verify-archive exits 2 for a file it cannot read", async () => {
    const result = await cli.run(["audit", "--verify-archive", files.path("missing.jsonl")], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([
      expect.stringMatching(/^jit-access audit: cannot read the archive .*missing\.jsonl: ENOENT: no such file or directory/),
    ]);
  });

  it.each([
    [["--archive"], "--archive needs --before ISO: the records before that instant are archived"],
    [
      ["--archive", "--before", "last year"],
      '--before must be an ISO 8601 date or date-time with offset, e.g. 2026-01-01 or 2026-01-01T00:00:00Z; got "last year"',
    ],
    [
      ["--archive", "--before", "2026-03-01T10:00:00.001Z"],
      "--before 2026-03-01T10:00:00.001Z is in the future: only records already written can be archived",
    ],
    [["--archive", "--before", "2026-03-01", "--out", " "], "--out is empty"],
    [
      ["--archive", "--before", "2026-03-01", "--since", "2026-01-01"],
      "--archive writes every record of the cut, as JSON lines: it takes neither --since nor --format",
    ],
    [["--archive", "--before", "2026-03-01", "--format", "csv"], "it takes neither --since nor --format"],
    [["--before", "2026-03-01"], "--before go with --archive"],
    [["--verify", "--out", "x.jsonl"], "--out go with --archive"],
    [["--archive", "--verify", "--before", "2026-03-01"], "--verify and --archive cannot be combined: give one"],
    [["--verify-archive", "x.jsonl", "--verify"], "--verify and --verify-archive cannot be combined: give one"],
    [
      ["--verify-archive", "x.jsonl", "--since", "2026-03-01"],
      "--verify-archive checks a file and exports nothing: it takes neither --since nor --format",
    ],
    [["--verify-archive", ""], "--verify-archive needs the archive file"],
  ])("exits 2 with the usage for %p, and changes nothing", async (args, message) => {
    await seedAudit();

    const result = await cli.run(["audit", ...args], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr[0]).toContain(message);
    expect(result.stderr[1]).toMatch(/^usage: jit-access audit/);
    expect(await cli.store.listAudit()).toHaveLength(3);
  });

  it("names its file after the records it holds when --out is not given", () => {
    expect(defaultArchiveFile({ firstSeq: 1201, lastSeq: 2400 })).toBe("jit-access-audit-1201-2400.jsonl");
  });
});
