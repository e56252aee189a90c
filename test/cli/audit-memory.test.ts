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
 * read a page at a time, so a process's peak memory does not grow with the log: each command over
 * 20,000 and over 200,000 records (`node dist/cli.js`, in its own process) peaks within a few MB
 * of the same, well under what holding the records would take (over 1 KB each: 180 MB more).
 * What does differ: SQLite's page cache, up to its 16 MB (better-sqlite3's default), which the
 * smaller ledger is too small to fill; and V8's young generation, which V8 sizes by the allocation
 * rate as a run goes, moving a peak by up to some 16 MB either way from run to run. The peak is
 * the kernel's high-water mark of the process's resident set (`VmHWM` in /proc/PID/status), which
 * the process reads as it exits (a preloaded module), so no peak between two samples is missed.
 * No timing is asserted.
 */
const CLI = resolve(fileURLToPath(new URL("../../dist/cli.js", import.meta.url)));
const SMALL = 20_000;
const LARGE = 200_000;
/** Growth allowed from SMALL to LARGE records: the page cache and the young generation's swing (see above). */
const MAX_GROWTH_KB = 48 * 1024;
/** Writes the process's peak resident set (kB) to stderr as it exits. */
const REPORT_PEAK =
  "data:text/javascript," +
  encodeURIComponent(`import { readFileSync, writeSync } from "node:fs";
process.on("exit", () => {
  const kb = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))[1];
  writeSync(2, "peak-rss-kb " + kb + "\\n");
});`);

interface Run {
  code: number | null;
  /** Lines on stdout, counted (not kept: the test's own memory is beside the point). */
  stdoutLines: number;
  stderr: string;
  peakKb: number;
}

function jitAccess(args: string[], databaseUrl: string): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ["--import", REPORT_PEAK, CLI, ...args], {
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
    child.on("close", (code) => {
      const peak = /^peak-rss-kb (\d+)\n/m.exec(stderr);
      if (peak === null) reject(new Error(`jit-access ${args.join(" ")} reported no peak (exit ${code}):\n${stderr}`));
      else resolveRun({ code, stdoutLines, stderr: stderr.replace(peak[0], ""), peakKb: Number(peak[1]) });
    });
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

const COMMANDS = ["audit", "audit --format csv", "audit --verify", "audit --archive", "audit --verify-archive"] as const;

/** Each command over the ledger as it is now; the archive on a copy, so that the ledger keeps its records. */
async function runEach(records: number): Promise<Record<(typeof COMMANDS)[number], Run>> {
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
  it(`peaks no higher over ${LARGE.toLocaleString("en")} records than over ${SMALL.toLocaleString("en")}, give or take ${MAX_GROWTH_KB / 1024} MB`, async () => {
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
    const peaks = COMMANDS.map((command) => ({ command, smallMb: small[command].peakKb / 1024, largeMb: large[command].peakKb / 1024 }));
    expect(peaks.filter(({ smallMb, largeMb }) => (largeMb - smallMb) * 1024 >= MAX_GROWTH_KB)).toEqual([]);
  }, 600_000);
});
