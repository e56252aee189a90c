/**
 * Runs the app exactly as an operator does — `node dist/main.js` with `npm start`'s flags — in its
 * own process, with a real `.env`-style environment, a catalog file and a SQLite ledger — wired
 * to a simulator: GitHub API through GHE_HOST/GHE_PROTOCOL, webhooks signed and posted over HTTP.
 * For the demo and the end-to-end tests; never part of the app's runtime path.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GitHubSimulator } from "./index.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
export const APP_ENTRY = join(ROOT, "dist", "main.js");

/**
 * The Node flags `npm start` runs the server with (package.json's start script: the V8 heap
 * limits), so that the app runs here as an operator runs it.
 */
export const SERVER_NODE_FLAGS: readonly string[] = startScriptFlags();

function startScriptFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  const match = /^node((?:\s+--\S+)*)\s+dist\/main\.js$/.exec(start.trim());
  if (!match) throw new Error(`package.json's start script is not "node [--flag …] dist/main.js": ${start}`);
  return match[1]!
    .trim()
    .split(/\s+/)
    .filter((flag) => flag !== "");
}

export interface AppProcessOptions {
  /** The catalog's YAML text. */
  catalog: string;
  /** Secret values and any other variables for the app's environment. */
  env?: Record<string, string>;
  /** Ledger directory; a new temporary one by default. Reuse it across restarts. */
  dataDir?: string;
  sweepInterval?: string;
  logLevel?: string;
  /** The port to listen on; a free one by default. */
  port?: number;
  /**
   * "simulator" (default): the simulator's APP_ID, PRIVATE_KEY and WEBHOOK_SECRET in the
   * environment. "env-file": none in the environment, so the app reads them from `.env` in
   * `dataDir` (its working directory), as after registering from the setup page.
   */
  credentials?: "simulator" | "env-file";
  /** The script to run; this checkout's dist/main.js by default (another, e.g. an installed package's). */
  entry?: string;
}

export interface AppProcess {
  url: string;
  port: number;
  /** The process id, e.g. to read its memory use from /proc. */
  pid: number;
  dataDir: string;
  databaseUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait (graceful); `kill("SIGKILL")` for a crash. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export async function startAppProcess(sim: GitHubSimulator, options: AppProcessOptions): Promise<AppProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "jit-access-"));
  const catalogPath = join(dataDir, "jit-catalog.yml");
  writeFileSync(catalogPath, options.catalog);
  const port = options.port ?? (await freePort());
  const simEnv = sim.appEnv();
  if (options.credentials === "env-file") {
    delete simEnv.APP_ID;
    delete simEnv.PRIVATE_KEY;
    delete simEnv.WEBHOOK_SECRET;
  }
  const databaseUrl = `sqlite:${join(dataDir, "jit-access.db")}`;
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    LOG_FORMAT: "json",
    LOG_LEVEL: options.logLevel ?? "info",
    HOST: "127.0.0.1",
    PORT: String(port),
    JIT_CATALOG: catalogPath,
    DATABASE_URL: databaseUrl,
    JIT_SWEEP_INTERVAL: options.sweepInterval ?? "2s",
    ...simEnv,
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, options.entry ?? APP_ENTRY], {
    cwd: dataDir,
    env: env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${port}`;
  sim.setWebhookUrl(`${url}/api/github/webhooks`);

  const deadline = Date.now() + 20_000;
  let running = true;
  void exited.then(() => (running = false));
  for (;;) {
    if (!running) throw new Error(`the app exited during start-up:\n${output}`);
    try {
      const response = await fetch(`${url}/ping`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the app did not answer /ping within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    port,
    pid: child.pid!,
    dataDir,
    databaseUrl,
    output: () => output,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (running) child.kill(signal);
      return exited;
    },
  };
}
