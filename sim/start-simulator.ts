/** Starts the simulator: key pair, state, HTTP server on 127.0.0.1, OpenAPI check, webhooks. */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AppAuth, generateAppPrivateKey } from "./app-auth.js";
import { FaultSwitches } from "./faults.js";
import { sodiumReady } from "./model/sealed-box.js";
import { SimState } from "./model/state.js";
import { loadOpenApiCheck } from "./openapi-check.js";
import { routeTable } from "./routes/index.js";
import { handleRequest, type RecordedRequest, type Violation } from "./server/handle-request.js";
import { Latency } from "./server/latency.js";
import { RateLimits } from "./server/rate-limit.js";
import type { Urls } from "./shapes/urls.js";
import { GitHubSimulator } from "./simulator.js";
import { appManifestPages } from "./web/app-manifest-pages.js";
import { WebhookDelivery } from "./webhooks/delivery.js";
import { loadWebhookExamples } from "./webhooks/examples.js";

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where webhooks go, e.g. "http://127.0.0.1:3000/api/github/webhooks" (Probot's path). */
  webhookUrl?: string;
  /** Default: random. */
  webhookSecret?: string;
  /** Default 424242. */
  appId?: number;
  /** Default "jit-access"; the bot that authors the app's comments is `${appSlug}[bot]`. */
  appSlug?: string;
  /** PEM (PKCS#1 or PKCS#8). Default: a fresh 2048-bit RSA key. */
  privateKeyPem?: string;
  /** The simulator's clock (timestamps, token and JWT expiry). Default: real time. */
  clock?: () => Date;
  /** Also validate the simulator's own responses against GitHub's description (its tests do). */
  checkResponses?: boolean;
  /** How long a webhook delivery may take before it fails. Default 30000. */
  webhookTimeoutMs?: number;
  /**
   * Every API request waits this long (on real timers) before it is handled: it takes effect
   * and is answered after the delay. Default 0: no timer at all. Change it with `sim.setLatency`.
   */
  latencyMs?: number;
  /** Each request's delay is drawn uniformly from latencyMs ± jitterMs (never below 0). Default 0. */
  jitterMs?: number;
  /** Seeds the jitter, so that runs are repeatable. Default 1. */
  latencySeed?: number;
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<GitHubSimulator> {
  const clock = options.clock ?? (() => new Date());
  const [check, examples] = await Promise.all([loadOpenApiCheck(), loadWebhookExamples(), sodiumReady()]);
  const privateKeyPem = options.privateKeyPem ?? generateAppPrivateKey();
  const appId = options.appId ?? 424242;
  const slug = options.appSlug ?? "jit-access";
  const state = new SimState({ id: appId, slug, name: slug, ownerLogin: "jit-access-operators" }, clock);
  const auth = new AppAuth(appId, privateKeyPem, clock);
  const faults = new FaultSwitches((installationId) => auth.expireTokens(installationId));
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  const latency = new Latency({ latencyMs: options.latencyMs ?? 0, jitterMs: options.jitterMs ?? 0, seed: options.latencySeed ?? 1 });
  const rateLimits = new RateLimits(clock);
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });

  const urls: Urls = { web: "", api: "" };
  const deps = {
    state,
    urls,
    auth,
    faults,
    rateLimits,
    check,
    routes: routeTable(),
    checkResponses: options.checkResponses ?? false,
    requests,
    violations,
    closed,
    latencyMs: () => latency.next(),
    onHandled: () => changes.emit("change"),
  };
  const webPages = appManifestPages(state, check);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://sim.invalid");
    // GitHub's web pages (the manifest flow) live outside /api/v3.
    const handled = url.pathname.startsWith("/api/v3/") ? Promise.resolve(false) : webPages(request, response, url);
    handled
      .then((done) => (done ? undefined : handleRequest(deps, request, response)))
      .catch((error: unknown) => {
        violations.push({ method: request.method ?? "", path: request.url ?? "", problem: `Simulator failure: ${String(error)}` });
        if (!response.headersSent) response.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        response.end(JSON.stringify({ message: "Simulator failure" }));
      });
  });
  const address = await listen(server, options.port ?? 0);
  urls.web = `http://127.0.0.1:${address.port}`;
  urls.api = `${urls.web}/api/v3`;

  const webhooks = new WebhookDelivery(
    options.webhookUrl,
    options.webhookSecret ?? randomBytes(20).toString("hex"),
    options.webhookTimeoutMs ?? 30_000,
    () => state.timestamp(),
    (delivery, attempt) => {
      const payload = JSON.parse(delivery.body) as { installation?: { id?: unknown }; repository?: { id?: unknown } };
      state.hookDeliveries.push({
        id: state.nextId("hookDelivery"),
        guid: delivery.id,
        deliveredAt: state.timestamp(),
        redelivery: attempt.redelivery,
        duration: Math.round(attempt.durationMs) / 1000,
        statusCode: attempt.statusCode,
        event: delivery.event,
        action: delivery.action,
        installationId: typeof payload.installation?.id === "number" ? payload.installation.id : null,
        repositoryId: typeof payload.repository?.id === "number" ? payload.repository.id : null,
      });
    },
  );
  state.onRedeliveryRequested = (guid) => {
    setImmediate(() => void webhooks.redeliver(guid).catch(() => undefined));
  };
  state.onAppRegistered = (registered) => {
    webhooks.setSecret(registered.webhookSecret);
    if (registered.webhookUrl !== null) webhooks.setUrl(registered.webhookUrl);
  };
  const close = async (): Promise<void> => {
    markClosed();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
  };
  return new GitHubSimulator({
    state,
    urls,
    auth,
    faults,
    webhooks,
    examples,
    requests,
    violations,
    changes,
    privateKeyPem,
    rateLimits,
    latency,
    close,
  });
}
