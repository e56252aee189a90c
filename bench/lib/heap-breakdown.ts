import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./request-watch.js";

/**
 * What a Node process's resident memory is made of, as its own V8 heap sees it: asked of the app
 * process with a signal (see memory-report-preload.mjs) next to its RSS from /proc. All in MiB.
 * `committed` is what V8 holds from the system for a space; `used`, what live and not yet
 * collected objects take of it. RSS minus the heap's committed memory is Node's baseline (the
 * binary's pages, ICU, OpenSSL), native modules and `external` (Buffers, the SQLite addon's own).
 */
export interface HeapBreakdown {
  heapCommittedMiB: number;
  heapUsedMiB: number;
  /** The young generation (both semi-spaces), committed / used. */
  newSpace: { committedMiB: number; usedMiB: number };
  oldSpace: { committedMiB: number; usedMiB: number };
  /** Compiled code (code space, code large objects). */
  codeMiB: number;
  /** Everything else V8 keeps on its heap: maps, large objects, read-only space. */
  otherSpacesMiB: number;
  /** Memory outside the heap that objects on it hold (Buffers, ArrayBuffers, the SQLite addon). */
  externalMiB: number;
}

interface SpaceStats {
  space_name: string;
  space_used_size: number;
  physical_space_size: number;
}

interface Report {
  memoryUsage: { heapUsed: number; external: number };
  heapSpaces: SpaceStats[];
}

/** Environment that lets the bench ask a Node process for its heap breakdown (SIGUSR2). */
export function memoryReportEnv(): { env: Record<string, string>; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "jit-access-memory-"));
  const preload = fileURLToPath(new URL("./memory-report-preload.mjs", import.meta.url));
  return { env: { NODE_OPTIONS: `--import=${preload}`, BENCH_MEMORY_DIR: dir }, dir };
}

/** Two environments' NODE_OPTIONS joined, the rest of the second over the first. */
export function mergeNodeEnv(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  const options = [a.NODE_OPTIONS, b.NODE_OPTIONS].filter((o): o is string => o !== undefined && o !== "").join(" ");
  return { ...a, ...b, ...(options ? { NODE_OPTIONS: options } : {}) };
}

/** Signals the process and reads the breakdown it writes; null if it wrote none within 5 s. */
export async function readHeapBreakdown(pid: number, dir: string): Promise<HeapBreakdown | null> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; waited < 5000; waited += 50) {
    const file = readdirSync(dir).find((f) => f.endsWith(".json") && !before.has(f));
    if (file) {
      // Written with one writeFileSync: wait a moment so that it is complete.
      await sleep(50);
      return breakdown(JSON.parse(readFileSync(join(dir, file), "utf8")) as Report);
    }
    await sleep(50);
  }
  return null;
}

export function removeReports(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function breakdown(report: Report): HeapBreakdown {
  const space = (name: string): SpaceStats | undefined => report.heapSpaces.find((s) => s.space_name === name);
  const committed = (names: string[]): number => names.reduce((sum, n) => sum + (space(n)?.physical_space_size ?? 0), 0);
  const used = (names: string[]): number => names.reduce((sum, n) => sum + (space(n)?.space_used_size ?? 0), 0);
  const all = report.heapSpaces.map((s) => s.space_name);
  const code = ["code_space", "code_large_object_space"];
  const named = ["new_space", "old_space", ...code];
  return {
    heapCommittedMiB: mib(committed(all)),
    heapUsedMiB: mib(report.memoryUsage.heapUsed),
    newSpace: { committedMiB: mib(committed(["new_space"])), usedMiB: mib(used(["new_space"])) },
    oldSpace: { committedMiB: mib(committed(["old_space"])), usedMiB: mib(used(["old_space"])) },
    codeMiB: mib(committed(code)),
    otherSpacesMiB: mib(committed(all.filter((n) => !named.includes(n)))),
    externalMiB: mib(report.memoryUsage.external),
  };
}

function mib(bytes: number): number {
  return Number((bytes / 1048576).toFixed(1));
}
