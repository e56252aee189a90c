import { mkdtempSync, rmSync } from "node:fs";
import { createLifecycleDeps } from "../../../src/app/create-lifecycle-deps.js";
import { HARNESS_SETTINGS } from "../../helpers/harness-settings.js";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { Probot } from "probot";
import { startSimulator, type GitHubSimulator, type SimulatorOptions } from "../../../sim/index.js";
import { ExpiryScheduler } from "../../../src/app/expiry-scheduler.js";
import { createAppOctokit } from "../../../src/github/app-octokit.js";
import type { AppOctokit } from "../../../src/github/repo-client.js";
import { RateLimitReserve } from "../../../src/github/rate-limit-reserve.js";
import { WriteScheduler } from "../../../src/github/write-scheduler.js";
import { jitAccessApp } from "../../../src/app/jit-access-app.js";
import { openLedger } from "../../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../../src/ledger/store.js";
import type { LifecycleDeps, Log } from "../../../src/app/deps.js";
import { parseCatalog } from "../../../src/policy/load-catalog.js";
import { shutDown } from "../../../src/app/shutdown.js";
import { ManualClock } from "../../../src/util/clock.js";
import { healthRoutes, Readiness } from "../../../src/server/health.js";
import { startHttpServer } from "../../../src/server/http-server.js";
import { webhookEndpoint } from "../../../src/server/webhook-endpoint.js";
import { KeyedMutex } from "../../../src/util/keyed-mutex.js";
import { RequestTracker, type Ignore } from "./request-tracker.js";

/**
 * The app in this process, wired as src/main.ts wires it — the app's webhook endpoint
 * (src/server/webhook-endpoint.ts) on a real HTTP port, the app's Octokit (per-installation
 * pacing, Probot's retry plugin on), a SQLite ledger file, the expiry scheduler — against the
 * local GitHub simulator. Differences from
 * `npm start`, each for a test that never sleeps: the app's clock is a ManualClock the test moves
 * (pacing, timeouts, expiry, retries all read it), the retry plugin's own backoff (real
 * timers, 1 s/4 s/9 s) is scaled to milliseconds, and deliveries go to the handlers directly
 * rather than through the ledger's inbox (so a delivery is answered once it was handled; the
 * inbox has its own tests in test/inbox and runs in the app process). Where the fault concerns the process itself
 * (a kill), the tests use sim/app-process.ts instead.
 */
export const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*", "load-*/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`;
export const VALUE = "postgres://app:fault-test-Pa55w0rd@db.internal:5432/prod";
export const START = Date.parse("2026-03-01T10:00:00Z");

export interface SimAppOptions {
  catalog?: string;
  /**
   * Run as the server does when its catalog failed to load, with this as the loader's message:
   * revoke-only, with a catalog that allows nothing (`catalog` is then not used).
   */
  revokeOnly?: string;
  env?: Record<string, string>;
  /** A ledger of the test's own (e.g. one that fails); a SQLite file in a temp directory by default. */
  store?: LedgerStore;
  /** GitHub's pacing by default: 1000 ms between writes, 3000 ms between comments. */
  writeIntervalMs?: number;
  notifyIntervalMs?: number;
  sweepIntervalMs?: number;
  /** Start the expiry scheduler (first sweep at once, then every interval). Default true. */
  expiry?: boolean;
  logLevel?: pino.Level;
  simulator?: SimulatorOptions;
}

export interface SimApp {
  sim: GitHubSimulator;
  clock: ManualClock;
  store: LedgerStore;
  deps: LifecycleDeps;
  /** The app's HTTP server (webhooks, `/healthz`, `/readyz`), e.g. `http://127.0.0.1:PORT`. */
  url: string;
  writes: WriteScheduler;
  expiry: ExpiryScheduler;
  tracker: RequestTracker;
  /** Every log line, as JSON text. */
  logs: string[];
  log: Log;
  databaseUrl: string | null;
  /** The app itself (JWT), as `jit-access reconcile` uses it to list the installations. */
  appOctokit: () => Promise<AppOctokit>;
  /**
   * Runs a scripting call that sends webhooks (e.g. `() => approve(sim, repo, pr)`), counting
   * each delivery as in flight until a handler starts on it; resolves when the app answered.
   */
  deliver<T>(send: () => Promise<T>): Promise<T>;
  /** Sends a recorded delivery again (same id and body), counted as `deliver` does. */
  redeliver(deliveryId: string): Promise<unknown>;
  /** Waits until no API request (but those `ignore` matches) or delivery is in flight. */
  settle(ignore?: Ignore): Promise<void>;
  /**
   * Lets the app settle, then moves the clock `stepMs` on, until `done` holds; throws after
   * `maxMs` of app time. Returns the app time it took. (Small steps: a request whose answer has
   * arrived may still be on its way up through Octokit's plugins when the app looks settled, and
   * must not see its 30-second deadline pass meanwhile.)
   */
  runUntil(done: () => unknown, options: { stepMs?: number; maxMs: number; what: string; ignore?: Ignore }): Promise<number>;
  close(): Promise<void>;
}

export async function startSimApp(options: SimAppOptions = {}): Promise<SimApp> {
  const sim = await startSimulator({ webhookTimeoutMs: 600_000, ...options.simulator });
  const clock = new ManualClock(START);
  const tracker = new RequestTracker(clock);
  const logs: string[] = [];
  const logger = pino(
    { level: options.logLevel ?? "info" },
    new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
  );
  let dataDir: string | null = null;
  let databaseUrl: string | null = null;
  let store = options.store;
  if (!store) {
    dataDir = mkdtempSync(join(tmpdir(), "jit-faults-"));
    databaseUrl = `sqlite:${join(dataDir, "jit-access.db")}`;
    store = await openLedger(databaseUrl);
  }
  const writes = new WriteScheduler({
    clock,
    writeIntervalMs: options.writeIntervalMs ?? 1000,
    notifyIntervalMs: options.notifyIntervalMs ?? 3000,
  });
  const rateLimits = new RateLimitReserve(clock, logger.child({ name: "rate-limit" }));
  const Octokit = createAppOctokit({ scheduler: writes, clock, rateLimits }).defaults({ retry: { retryAfterBaseValue: 1 } });
  const probot = new Probot({
    appId: sim.appId,
    privateKey: sim.privateKeyPem,
    secret: sim.webhookSecret,
    baseUrl: sim.apiUrl,
    Octokit,
    log: logger,
    request: { fetch: tracker.fetch },
  });
  let expiry: ExpiryScheduler | null = null;
  const deps = createLifecycleDeps({
    store,
    catalog:
      options.revokeOnly === undefined
        ? { ok: true, catalog: parseCatalog(options.catalog ?? CATALOG, "jit-catalog.yml") }
        : { ok: false, why: options.revokeOnly },
    clock,
    settings: HARNESS_SETTINGS,
    sourceEnv: { PROD_DB_URL: VALUE, ...options.env },
    locks: new KeyedMutex(),
    rateLimits,
    octokitFor: async (id) => probot.auth(id),
    timers: () => expiry,
  });
  const log = logger.child({ name: "expiry" });
  expiry = new ExpiryScheduler(deps, log, options.sweepIntervalMs ?? 60_000);

  const appFn = jitAccessApp(deps);
  await probot.load((app, appOptions) => {
    app.onAny(async (context) => tracker.arrived(context.id));
    return appFn(app, appOptions);
  });
  const webhooks = webhookEndpoint({
    secret: sim.webhookSecret,
    log: logger.child({ name: "webhooks" }),
    receive: (event) => probot.webhooks.receive(event as Parameters<typeof probot.webhooks.receive>[0]),
  });
  let stopping = false;
  const readiness = new Readiness({
    clock,
    log: logger.child({ name: "readiness" }),
    probeLedger: () => store.getGrant("readiness-probe"),
    revokeOnly: options.revokeOnly !== undefined,
    sweeps: () => expiry.sweepHealth,
    stopping: () => stopping,
  });
  const http = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    log: logger,
    routes: [healthRoutes(readiness, logger), webhooks],
  });
  const server: Server = http.server;
  sim.setWebhookUrl(`${http.url}/api/github/webhooks`);
  if (options.expiry ?? true) await expiry.start();

  const runUntil: SimApp["runUntil"] = async (done, { stepMs = 1000, maxMs, what, ignore }) => {
    const started = clock.now();
    for (;;) {
      await tracker.idle(ignore);
      if (await done()) return clock.now() - started;
      if (clock.now() - started >= maxMs) throw new Error(`${what} did not happen within ${maxMs / 1000} s of app time`);
      // Requests a timer starts are answered before the step's later timers fire (a request's own timeout among them).
      await clock.advance(stepMs, () => tracker.idle(ignore));
    }
  };

  return {
    sim,
    clock,
    store,
    deps,
    url: http.url,
    writes,
    expiry,
    tracker,
    logs,
    log,
    databaseUrl,
    appOctokit: () => probot.auth(),
    deliver: (send) => {
      const before = sim.deliveries.length;
      const answered = send();
      return tracker.sent(
        sim.deliveries.slice(before).map((d) => d.id),
        answered,
      );
    },
    redeliver: (id) => tracker.sent([id], sim.redeliver(id)),
    settle: (ignore) => tracker.idle(ignore),
    runUntil,
    close: async () => {
      // The app's own stop sequence (as on SIGTERM); a ledger the test passed in is the test's to close.
      stopping = true;
      const failures = await shutDown({
        server: {
          stop: async () => {
            await http.stop();
            await webhooks.idle();
          },
        },
        scheduler: expiry,
        ledger: dataDir ? store : { close: async () => {} },
      });
      server.closeAllConnections();
      await sim.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (failures.length > 0) throw new AggregateError(failures, failures.map((failure) => failure.message).join("; "));
    },
  };
}
