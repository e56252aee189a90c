import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and summarises where the time went:
 * self time per function and per code origin (our dist/, a package, Node itself).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  /** Share of non-idle time by origin: "jit-access (dist)", "node_modules/<pkg>", "node internals", "(garbage collector)", … */
  byOrigin: { origin: string; ms: number; percent: number }[];
  topFunctions: { frame: string; selfMs: number; percent: number }[];
}

/** Environment that makes a Node process profile itself (see cpu-profile-preload.mjs). */
export function profileEnv(dir: string): Record<string, string> {
  const preload = fileURLToPath(new URL("./cpu-profile-preload.mjs", import.meta.url));
  return { NODE_OPTIONS: `--import=${preload}`, BENCH_CPU_PROFILE_DIR: dir };
}

export function newestProfile(dir: string): string | null {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort();
  return files.length > 0 ? join(dir, files[files.length - 1]!) : null;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const frames = new Map<string, number>();
  const origins = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    const raw = node.callFrame.functionName;
    if (raw === "(idle)" || raw === "(program)") continue;
    const name = raw || "(anonymous)";
    busy += micros;
    const frame = `${name} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    frames.set(frame, (frames.get(frame) ?? 0) + micros);
    const origin = originOf(raw, node.callFrame.url);
    origins.set(origin, (origins.get(origin) ?? 0) + micros);
  }
  const ms = (micros: number) => Number((micros / 1000).toFixed(1));
  const pct = (micros: number) => Number(((100 * micros) / Math.max(1, busy)).toFixed(1));
  return {
    file,
    sampledMs: ms(busy),
    byOrigin: [...origins].sort((a, b) => b[1] - a[1]).map(([origin, m]) => ({ origin, ms: ms(m), percent: pct(m) })),
    topFunctions: [...frames]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, m]) => ({ frame, selfMs: ms(m), percent: pct(m) })),
  };
}

function originOf(rawName: string, url: string): string {
  if (rawName.startsWith("(")) return rawName;
  if (url === "") return "native / V8";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `node_modules/${pkg[1]}`;
  if (url.includes("/dist/")) return "jit-access (dist)";
  if (url.startsWith("node:")) return "node internals";
  return url;
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\//, "")
    .replace(/^.*\/dist\//, "dist/");
}
