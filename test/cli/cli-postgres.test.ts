import { afterAll, afterEach, beforeEach, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import nock from "nock";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { appPrivateKey, startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { describePostgres, DROP_TIMEOUT_MS, dropTestSchemas, freshDatabaseUrl } from "../helpers/postgres.js";
import { mockInstallationToken } from "../helpers/reconcile-nock.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";

/**
 * The commands that read and write the ledger, on a PostgreSQL ledger: in the test's process against
 * GitHub behind nock, and as their own process, which must end once the command is done (the
 * ledger's connections closed).
 */
const HOUR = 3_600_000;

afterAll(dropTestSchemas, DROP_TIMEOUT_MS);

describePostgres("jit-access on a PostgreSQL ledger", () => {
  let cli: CliHarness;
  beforeEach(async () => {
    cli = await startCliHarness({ databaseUrl: await freshDatabaseUrl() });
  });
  afterEach(async () => {
    await cli.close();
  });

  it("lists grants, sweeps a due one (its end recorded with its audit record), exports and verifies the audit log, and reviews the period", async () => {
    const due = await seedGrant(cli.store, { createdAt: new Date(EXPIRY_START - 2 * HOUR) });
    const later = await seedGrant(cli.store, { createdAt: new Date(EXPIRY_START - HOUR), secret: "OTHER_SECRET", prNumber: 8 });
    const ledgerOnly = { DATABASE_URL: cli.env.DATABASE_URL };

    const listed = await cli.run(["grants", "--json"], ledgerOnly);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout.join("\n")) as { id: string }[]).map((grant) => grant.id).sort()).toEqual([due.id, later.id].sort());

    mockInstallationToken(42);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 204).comment(7).setLabels(7);
    const swept = await cli.run(["sweep"]);
    expect(swept).toMatchObject({ code: 0, stdout: ["swept: 1 due, 1 ended, 0 still due"] });
    expect(nock.pendingMocks()).toEqual([]);
    expect(await cli.store.getGrant(due.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START) });
    expect(await cli.store.getGrant(later.id)).toMatchObject({ state: "active" });

    const exported = await cli.run(["audit"], ledgerOnly);
    expect(exported.code).toBe(0);
    expect(exported.stdout.map((line) => JSON.parse(line) as { action: string; grantId: string | null })).toContainEqual(
      expect.objectContaining({ action: "expired", grantId: due.id }),
    );
    const verified = await cli.run(["audit", "--verify"], ledgerOnly);
    expect(verified.code).toBe(0);
    const last = JSON.parse(exported.stdout.at(-1)!) as { seq: number; hash: string };
    expect(verified.stdout).toEqual([`audit chain intact: 1 record; last record ${last.seq}, hash ${last.hash}`]);

    // The access review reads the period's grants a page at a time.
    const since = new Date(EXPIRY_START - 3 * HOUR).toISOString();
    const reviewed = await cli.run(
      ["report", "--since", since, "--until", new Date(EXPIRY_START).toISOString(), "--format", "json"],
      ledgerOnly,
    );
    expect(reviewed.code).toBe(0);
    const review = JSON.parse(reviewed.stdout.join("\n")) as { grants: { id: string }[] };
    expect(review.grants.map((grant) => grant.id).sort()).toEqual([due.id, later.id].sort());
  });

  it("archives the audit records before an instant to a file, removes them, and the file and the records left verify", async () => {
    const files = await tempLedgerDir();
    try {
      const ledgerOnly = { DATABASE_URL: cli.env.DATABASE_URL };
      for (const [day, actor] of [
        ["2026-02-27", "alice"],
        ["2026-02-28", "bob"],
        ["2026-03-01", "carol"],
      ] as const) {
        await cli.store.appendAudit({
          at: new Date(`${day}T12:00:00Z`),
          action: "validated",
          actor,
          owner: "acme",
          repo: "api",
          prNumber: 7,
        });
      }
      const [, h2] = (await cli.store.listAudit()).map((record) => record.hash);
      const out = files.path("2026-02.jsonl");

      const archived = await cli.run(["audit", "--archive", "--before", "2026-03-01", "--out", out], ledgerOnly);
      expect(archived).toMatchObject({ code: 0, stderr: [] });
      expect(archived.stdout).toEqual([
        expect.stringMatching(new RegExp(`^archived 2 records \\(1 to 2, before 2026-03-01T00:00:00.000Z\\) to .*; head hash ${h2},`)),
      ]);
      expect((await cli.store.listAudit()).map((record) => [record.seq, record.actor])).toEqual([
        [3, "carol"],
        [4, expect.stringMatching(/^operator:/)],
      ]);
      expect(await cli.store.listAuditArchives()).toEqual([expect.objectContaining({ firstSeq: 1, lastSeq: 2, headHash: h2 })]);

      const checked = await cli.run(["audit", "--verify-archive", out], ledgerOnly);
      expect(checked).toMatchObject({ code: 0, stdout: [expect.stringMatching(/^archive intact: 2 records, 1 to 2, head hash /)] });
      const verified = await cli.run(["audit", "--verify"], ledgerOnly);
      expect(verified).toMatchObject({
        code: 0,
        stdout: [expect.stringMatching(/^audit chain intact: 2 records after record 2, the last one archived/)],
      });
      const again = await cli.run(["audit", "--archive", "--before", "2026-03-01", "--out", files.path("again.jsonl")], ledgerOnly);
      expect(again).toMatchObject({ code: 0, stdout: [expect.stringMatching(/^nothing to archive/)] });
    } finally {
      await files.remove();
    }
  });
});

/** tsx runs the TypeScript entry as is; named by URL because the process runs in another directory. */
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** A command that has not ended by then left something open: the test fails instead of hanging. */
const PROCESS_LIMIT_MS = 60_000;

function jitAccess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", TSX, CLI, ...args],
      { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env }, timeout: PROCESS_LIMIT_MS },
      (error, stdout, stderr) => {
        const failed = error as (Error & { code?: number | string; killed?: boolean }) | null;
        resolve({
          code: typeof failed?.code === "number" ? failed.code : failed ? null : 0,
          killed: failed?.killed === true,
          stdout,
          stderr,
        });
      },
    );
  });
}

describePostgres("the jit-access process on a PostgreSQL ledger", () => {
  it("ends by itself after grants, audit and sweep, each having opened and closed the ledger", async () => {
    const url = await freshDatabaseUrl();
    const store = await openLedger(url);
    const grant = await seedGrant(store, { createdAt: new Date(Date.now() - HOUR) });
    await store.close();
    const env = { DATABASE_URL: url, APP_ID: "1", PRIVATE_KEY: appPrivateKey() };

    const grants = await jitAccess(["grants", "--json"], env);
    expect(grants).toMatchObject({ code: 0, killed: false, stderr: "" });
    expect(JSON.parse(grants.stdout)).toEqual([expect.objectContaining({ id: grant.id })]);

    const audit = await jitAccess(["audit", "--verify"], env);
    expect(audit).toMatchObject({ code: 0, killed: false, stderr: "" });

    // Nothing is due (an hour of two has passed), so the sweep calls no one.
    const sweep = await jitAccess(["sweep"], env);
    expect(sweep).toMatchObject({ code: 0, killed: false, stdout: "swept: 0 due, 0 ended, 0 still due\n" });
  });

  it("exits 2 naming the server it could not reach, without the password", async () => {
    const result = await jitAccess(["grants"], { DATABASE_URL: "postgres://jit:hunter2@127.0.0.1:1/jit" });
    expect(result).toMatchObject({ code: 2, killed: false, stdout: "" });
    expect(result.stderr).toContain("cannot open the ledger database postgres://jit@127.0.0.1:1/jit (DATABASE_URL): connect ECONNREFUSED");
    expect(result.stderr).not.toContain("hunter2");
  });
});
