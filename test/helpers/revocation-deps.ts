import { NO_CATALOG } from "../../src/app/load-catalog-or-none.js";
import nock from "nock";
import { createLifecycleDeps } from "../../src/app/create-lifecycle-deps.js";
import { HARNESS_SETTINGS } from "./harness-settings.js";
import { pino } from "pino";
import { Probot } from "probot";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { ManualClock } from "../../src/util/clock.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";

/**
 * LifecycleDeps for expiry and revocation tests on a ledger the test opened (in memory or a
 * file, so that a "restart" can open it again): a real Probot with a token (no token exchange),
 * the app's Octokit with retries off and no pacing delay, a ManualClock, and GitHub behind nock
 * with the network blocked. The catalog is empty: revocation does not read it.
 */
export const EXPIRY_START = Date.parse("2026-03-01T10:00:00Z");

export function revocationDeps(
  store: LedgerStore,
  clock = new ManualClock(EXPIRY_START),
): { deps: LifecycleDeps; clock: ManualClock; probot: Probot; probotLogs: string[] } {
  nock.disableNetConnect();
  const probotLogs: string[] = [];
  const Octokit = createAppOctokit(
    { scheduler: new WriteScheduler({ clock, writeIntervalMs: 0, notifyIntervalMs: 0 }), clock },
    { retry: false },
  );
  const probot = new Probot({
    githubToken: "test",
    Octokit,
    log: pino({ level: "debug" }, { write: (line: string) => void probotLogs.push(line) }),
  });
  const deps = createLifecycleDeps({
    store,
    catalog: { ok: true, catalog: NO_CATALOG },
    clock,
    settings: HARNESS_SETTINGS,
    sourceEnv: {},
    locks: new KeyedMutex(),
    caches: false,
    octokitFor: (installationId) => probot.auth(installationId),
  });
  return { deps, clock, probot, probotLogs };
}
