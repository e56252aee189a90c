import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GitHubSimulator } from "../../sim/index.js";
import { sampleMemory } from "./process-memory.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
export const CLI_ENTRY = process.env.BENCH_CLI_ENTRY ?? join(ROOT, "dist", "cli.js");

export interface CliRun {
  exitCode: number | null;
  wallSeconds: number;
  peakRssMiB: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/cli.js ARGS` (the `jit-access` bin) as an operator's cron job would, against
 * the simulator, and measures its wall time and peak resident memory.
 */
export async function runCli(sim: GitHubSimulator, args: string[], env: Record<string, string>): Promise<CliRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn", ...sim.appEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const memory = sampleMemory(child.pid!, 50);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const wallSeconds = (performance.now() - started) / 1000;
  const { peakMiB } = memory.stop();
  return { exitCode, wallSeconds: Number(wallSeconds.toFixed(2)), peakRssMiB: peakMiB, stdout, stderr };
}
