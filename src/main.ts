#!/usr/bin/env node
import { existsSync } from "node:fs";
import { run } from "probot";
import { keepAliveUntil } from "./cli/keep-alive.js";
import { loadSettings, SettingsError } from "./config/load-settings.js";
import { ExpiryScheduler } from "./expiry/expiry-scheduler.js";
import { createAppOctokit } from "./github/app-octokit.js";
import { RateLimitReserve } from "./github/rate-limit-reserve.js";
import { WriteScheduler } from "./github/write-scheduler.js";
import { jitAccessApp } from "./index.js";
import { openLedger } from "./ledger/open-ledger.js";
import type { LifecycleDeps } from "./lifecycle/deps.js";
import { ConfigError } from "./policy/config-error.js";
import { loadCatalog } from "./policy/load-catalog.js";
import { shutDown } from "./shutdown.js";
import { systemClock } from "./util/clock.js";
import { KeyedMutex } from "./util/keyed-mutex.js";

/**
 * `npm start`: validates every setting first (one clear message naming each bad one), opens
 * the ledger, loads the catalog, then runs the Probot server with the expiry scheduler.
 */
async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const settings = loadSettings(process.env);
  const catalog = await loadCatalog(settings.catalogPath);
  const store = await openLedger(settings.databaseUrl);
  const clock = systemClock;
  let appLog: { warn(obj: object, msg: string): void } | null = null;
  const rateLimits = new RateLimitReserve(clock, { warn: (obj, msg) => appLog?.warn(obj, msg) });
  const Octokit = createAppOctokit({ scheduler: new WriteScheduler({ clock }), clock, rateLimits });

  let scheduler: ExpiryScheduler | null = null;
  let appAuth: ((installationId: number) => Promise<unknown>) | null = null;
  const deps: LifecycleDeps = {
    store,
    catalog,
    clock,
    env: process.env,
    locks: new KeyedMutex(),
    rateLimits,
    octokitFor: async (installationId) => {
      if (!appAuth) throw new Error("the app is not started yet");
      return (await appAuth(installationId)) as Awaited<ReturnType<LifecycleDeps["octokitFor"]>>;
    },
    ...(settings.actionRef !== undefined ? { actionRef: settings.actionRef } : {}),
    onGranted: (grant) => scheduler?.track(grant),
  };

  const server = await run(
    (app, options) => {
      appAuth = (id) => app.auth(id);
      appLog = app.log;
      scheduler = new ExpiryScheduler(deps, app.log.child({ name: "expiry" }), settings.sweepIntervalMs);
      void jitAccessApp(deps)(app, options);
      app.log.info(
        { secrets: catalog.secrets.size, ledger: settings.databaseUrl.replace(/\/\/[^@]*@/, "//***@"), sweepEvery: `${settings.sweepIntervalMs / 1000}s` },
        "jit-access ready",
      );
    },
    { Octokit },
  );
  // Stop accepting webhooks and stop the scheduler, wait for the work both had under way (a sweep
  // finishes the revocations it started and reads no further page), then close the ledger.
  // A second signal while this runs ends the process at once (the signal's default action).
  const stop = async (signal: string): Promise<void> => {
    // The app's timers are unref'd, and once the server is closed nothing else holds the event
    // loop: without keepAliveUntil the process would end quietly in the middle of a paced write.
    const failures = await keepAliveUntil(shutDown({ server, scheduler: scheduler as ExpiryScheduler | null, ledger: store }));
    for (const failure of failures) console.error(`jit-access: ${failure.message}`);
    console.info(`jit-access stopped (${signal})`);
    process.exit(failures.length === 0 ? 0 : 1);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  // The first sweep can take a while with a backlog of paced writes; a stop signal is honoured meanwhile.
  await (scheduler as ExpiryScheduler | null)?.start();
}

// A promise that nothing awaited failed: log it and keep serving. Ending the process here would
// drop the exact expiry timers and the webhooks being handled over one stray error.
process.on("unhandledRejection", (reason: unknown) => {
  console.error(`jit-access: an unexpected error was not handled: ${reason instanceof Error ? reason.message : String(reason)}`);
});

main().catch((error: unknown) => {
  if (error instanceof SettingsError || error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(`jit-access cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
