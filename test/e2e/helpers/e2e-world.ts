/**
 * One end-to-end world: the local GitHub simulator and the app as a real `node dist/main.js`
 * process wired to it (signed webhooks over HTTP, the API through GHE_HOST, a SQLite ledger in
 * a temporary data directory). The app can be stopped or killed and started again on the same
 * data directory. The world remembers every repository and pull request the test made, so the
 * final checks can look at everything a person or a log could see.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAppProcess, type AppProcess } from "../../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../../sim/index.js";
import { ADMIN_TOKEN_FILE, e2eCatalog, SECRET_VALUES } from "./catalog.js";
import { openLedger } from "../../../src/ledger/open-ledger.js";
import { ensureAppBuilt } from "./ensure-app-built.js";

/** For the `beforeAll` that starts a world: it may first have to build dist/ on a busy machine. */
export const WORLD_START_TIMEOUT_MS = 180_000;

export interface WorldOptions {
  /** JIT_SWEEP_INTERVAL in whole seconds; default 2. */
  sweepIntervalSeconds?: number;
}

export interface PullRef {
  repo: string;
  number: number;
}

export interface World {
  sim: GitHubSimulator;
  /** The app process running now. */
  readonly app: AppProcess;
  dataDir: string;
  sweepIntervalMs: number;
  /** Repositories and pull requests made through the repo-setup helpers. */
  repos: Set<string>;
  pulls: PullRef[];
  /** What every app process of this world wrote to stdout and stderr. */
  outputs(): string[];
  /**
   * Stops the app (SIGTERM: graceful; SIGKILL: a crash) and starts a new process on the same
   * data directory and ledger, after `whileDown` (what happens on GitHub meanwhile) when given,
   * with another catalog text when `catalog` is given. Resolves with the old process's exit
   * code (null when killed).
   */
  restartApp(signal: "SIGTERM" | "SIGKILL", options?: { catalog?: string; whileDown?: () => Promise<void> }): Promise<number | null>;
  close(): Promise<void>;
}

/** How long a delivery waits for the app to process it before the test goes on regardless. */
const PROCESSING_WAIT_MS = 20_000;

/**
 * Resolves once the app's inbox has finished an attempt at the delivery (done, dead, or failed
 * and waiting for its retry), or the app process has exited, or after `PROCESSING_WAIT_MS`.
 */
async function processedByApp(databaseUrl: string, id: string, app: AppProcess): Promise<void> {
  let exited = false;
  void app.exited.then(() => (exited = true));
  const deadline = Date.now() + PROCESSING_WAIT_MS;
  const store = await openLedger(databaseUrl, { readonly: true });
  try {
    while (!exited && Date.now() < deadline) {
      const entry = await store.getDelivery(id);
      if (entry !== null && (entry.state !== "pending" || (entry.attempts > 0 && entry.claimedBy === null))) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await store.close();
  }
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  await ensureAppBuilt();
  const seconds = options.sweepIntervalSeconds ?? 2;
  const sweepInterval = `${seconds}s`;
  const sweepIntervalMs = seconds * 1000;

  const dataDir = mkdtempSync(join(tmpdir(), "jit-access-e2e-"));
  writeFileSync(join(dataDir, ADMIN_TOKEN_FILE), `${SECRET_VALUES.PROD_ADMIN_TOKEN}\n`);
  const sim = await startSimulator({ port: 0 });
  const start = (catalog = e2eCatalog(dataDir)): Promise<AppProcess> =>
    startAppProcess(sim, {
      catalog,
      env: { PROD_DB_URL: SECRET_VALUES.PROD_DB_URL, LEGACY_TOKEN: SECRET_VALUES.LEGACY_TOKEN, DEPLOY_KEY: SECRET_VALUES.DEPLOY_KEY },
      dataDir,
      sweepInterval,
      // The most verbose level the app logs at, so the leak check sees every line it can write.
      logLevel: "trace",
    });

  const apps: AppProcess[] = [];
  // The app answers a delivery once its inbox holds it (202) and processes it after: a delivery
  // made through the simulator resolves once the app has processed it, as it did when the app
  // answered after its handlers had run.
  sim.waitAfterDeliveries(async (delivery) => {
    const app = apps[apps.length - 1];
    if (app !== undefined) await processedByApp(app.databaseUrl, delivery.id, app);
  });
  try {
    apps.push(await start());
  } catch (error) {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const current = (): AppProcess => apps[apps.length - 1]!;

  return {
    sim,
    get app() {
      return current();
    },
    dataDir,
    sweepIntervalMs,
    repos: new Set(),
    pulls: [],
    outputs: () => apps.map((app) => app.output()),
    restartApp: async (signal, restart = {}) => {
      const code = await current().stop(signal);
      await restart.whileDown?.();
      apps.push(await start(restart.catalog));
      return code;
    },
    close: async () => {
      try {
        await current().stop("SIGTERM");
      } finally {
        await sim.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
