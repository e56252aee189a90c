import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { copyFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { appendAuditRows } from "../helpers/audit-rows.js";
import { tempLedgerDir } from "../helpers/grant-fixture.js";

/**
 * Issue 21 §7: 2,000,000 audit records made `jit-access audit` peak at 2.4 GB, because it read
 * the whole log before writing a line. Export, `--verify`, `--archive` and `--verify-archive` now
 * read a page at a time. Each runs as `node dist/cli.js`, in its own process, with V8's heap
 * capped at 64 MB: over 200,000 records (well over 180 MB as JavaScript objects) a command that
 * held the log would die of "heap out of memory"; reading a page at a time, every one completes
 * with its whole output. The cap is the measure, not the resident set: how much memory the
 * allocator keeps around V8's heap differs by Node version (on Node 24 an export's peak RSS over
 * 200,000 records was 110 MB above its peak over 20,000 while its heap stayed within the cap).
 * No timing is asserted.
 */
const CLI = resolve(fileURLToPath(new URL("../../dist/cli.js", import.meta.url)));
const SMALL = 20_000;
const LARGE = 200_000;
/** V8's old generation, capped for every command (see above). */
const HEAP_MB = 64;

interface Run {
  code: number | null;
  /** Lines on stdout, counted (not kept: the test's own memory is beside the point). */
  stdoutLines: number;
  /** With a heap that overflowed: V8's "heap out of memory" report. */
  stderr: string;
}

function jitAccess(args: string[], databaseUrl: string): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, CLI, ...args], {
      cwd: dir.path("."),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, USER: "dana", DATABASE_URL: databaseUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdoutLines = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) stdoutLines += 1;
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code, stdoutLines, stderr }));
  });
}

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
beforeAll(async () => {
  await ensureAppBuilt();
  dir = await tempLedgerDir();
  await (await openLedger(dir.url())).close();
}, 180_000);
afterAll(async () => {
  await dir?.remove();
});

type Command = "audit" | "audit --format csv" | "audit --verify" | "audit --archive" | "audit --verify-archive";

/** Each command over the ledger as it is now; the archive on a copy, so that the ledger keeps its records. */
async function runEach(records: number): Promise<Record<Command, Run>> {
  const copy = `copy-${records}.db`;
  await copyFile(dir.path("ledger.db"), dir.path(copy));
  return {
    audit: await jitAccess(["audit"], dir.url()),
    "audit --format csv": await jitAccess(["audit", "--format", "csv"], dir.url()),
    "audit --verify": await jitAccess(["audit", "--verify"], dir.url()),
    // The records are in 2020; the file gets its default name, in the working directory.
    "audit --archive": await jitAccess(["audit", "--archive", "--before", "2025-01-01"], dir.url(copy)),
    "audit --verify-archive": await jitAccess(["audit", "--verify-archive", `jit-access-audit-1-${records}.jsonl`], dir.url(copy)),
  };
}

describe("jit-access audit over a long log (process memory)", () => {
  it(`every command completes over ${SMALL.toLocaleString("en")} and ${LARGE.toLocaleString("en")} records in a ${HEAP_MB} MB heap`, async () => {
    appendAuditRows(dir.url(), SMALL);
    const small = await runEach(SMALL);
    appendAuditRows(dir.url(), LARGE - SMALL);
    const large = await runEach(LARGE);

    for (const [runs, records] of [
      [small, SMALL],
      [large, LARGE],
    ] as const) {
      expect(runs.audit).toMatchObject({ code: 0, stdoutLines: records, stderr: "" });
      expect(runs["audit --format csv"]).toMatchObject({ code: 0, stdoutLines: records + 1, stderr: "" });
      expect(runs["audit --verify"]).toMatchObject({ code: 0, stdoutLines: 1, stderr: "" });
      expect(runs["audit --archive"]).toMatchObject({ code: 0, stdoutLines: 1, stderr: "" });
      expect(runs["audit --verify-archive"]).toMatchObject({ code: 0, stdoutLines: 1, stderr: "" });
    }
  }, 600_000);
});
