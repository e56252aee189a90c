/**
 * Setup mode: `npm start` without any of the app's credentials (APP_ID, the private key,
 * WEBHOOK_SECRET) serves a page that registers the app on GitHub from `app.yml`, in GitHub's
 * manifest flow as Probot's setup runs it, instead of refusing to start:
 *
 *   GET  /setup            what will be registered (permissions and events with their reasons),
 *                          and a form: owner (personal account or organisation), name, webhook URL
 *   POST /setup/register   the manifest and a one-time `state`, in a form that posts to GitHub's
 *                          /settings/apps/new (or /organizations/ORG/settings/apps/new)
 *   GET  /setup/callback   GitHub's redirect back: `state` checked, the code exchanged with
 *                          POST /app-manifests/{code}/conversions at the app's API base URL
 *                          (GHE_HOST/GHE_PROTOCOL, as every other request), the credentials
 *                          written to `.env`, and what to do next
 *
 * There is no webhook endpoint in setup mode, and the page answers only to the host names a
 * person types for this machine (localhost, an IP address, HOST, the machine's name), so that
 * no web site can reach it by rebinding its own name to this address.
 */
import { createPrivateKey, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { Octokit } from "@octokit/rest";
import { loadSettings } from "../app/load-settings.js";
import type { Log } from "../app/deps.js";
import { pingRoute, startHttpServer, type RunningServer } from "./http-server.js";
import {
  CREDENTIAL_NAMES,
  EnvFileError,
  planEnvFile,
  readEnvFileForUpdate,
  writeEnvFileAtomically,
  type Credentials,
} from "./setup-env-file.js";
import { manifestFor, MAX_APP_NAME, readAppYml, type AppYml } from "./setup-manifest.js";
import {
  renderDonePage,
  renderHandOverPage,
  renderProblemPage,
  renderSetupPage,
  setupContentSecurityPolicy,
  type SetupOutcome,
} from "./setup-pages.js";
import type { RouteHandler } from "./webhook-endpoint.js";
import { errorMessage, errorSummary } from "../util/error-message.js";

export { credentialsMissing } from "./credentials-missing.js";

/** GitHub's web address for an API base URL: https://github.com, or the server in front of /api/v3. */
export function githubWebUrl(apiBaseUrl: string): string {
  return apiBaseUrl === "https://api.github.com" ? "https://github.com" : apiBaseUrl.replace(/\/api\/v3\/?$/, "");
}

/** How long a registration started on the page may take to come back (GitHub's code lasts an hour). */
export const STATE_LIFETIME_MS = 60 * 60 * 1000;
const MAX_OPEN_STATES = 50;
const MAX_FORM_BYTES = 16 * 1024;
const EXCHANGE_TIMEOUT_MS = 30_000;
const ORGANIZATION = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
const CODE = /^[A-Za-z0-9_-]{1,200}$/;

export interface SetupOptions {
  env: NodeJS.ProcessEnv;
  /** Where the credentials are written: `.env` in the working directory. */
  envPath: string;
  /** Names the environment got from `.env` (the others it sets win over the file). */
  fromEnvFile: readonly string[];
  /** Default: one line per message on stdout (JSON with LOG_FORMAT=json). */
  log?: Log;
  /** `app.yml`; the package's own by default. */
  app?: AppYml;
  now?: () => number;
}

interface OpenRegistration {
  createdAt: number;
  ownerText: string;
}

/** The setup routes, without the server (tests call them through any HTTP server). */
export function setupRoutes(options: SetupOptions & { apiBaseUrl: string; webhookPath: string; listenHost: string }): {
  route: RouteHandler;
  outcome(): SetupOutcome | null;
} {
  const log = options.log ?? consoleLog(options.env);
  const app = options.app ?? readAppYml();
  const now = options.now ?? Date.now;
  const webUrl = githubWebUrl(options.apiBaseUrl);
  const csp = setupContentSecurityPolicy(webUrl);
  const open = new Map<string, OpenRegistration>();
  let outcome: SetupOutcome | null = null;
  let exchanging = false;

  const send = (response: ServerResponse, status: number, html: string): void => {
    response
      .writeHead(status, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": csp,
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "cache-control": "no-store",
      })
      .end(html);
  };
  const problem = (response: ServerResponse, status: number, title: string, message: string, detail?: string): void =>
    send(response, status, renderProblemPage({ title, message, status, ...(detail !== undefined ? { detail } : {}) }));

  const pageInput = (request: IncomingMessage) => ({
    app,
    githubWebUrl: webUrl,
    envPath: options.envPath,
    defaultWebhookUrl: options.env.WEBHOOK_PROXY_URL?.trim() || `${originOf(request)}${options.webhookPath}`,
    defaultOrganization: options.env.GH_ORG?.trim() ?? "",
  });

  const register = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const form = await readForm(request);
    if (form === null) return problem(response, 400, "Not a setup form", "The form could not be read; send it from the setup page.");
    const fields = {
      owner: form.get("owner") === "organization" ? "organization" : "personal",
      organization: (form.get("organization") ?? "").trim(),
      name: (form.get("name") ?? "").trim(),
      webhookUrl: (form.get("webhook_url") ?? "").trim(),
    };
    const refuse = (message: string): void =>
      send(response, 400, renderSetupPage({ ...pageInput(request), problem: message, form: fields }));
    if (fields.owner === "organization" && !ORGANIZATION.test(fields.organization)) {
      return refuse(
        `"${fields.organization.slice(0, 60)}" is not an organisation name: letters, digits and single hyphens, at most 39 characters.`,
      );
    }
    if (fields.name.length === 0 || fields.name.length > MAX_APP_NAME || !APP_NAME.test(fields.name)) {
      return refuse(
        `The app's name must be 1 to ${MAX_APP_NAME} letters, digits, spaces, dots, hyphens or underscores, starting with a letter or digit.`,
      );
    }
    if (!isWebUrl(fields.webhookUrl))
      return refuse(
        `The webhook URL must be an http:// or https:// address without a user name or password; got "${fields.webhookUrl.slice(0, 80)}".`,
      );

    const state = randomBytes(24).toString("base64url");
    for (const [key, value] of open) if (now() - value.createdAt > STATE_LIFETIME_MS) open.delete(key);
    while (open.size >= MAX_OPEN_STATES) open.delete(open.keys().next().value!);
    const ownerText = fields.owner === "organization" ? `the organisation ${fields.organization}` : "your personal account";
    open.set(state, { createdAt: now(), ownerText });
    const path = fields.owner === "organization" ? `/organizations/${fields.organization}/settings/apps/new` : "/settings/apps/new";
    const manifest = manifestFor(app, {
      name: fields.name,
      webhookUrl: fields.webhookUrl,
      redirectUrl: `${originOf(request)}/setup/callback`,
    });
    send(response, 200, renderHandOverPage({ manifest, createAppUrl: `${webUrl}${path}?state=${state}`, ownerText, githubWebUrl: webUrl }));
  };

  const callback = async (request: IncomingMessage, response: ServerResponse, query: URLSearchParams): Promise<void> => {
    if (outcome !== null) return send(response, 200, renderDonePage(outcome));
    const state = query.get("state") ?? "";
    const code = query.get("code") ?? "";
    const registration = open.get(state);
    if (registration === undefined || now() - registration.createdAt > STATE_LIFETIME_MS) {
      return problem(
        response,
        400,
        "Not a registration started here",
        "This return from GitHub does not carry the state of a registration started on this page (unknown, already used, or over an hour old). Nothing was exchanged or written.",
      );
    }
    if (!CODE.test(code))
      return problem(response, 400, "No code from GitHub", "GitHub's return carries no usable code. Nothing was written.");
    let existing: string | null;
    try {
      existing = readEnvFileForUpdate(options.envPath);
    } catch (error) {
      if (!(error instanceof EnvFileError)) throw error;
      // The code is not spent: fix the file and reload this page.
      return problem(
        response,
        500,
        "Cannot write .env",
        `${error.message}`,
        "GitHub's code has not been used yet and stays valid for an hour.",
      );
    }
    if (exchanging)
      return problem(response, 409, "Already exchanging", "A code is being exchanged right now; wait for it and reload this page.");
    open.delete(state);
    exchanging = true;
    let converted: Converted;
    try {
      converted = await exchangeCode(options.apiBaseUrl, code);
    } catch (error) {
      const refused = error instanceof ExchangeRefused;
      log.warn({ status: refused ? error.status : undefined }, "the app manifest code was not exchanged");
      return problem(
        response,
        refused ? 400 : 502,
        refused ? "GitHub refused the code" : "No credentials from GitHub",
        `${errorMessage(error)} Nothing was written.`,
        "If GitHub did create the app, delete it (its settings page, Advanced) and start again, or generate a private key there and set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET by hand.",
      );
    } finally {
      exchanging = false;
    }
    try {
      const plan = planEnvFile(existing, converted.credentials);
      writeEnvFileAtomically(options.envPath, plan.text);
      outcome = {
        appId: converted.id,
        name: converted.name,
        slug: converted.slug,
        htmlUrl: converted.htmlUrl,
        envPath: options.envPath,
        added: plan.added,
        replaced: plan.replaced,
        unchanged: plan.unchanged,
        keptOthers: plan.keptOthers,
        shadowed: CREDENTIAL_NAMES.filter((name) => options.env[name] !== undefined && !options.fromEnvFile.includes(name)),
      };
    } catch (error) {
      if (!(error instanceof EnvFileError)) throw error;
      return problem(
        response,
        500,
        "Credentials not saved",
        `GitHub created the app (${converted.htmlUrl}, app id ${converted.id}), but ${error.message}`,
        "On the app's settings page, generate a private key and set a webhook secret, then set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET by hand.",
      );
    }
    log.info(
      { appId: converted.id, envFile: options.envPath, added: outcome.added, replaced: outcome.replaced },
      `app registered as ${converted.slug}; credentials written to ${options.envPath}; restart jit-access to serve webhooks`,
    );
    send(response, 200, renderDonePage(outcome));
  };

  const route: RouteHandler = (request, response) => {
    const url = new URL(request.url ?? "/", "http://setup.invalid");
    const path = url.pathname;
    const method = request.method ?? "GET";
    const ours = path === "/" || path === "/setup" || path.startsWith("/setup/");
    if (!ours) return false;
    if (!hostAllowed(request.headers.host, options.listenHost)) {
      problem(
        response,
        421,
        "Open this page by address",
        "The setup page answers only to localhost, an IP address, HOST or this machine's name, so that no web site can reach it by rebinding its own name to this server.",
      );
      return true;
    }
    const failed = (error: unknown): void => {
      log.error({ error: errorMessage(error) }, "setup request failed");
      if (!response.headersSent)
        problem(response, 500, "Setup failed", "The setup page failed unexpectedly; see the server's log. Nothing was written.");
    };
    if (method === "GET" && path === "/") response.writeHead(302, { location: "/setup" }).end();
    else if (method === "GET" && path === "/setup")
      send(response, 200, outcome !== null ? renderDonePage(outcome) : renderSetupPage(pageInput(request)));
    else if (method === "POST" && path === "/setup/register") {
      if (outcome !== null) send(response, 200, renderDonePage(outcome));
      else register(request, response).catch(failed);
    } else if (method === "GET" && path === "/setup/callback") callback(request, response, url.searchParams).catch(failed);
    else return false;
    return true;
  };
  return { route, outcome: () => outcome };
}

/** Validates the settings setup mode needs (server, GitHub host), serves the setup page, and stops on SIGTERM/SIGINT. */
export async function runSetupMode(options: SetupOptions): Promise<RunningServer> {
  const settings = loadSettings(options.env, { credentials: false, webhookSecret: false, catalog: false });
  const log = options.log ?? consoleLog(options.env);
  const { route } = setupRoutes({
    ...options,
    log,
    apiBaseUrl: settings.baseUrl,
    webhookPath: settings.webhookPath,
    listenHost: settings.host,
  });
  const http = await startHttpServer({ host: settings.host, port: settings.port, log, routes: [pingRoute, route] });
  const shown = settings.host === "0.0.0.0" || settings.host === "::" ? `http://localhost:${http.port}` : http.url;
  log.info(
    { githubUrl: githubWebUrl(settings.baseUrl), envFile: options.envPath },
    `jit-access has no GitHub App credentials (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET): setup mode, no webhooks. Open ${shown}/setup to register the app on GitHub from app.yml.`,
  );
  const stop = async (signal: string): Promise<void> => {
    await http.stop();
    log.info({}, `jit-access setup stopped (${signal})`);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  return http;
}

/** Lines on stdout/stderr: `LEVEL message {fields}`, or JSON with LOG_FORMAT=json. */
function consoleLog(env: NodeJS.ProcessEnv): Log {
  const json = env.LOG_FORMAT?.trim() === "json";
  const write = (level: string, obj: object | string, msg?: string): void => {
    const [fields, text] = typeof obj === "string" ? [{}, obj] : [obj, msg ?? ""];
    const line = json
      ? JSON.stringify({ level, time: Date.now(), msg: text, ...fields })
      : `${level.toUpperCase()}: ${text}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ""}`;
    (level === "warn" || level === "error" ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return {
    debug: () => undefined,
    info: (obj, msg) => write("info", obj, msg),
    warn: (obj, msg) => write("warn", obj, msg),
    error: (obj, msg) => write("error", obj, msg),
  };
}

class ExchangeRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Converted {
  id: number;
  name: string;
  slug: string;
  htmlUrl: string;
  credentials: Credentials;
}

/** POST /app-manifests/{code}/conversions at the app's API base URL; the answer checked before anything uses it. */
async function exchangeCode(baseUrl: string, code: string): Promise<Converted> {
  const octokit = new Octokit({
    baseUrl,
    userAgent: "jit-access-setup",
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  let data: Record<string, unknown>;
  try {
    const response = await octokit.request("POST /app-manifests/{code}/conversions", {
      code,
      request: { signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS) },
    });
    data = response.data;
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      const message = (error as { response?: { data?: { message?: unknown } } }).response?.data?.message;
      throw new ExchangeRefused(
        status,
        `GitHub answered ${status}${typeof message === "string" ? ` (“${message.slice(0, 200)}”)` : ""}: the code is unknown, already used, or more than an hour old.`,
      );
    }
    // GitHub's own failure (5xx) names its status; a timeout or a refused connection has none.
    const answered = typeof status === "number" ? `GitHub answered ${status}: ` : "";
    throw new Error(`could not exchange the code at ${baseUrl}: ${answered}${errorSummary(error)}.`);
  }
  const text = (name: string): string => {
    const value = data[name];
    if (typeof value !== "string" || value.trim() === "") throw new Error(`GitHub's answer has no ${name}.`);
    return value;
  };
  const id = data.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) throw new Error("GitHub's answer has no app id.");
  const pem = text("pem");
  try {
    createPrivateKey(pem);
  } catch {
    throw new Error("GitHub's answer has no usable private key.");
  }
  const htmlUrl = text("html_url");
  if (!isWebUrl(htmlUrl)) throw new Error("GitHub's answer has no web address for the app.");
  return {
    id,
    name: text("name"),
    slug: text("slug"),
    htmlUrl,
    credentials: {
      APP_ID: String(id),
      PRIVATE_KEY: pem,
      WEBHOOK_SECRET: text("webhook_secret"),
      GITHUB_CLIENT_ID: text("client_id"),
      GITHUB_CLIENT_SECRET: text("client_secret"),
    },
  };
}

function isWebUrl(text: string): boolean {
  if (text.length > 2048) return false;
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}

/** The address the browser used (its Host header, checked by `hostAllowed`). */
function originOf(request: IncomingMessage): string {
  const forwarded = String(request.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]
    ?.trim();
  return `${forwarded === "https" ? "https" : "http"}://${request.headers.host ?? "localhost"}`;
}

/** localhost, an IP address, HOST, or this machine's name: names a person types, not a web site's. */
export function hostAllowed(header: string | undefined, listenHost: string): boolean {
  if (header === undefined) return false;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(header);
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  const bare = name.replace(/^\[|\]$/g, "");
  return (
    isIP(bare) !== 0 ||
    name === "localhost" ||
    name.endsWith(".localhost") ||
    name === listenHost.toLowerCase() ||
    name === hostname().toLowerCase()
  );
}

/** A url-encoded form of at most 16 KiB, or null. */
async function readForm(request: IncomingMessage): Promise<URLSearchParams | null> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers["content-type"] ?? "")) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
