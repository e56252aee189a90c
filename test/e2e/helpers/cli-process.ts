/**
 * `jit-access` run as an operator runs it: `node dist/cli.js …` in its own process, with the
 * world's app credentials and GitHub (the simulator through GHE_HOST) and the same ledger file
 * as the app process. The two share nothing else, as a cron job and the server would not.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { World } from "./e2e-world.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const CLI_ENTRY = join(ROOT, "dist", "cli.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end (the world's start built dist/) and resolves with its exit code and output. */
export function runCli(world: World, args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: "dana",
    LOG_LEVEL: "info",
    DATABASE_URL: world.app.databaseUrl,
    ...world.sim.appEnv(),
    ...options.env,
  };
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      [CLI_ENTRY, ...args],
      { cwd: world.dataDir, env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(new Error(`jit-access ${args.join(" ")} did not finish: ${error.message}\n${stdout}${stderr}`, { cause: error }));
          return;
        }
        resolveRun({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}
