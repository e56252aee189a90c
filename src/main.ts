#!/usr/bin/env node
import { resolve } from "node:path";
import { Probot } from "probot";
import { keepAliveUntil } from "./cli/keep-alive.js";
import { loadSettings, SettingsError, type Settings } from "./app/load-settings.js";
import { loadCatalogOrNone } from "./app/load-catalog-or-none.js";
import { fillUnset, readEnvFile, SettingsFileError } from "./app/settings-file.js";
import { ExpiryScheduler } from "./app/expiry-scheduler.js";
import { GateCatchUp } from "./gate/catch-up.js";
import { createAppOctokit } from "./github/app-octokit.js";
import { RateLimitReserve } from "./github/rate-limit-reserve.js";
import { WriteScheduler } from "./github/write-scheduler.js";
import { DeliveryCatchUp } from "./inbox/delivery-catch-up.js";
import { InboxProcessor } from "./inbox/inbox-processor.js";
import { jitAccessApp } from "./app/jit-access-app.js";
import { ledgerLabel, openLedger, schemeOf } from "./ledger/open-ledger.js";
import { isWriteSlotStore } from "./ledger/store.js";
import { AppMetrics } from "./metrics/app-metrics.js";
import { instrumentLedger } from "./metrics/instrument-ledger.js";
import { createLifecycleDeps } from "./app/create-lifecycle-deps.js";
import { NotificationWorker } from "./feedback/outbox-worker.js";
import { ConfigError } from "./policy/config-error.js";
import { healthRoutes, Readiness } from "./server/health.js";
import { pingRoute, startHttpServer } from "./server/http-server.js";
import { metricsRoute } from "./server/metrics-route.js";
import { credentialsMissing } from "./server/credentials-missing.js";
import { webhookEndpoint, type VerifiedEvent } from "./server/webhook-endpoint.js";
import { onStopSignals, refuseWhileStopping, shutDown } from "./app/shutdown.js";
import { systemClock } from "./util/clock.js";
import { errorMessage, errorSummary } from "./util/error-message.js";
import { backfillRepositoryIds } from "./revoke/backfill-repository-ids.js";

/**
 * `npm start`: reads `.env` from the working directory (only there, and only a file the
 * operator owns), validates every setting (one clear message naming each bad one), opens the
 * ledger (refused when damaged), loads the catalog, then serves webhooks through the app's own
 * bounded, verifying endpoint and runs the expiry scheduler. A catalog that fails to load does
 * not stop the server: it starts revoke-only (grants end on time, nothing is granted), says so
 * at error on every sweep interval, and `/readyz` reports it.
 */
async function main(): Promise<void> {
  const envFile = loadDotEnv();
  // No credentials at all: a first start. Serve the page that registers the app instead (loaded
  // only then: a configured server never needs it).
  if (credentialsMissing(process.env)) {
    const { runSetupMode } = await import("./server/setup-mode.js");
    await runSetupMode({ env: process.env, envPath: envFile.path, fromEnvFile: envFile.filled });
    return;
  }
  // JIT_CATALOG is not required here: without a usable catalog the server still revokes.
  const settings = loadSettings(process.env, { catalog: false });
  const loaded = await loadCatalogOrNone(settings.catalogPath);
  const catalog = loaded.catalog;
  // One registry for this app (GET /metrics); the ledger counts its errors and grant outcomes into it.
  const metrics = new AppMetrics();
  const store = instrumentLedger(await openLedger(settings.databaseUrl), metrics);
  const clock = systemClock;
  let appLog: { warn(obj: object, msg: string): void } | null = null;
  const rateLimits = new RateLimitReserve(clock, { warn: (obj, msg) => appLog?.warn(obj, msg) });
  // On PostgreSQL, every replica's writes of an installation share its pacing (README, "Several replicas").
  const sharedSlots = isWriteSlotStore(store) ? { sharedSlots: store } : {};
  const writes = new WriteScheduler({ clock, ...sharedSlots });
  const Octokit = createAppOctokit({ scheduler: writes, clock, rateLimits });
  metrics.setSources({
    liveGrants: async () => (await store.listGrants({ liveOnly: true })).length,
    queuedWrites: () => writes.queued(),
    rateLimits,
  });

  const probot = new Probot({
    ...probotLogOptions(settings, process.env),
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    Octokit,
    // Every answer GitHub gives, retries and token requests included, is seen here: errors are counted by status.
    request: { fetch: metrics.countingFetch(globalThis.fetch) },
  });
  await probot.ready();
  const log = probot.log;
  appLog = log;
  if (!loaded.ok) {
    log.error(
      { catalogError: loaded.why },
      "the catalog failed to load: starting revoke-only; grants end on time, nothing is granted until the catalog is fixed and the app restarted",
    );
  }
  let scheduler: ExpiryScheduler | null = null;
  const deps = createLifecycleDeps({
    store,
    catalog: loaded,
    clock,
    settings,
    sourceEnv: process.env,
    octokitFor: async (installationId) => await probot.auth(installationId),
    appOctokit: async () => await probot.auth(),
    notifyLog: log.child({ name: "notify" }),
    rateLimits,
    timers: () => scheduler,
  });
  // Delivers the notification outbox (JIT_NOTIFY_URL) apart from the lifecycle, with backoff.
  const notifications = new NotificationWorker({
    store,
    clock,
    log: log.child({ name: "notify" }),
    ...(settings.notifySecret !== undefined ? { secret: settings.notifySecret } : {}),
  });
  scheduler = new ExpiryScheduler(deps, log.child({ name: "expiry" }), settings.sweepIntervalMs, {
    claimLeaseMs: settings.claimLeaseMs,
    // Replicas share a PostgreSQL ledger: each arms timers for its own grants, the sweep for the rest.
    sharedLedger: schemeOf(settings.databaseUrl).toLowerCase() !== "sqlite",
  });
  await probot.load(jitAccessApp(deps));

  // Deliveries are recorded in the ledger's inbox and answered 202 at once; the inbox runs the handlers.
  const inbox = new InboxProcessor({
    store,
    clock,
    log: log.child({ name: "inbox" }),
    leaseMs: settings.inboxLeaseMs,
    handle: (event: VerifiedEvent) =>
      metrics.timeWebhook(event.name, () => probot.webhooks.receive(event as Parameters<typeof probot.webhooks.receive>[0])),
  });
  metrics.setInboxBacklogSource(async () => (await store.countDeliveries()).pending);
  const webhooks = webhookEndpoint({
    secret: settings.webhookSecret,
    path: settings.webhookPath,
    log: log.child({ name: "webhooks" }),
    record: (event) => inbox.accept(event),
  });
  let stopping = false;
  const readiness = new Readiness({
    clock,
    log: log.child({ name: "readiness" }),
    // A read by primary key of an id no grant has: answers from the index, whatever the ledger holds.
    probeLedger: () => store.getGrant("readiness-probe"),
    revokeOnly: !loaded.ok,
    sweeps: () => scheduler?.sweepHealth ?? null,
    stopping: () => stopping,
  });
  const http = await startHttpServer({
    host: settings.host,
    port: settings.port,
    log: log.child({ name: "server" }),
    routes: [
      pingRoute,
      healthRoutes(readiness, log.child({ name: "server" })),
      metricsRoute(metrics, log.child({ name: "server" })),
      refuseWhileStopping(() => stopping),
      webhooks,
    ],
  });
  // Stopping the server: new deliveries are refused (refuseWhileStopping) and those being recorded
  // are answered while the probes still answer; then the server closes. The inbox stops claiming
  // and lets the deliveries it is processing run to the end (a worker of the stop sequence).
  const server = {
    url: http.url,
    drain: () => webhooks.idle(),
    stop: async (): Promise<void> => {
      try {
        await http.stop();
      } finally {
        await webhooks.idle();
      }
    },
  };
  inbox.start();
  log.info(`Listening on ${server.url}`);
  // Jobs that waited for the workflow gate while the app was down are answered now, then every 10 minutes.
  const gateCatchUp = new GateCatchUp(
    { ...deps, appId: settings.appId, appOctokit: async () => await probot.auth() },
    log.child({ name: "gate" }),
  );
  gateCatchUp.start();
  // Also delivers what was queued while the app was down (or by the jit-access command).
  notifications.start();
  // Deliveries GitHub could not make (the app was down, or could not record them) are asked for again.
  const deliveryCatchUp = new DeliveryCatchUp(
    { store, clock, appOctokit: async () => await probot.auth() },
    log.child({ name: "delivery-catch-up" }),
  );
  deliveryCatchUp.start();
  // Live grants recorded before the ledger kept repository ids get theirs, once, while their
  // recorded names still lead to their repositories: later renames and transfers then find them.
  const repositoryIds = backfillRepositoryIds(deps, log.child({ name: "repository-ids" })).then(
    () => undefined,
    (error: unknown) => log.warn({ error: errorSummary(error) }, "could not record the repository ids of older grants"),
  );
  log.info(
    {
      secrets: catalog.secrets.size,
      ...(loaded.ok ? {} : { revokeOnly: true }),
      ledger: ledgerLabel(settings.databaseUrl),
      sweepEvery: `${settings.sweepIntervalMs / 1000}s`,
      envFile: envFile.path,
    },
    `${loaded.ok ? "jit-access ready" : "jit-access started revoke-only"}; ` +
      (envFile.read ? `settings from the environment and ${envFile.path}` : `settings from the environment (no ${envFile.path})`),
  );

  // Stop taking work (readyz red, deliveries refused, the scheduler and the gate catch-up stop),
  // wait for the work under way (a sweep finishes the revocations it started and reads no further
  // page), close the server, then the ledger (see shutdown.ts). A second signal exits at once.
  const stop = async (signal: string): Promise<void> => {
    stopping = true;
    log.info(`${signal}: stopping; new deliveries are refused, the work under way runs to the end`);
    // The app's timers are unref'd, and once the server is closed nothing else holds the event
    // loop: without keepAliveUntil the process would end quietly in the middle of a paced write.
    const failures = await keepAliveUntil(
      shutDown({
        server,
        scheduler,
        workers: [
          { name: "the workflow gate's catch-up", stop: () => gateCatchUp.stop() },
          { name: "the notification worker", stop: () => notifications.stop() },
          { name: "the delivery catch-up", stop: () => deliveryCatchUp.stop() },
          { name: "the webhook inbox", stop: () => inbox.stop() },
          { name: "the repository ids of older grants", stop: () => repositoryIds },
        ],
        ledger: store,
      }),
    );
    for (const failure of failures) console.error(`jit-access: ${failure.message}`);
    console.info(`jit-access stopped (${signal})`);
    process.exit(failures.length === 0 ? 0 : 1);
  };
  onStopSignals(stop);
  // The first sweep can take a while with a backlog of paced writes; a stop signal is honoured meanwhile.
  await scheduler.start();
}

/**
 * `.env` in the working directory at start, as Probot reads it, and nowhere else; it fills in
 * only variables the environment does not set, and is refused unless the operator owns it.
 */
function loadDotEnv(): { path: string; read: boolean; filled: string[] } {
  const path = resolve(".env");
  try {
    const filled = fillUnset(process.env, readEnvFile(path, ".env in the working directory"));
    return { path, read: true, filled };
  } catch (error) {
    if (error instanceof SettingsFileError && error.reason === "missing") return { path, read: false, filled: [] };
    throw error;
  }
}

/** Probot's logger settings, read from the environment as Probot's own `run` reads them. */
function probotLogOptions(settings: Settings, env: NodeJS.ProcessEnv) {
  const format = env.LOG_FORMAT?.trim();
  const logFormat: "json" | "pretty" = format
    ? format === "pretty"
      ? "pretty"
      : "json"
    : env.NODE_ENV === "production"
      ? "json"
      : "pretty";
  return {
    logLevel: settings.logLevel as "info",
    logFormat,
    logLevelInString: env.LOG_LEVEL_IN_STRING === "true",
    ...(env.LOG_MESSAGE_KEY ? { logMessageKey: env.LOG_MESSAGE_KEY } : {}),
    ...(env.SENTRY_DSN ? { sentryDsn: env.SENTRY_DSN } : {}),
    ...(env.REDIS_URL ? { redisConfig: env.REDIS_URL } : {}),
  };
}

// A promise that nothing awaited failed: log it and keep serving. Ending the process here would
// drop the exact expiry timers and the webhooks being handled over one stray error.
process.on("unhandledRejection", (reason: unknown) => {
  console.error(`jit-access: an unexpected error was not handled: ${errorMessage(reason)}`);
});

main().catch((error: unknown) => {
  if (error instanceof SettingsError || error instanceof ConfigError || error instanceof SettingsFileError) {
    console.error(error.message);
  } else {
    console.error(`jit-access cannot start: ${errorMessage(error)}`);
  }
  process.exit(1);
});
