import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Memory of another process from Linux's /proc: resident set now (VmRSS) and its peak so far
 * (VmHWM), in MiB. Benchmarks read these for the app process and the CLI; elsewhere they
 * return null.
 */
export interface MemorySample {
  rssMiB: number;
  peakMiB: number;
}

export function readMemory(pid: number): MemorySample | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch (error) {
    if (isGone(error)) return null; // the process has exited, or this is not Linux
    throw error;
  }
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  const rss = kib("VmRSS");
  const peak = kib("VmHWM");
  // An exiting (zombie) process has a status without memory lines.
  if (!Number.isFinite(rss) || !Number.isFinite(peak)) return null;
  return { rssMiB: mib(rss), peakMiB: mib(peak) };
}

/** Samples a process every `intervalMs` until `stop()`; returns every RSS sample and the peak. */
export function sampleMemory(pid: number, intervalMs = 100): { stop(): { samples: number[]; peakMiB: number } } {
  const samples: number[] = [];
  let peakMiB = 0;
  const take = (): void => {
    const sample = readMemory(pid);
    if (!sample) return;
    samples.push(sample.rssMiB);
    peakMiB = Math.max(peakMiB, sample.peakMiB);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return { samples, peakMiB };
    },
  };
}

/** The process whose working directory is `dir` (the app process runs in its own data directory). */
export function pidWithCwd(dir: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) return Number(entry);
    } catch (error) {
      if (!isGone(error)) throw error; // another user's process, or one that just exited
    }
  }
  return null;
}

function mib(kib: number): number {
  return Number((kib / 1024).toFixed(1));
}

/** Errors that mean "no such process (any more)" or "not ours to look at". */
function isGone(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "ENOENT" || code === "ESRCH" || code === "EACCES" || code === "EPERM";
}
