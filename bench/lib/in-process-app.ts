import { pino } from "pino";
import { createLifecycleDeps } from "../../src/app/create-lifecycle-deps.js";
import { Probot } from "probot";
import type { GitHubSimulator } from "../../sim/index.js";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps, Log } from "../../src/app/deps.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { systemClock } from "../../src/util/clock.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";
import { benchCatalog } from "./fixtures.js";

/**
 * The app's own modules wired as the server wires them (src/main.ts), in this process: the
 * app's Octokit (per-installation pacing, retries) authenticated as the app through the
 * simulator, the real system clock, a ledger, and a log that counts warnings and errors.
 */
export interface InProcessApp {
  deps: LifecycleDeps;
  log: Log & { warnings: number; errors: number; lastProblem: string | null };
}

/**
 * How writes are paced: the app's own per-installation, priority-ordered scheduler, or Probot's
 * throttling plugin as Probot configures it (the peer of `bench/scenarios/peer-throttling.ts`).
 */
export type Pacing = "own" | "probot-throttling";

export function inProcessApp(
  sim: GitHubSimulator,
  store: LedgerStore,
  catalogText = benchCatalog(1),
  pacing: Pacing = "own",
): InProcessApp {
  const Octokit = createAppOctokit(
    pacing === "own" ? { scheduler: new WriteScheduler({ clock: systemClock }), clock: systemClock } : "probot-throttling",
  );
  const probot = new Probot({
    appId: sim.appId,
    privateKey: sim.privateKeyPem,
    baseUrl: sim.apiUrl,
    Octokit,
    log: pino({ level: "silent" }),
  });
  const log = countingLog();
  const deps = createLifecycleDeps({
    store,
    catalog: { ok: true, catalog: parseCatalog(catalogText, "(benchmark catalog)") },
    clock: systemClock,
    settings: { baseUrl: "https://api.github.com", notifyUrls: [] },
    sourceEnv: {},
    locks: new KeyedMutex(),
    caches: false,
    octokitFor: (installationId) => probot.auth(installationId),
  });
  return { deps, log };
}

function countingLog(): InProcessApp["log"] {
  const log = {
    warnings: 0,
    errors: 0,
    lastProblem: null as string | null,
    debug: () => undefined,
    info: () => undefined,
    warn: (obj: object | string, msg?: string) => {
      log.warnings++;
      log.lastProblem = describe(obj, msg);
    },
    error: (obj: object | string, msg?: string) => {
      log.errors++;
      log.lastProblem = describe(obj, msg);
    },
  };
  return log;
}

function describe(obj: object | string, msg?: string): string {
  return typeof obj === "string" ? obj : `${msg ?? ""} ${JSON.stringify(obj).slice(0, 300)}`;
}
