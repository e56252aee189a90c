import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { getPrivateKey } from "@probot/get-private-key";
import { DEFAULT_DATABASE_URL } from "../ledger/open-ledger.js";
import { CLAIM_LEASE_MS } from "../revoke/sweep.js";
import { INBOX_LEASE_MS } from "../inbox/inbox-processor.js";
import { parseDuration } from "../util/duration.js";
import { isSlackWebhook } from "../feedback/notify-event.js";
import { isActionRef } from "../feedback/grant-snippet.js";
import { checkSettingsFile, SettingsFileError } from "./settings-file.js";

/**
 * The app's settings, from the environment: Probot's standard variables plus the app's own.
 * Every problem is collected and reported together, each naming the variable to fix.
 */
export interface Settings {
  appId: number;
  privateKey: string;
  webhookSecret: string;
  port: number;
  /** The interface the server listens on (HOST); `localhost` unless set, as Probot's server. */
  host: string;
  /** Where webhooks are received (WEBHOOK_PATH); `/api/github/webhooks` unless set. */
  webhookPath: string;
  /** `https://api.github.com`, or `${GHE_PROTOCOL}://${GHE_HOST}/api/v3`. */
  baseUrl: string;
  catalogPath: string;
  databaseUrl: string;
  sweepIntervalMs: number;
  /** How long a sweep's claim on a due grant holds (JIT_CLAIM_LEASE); `CLAIM_LEASE_MS` unless set. */
  claimLeaseMs: number;
  /** How long the inbox's claim on a delivery holds (JIT_INBOX_LEASE); `INBOX_LEASE_MS` unless set. */
  inboxLeaseMs: number;
  logLevel: LogLevel;
  /** How grant comments name the require-grant action (JIT_ACTION_REF); unset: `./.github/actions/require-grant`. */
  actionRef?: string;
  /** Where events are POSTed (JIT_NOTIFY_URL, comma-separated); empty: no notifications. */
  notifyUrls: string[];
  /** The HMAC-SHA256 key events are signed with (JIT_NOTIFY_SECRET); required with a URL that is not a Slack webhook. */
  notifySecret?: string;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `jit-access cannot start: ${problems.length === 1 ? "a setting is" : `${problems.length} settings are`} missing or invalid.\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "SettingsError";
  }
}

/** Which settings a command needs: the server needs all; offline CLI commands fewer. */
export interface SettingsNeeds {
  webhookSecret?: boolean;
  credentials?: boolean;
  catalog?: boolean;
}

export function loadSettings(env: NodeJS.ProcessEnv, needs: SettingsNeeds = {}): Settings {
  const need = { webhookSecret: true, credentials: true, catalog: true, ...needs };
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === "" ? undefined : v;
  };

  let appId = 0;
  const appIdText = value("APP_ID");
  if (appIdText === undefined) {
    if (need.credentials) problems.push("APP_ID is not set: the GitHub App's numeric ID, from the app's settings page.");
  } else if (!/^[1-9]\d{0,11}$/.test(appIdText)) {
    problems.push(`APP_ID must be the app's numeric ID; got "${appIdText.slice(0, 40)}".`);
  } else appId = Number(appIdText);

  let privateKey = "";
  if (need.credentials || value("PRIVATE_KEY") || value("PRIVATE_KEY_PATH")) {
    privateKey = readPrivateKey(env, problems) ?? "";
  }

  const webhookSecret = value("WEBHOOK_SECRET") ?? "";
  if (need.webhookSecret && webhookSecret === "") {
    problems.push("WEBHOOK_SECRET is not set: the secret GitHub signs webhook deliveries with (the app's webhook secret).");
  }

  let port = 3000;
  const portText = value("PORT");
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      problems.push(`PORT must be a TCP port number from 1 to 65535; got "${portText.slice(0, 20)}".`);
    } else port = Number(portText);
  }

  const host = value("HOST") ?? "localhost";
  if (!/^[A-Za-z0-9.:[\]%-]{1,255}$/.test(host)) {
    problems.push(`HOST must be a host name or IP address to listen on (e.g. 0.0.0.0 or 127.0.0.1); got "${host.slice(0, 40)}".`);
  }
  const webhookPath = value("WEBHOOK_PATH") ?? "/api/github/webhooks";
  if (!/^\/[A-Za-z0-9._~/-]{0,200}$/.test(webhookPath)) {
    problems.push(`WEBHOOK_PATH must be a URL path starting with / (e.g. /api/github/webhooks); got "${webhookPath.slice(0, 40)}".`);
  }

  let baseUrl = "https://api.github.com";
  const gheHost = value("GHE_HOST");
  const protocol = value("GHE_PROTOCOL") ?? "https";
  if (protocol !== "https" && protocol !== "http") {
    problems.push(`GHE_PROTOCOL must be "https" or "http"; got "${protocol.slice(0, 20)}".`);
  }
  if (gheHost !== undefined) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(gheHost)) {
      problems.push(
        `GHE_HOST must be a host name with an optional port, without a scheme or path (e.g. "github.example.com"); got "${gheHost.slice(0, 60)}".`,
      );
    } else baseUrl = `${protocol}://${gheHost}/api/v3`;
  } else if (value("GHE_PROTOCOL") !== undefined) {
    problems.push(
      "GHE_PROTOCOL is set but GHE_HOST is not: set GHE_HOST to your GitHub Enterprise Server's host name, or unset GHE_PROTOCOL.",
    );
  }

  const catalogPath = value("JIT_CATALOG") ?? "";
  if (need.catalog && catalogPath === "") {
    problems.push("JIT_CATALOG is not set: the path of the operator catalog (jit-catalog.yml) that lists the secrets the app may grant.");
  }

  const databaseUrl = value("DATABASE_URL") ?? DEFAULT_DATABASE_URL;

  let sweepIntervalMs = DEFAULT_SWEEP_INTERVAL_MS;
  const sweepText = value("JIT_SWEEP_INTERVAL");
  if (sweepText !== undefined) {
    const parsed = /^\d+$/.test(sweepText) ? { ok: true as const, ms: Number(sweepText) * 1000 } : parseDuration(sweepText);
    if (!parsed.ok || parsed.ms < 1000 || parsed.ms > 3_600_000) {
      problems.push(`JIT_SWEEP_INTERVAL must be a duration from 1s to 1h (e.g. 60s, 5m); got "${sweepText.slice(0, 20)}".`);
    } else sweepIntervalMs = parsed.ms;
  }

  let claimLeaseMs = CLAIM_LEASE_MS;
  const leaseText = value("JIT_CLAIM_LEASE");
  if (leaseText !== undefined) {
    const parsed = /^\d+$/.test(leaseText) ? { ok: true as const, ms: Number(leaseText) * 1000 } : parseDuration(leaseText);
    if (!parsed.ok || parsed.ms < 1000 || parsed.ms > 3_600_000) {
      problems.push(`JIT_CLAIM_LEASE must be a duration from 1s to 1h (e.g. 10m); got "${leaseText.slice(0, 20)}".`);
    } else claimLeaseMs = parsed.ms;
  }

  let inboxLeaseMs = INBOX_LEASE_MS;
  const inboxLeaseText = value("JIT_INBOX_LEASE");
  if (inboxLeaseText !== undefined) {
    const parsed = /^\d+$/.test(inboxLeaseText) ? { ok: true as const, ms: Number(inboxLeaseText) * 1000 } : parseDuration(inboxLeaseText);
    if (!parsed.ok || parsed.ms < 1000 || parsed.ms > 3_600_000) {
      problems.push(`JIT_INBOX_LEASE must be a duration from 1s to 1h (e.g. 5m); got "${inboxLeaseText.slice(0, 20)}".`);
    } else inboxLeaseMs = parsed.ms;
  }

  const logLevel = (value("LOG_LEVEL") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}; got "${String(logLevel).slice(0, 20)}".`);
  }

  const actionRef = value("JIT_ACTION_REF");
  if (actionRef !== undefined && !isActionRef(actionRef)) {
    problems.push(
      `JIT_ACTION_REF must name the require-grant action as OWNER/REPO/PATH@REF (e.g. acme/jit-access/.github/actions/require-grant@v1) or ./PATH; got "${actionRef.slice(0, 80)}".`,
    );
  }

  const { notifyUrls, notifySecret } = notifySettings(value("JIT_NOTIFY_URL"), value("JIT_NOTIFY_SECRET"), problems);

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    appId,
    privateKey,
    webhookSecret,
    port,
    host,
    webhookPath,
    baseUrl,
    catalogPath,
    databaseUrl,
    sweepIntervalMs,
    claimLeaseMs,
    inboxLeaseMs,
    logLevel,
    ...(actionRef !== undefined ? { actionRef } : {}),
    notifyUrls,
    ...(notifySecret !== undefined ? { notifySecret } : {}),
  };
}

/** The shortest JIT_NOTIFY_SECRET accepted: a key guessable from a dictionary would make signatures worthless. */
export const MIN_NOTIFY_SECRET_LENGTH = 16;

/**
 * JIT_NOTIFY_URL: one URL or several, comma-separated, each http(s) without user or password
 * (http only for this machine: localhost, 127.0.0.1, ::1). JIT_NOTIFY_SECRET: required when a URL
 * is not a Slack incoming webhook (Slack's URL is its own credential), at least 16 characters.
 * Errors name the URL by its origin only: a Slack webhook's path is a credential.
 */
function notifySettings(
  urlText: string | undefined,
  secret: string | undefined,
  problems: string[],
): { notifyUrls: string[]; notifySecret?: string } {
  const notifyUrls: string[] = [];
  for (const [index, raw] of (urlText ?? "").split(",").map((u, i) => [i + 1, u.trim()] as const)) {
    if (urlText === undefined) break;
    if (raw === "") {
      problems.push(`JIT_NOTIFY_URL: entry ${index} is empty; list URLs separated by single commas.`);
      continue;
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`JIT_NOTIFY_URL: entry ${index} is not a URL; write each as https://host/path.`);
      continue;
    }
    const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
      problems.push(`JIT_NOTIFY_URL: entry ${index} (${url.protocol}//${url.host}) must use https (http only for localhost).`);
    } else if (url.username !== "" || url.password !== "") {
      problems.push(
        `JIT_NOTIFY_URL: entry ${index} (${url.origin}) holds a user name or password; receivers authenticate events by their signature.`,
      );
    } else if (!notifyUrls.includes(url.href)) notifyUrls.push(url.href);
  }
  if (secret !== undefined && secret.length < MIN_NOTIFY_SECRET_LENGTH) {
    problems.push(`JIT_NOTIFY_SECRET must be at least ${MIN_NOTIFY_SECRET_LENGTH} characters (e.g. openssl rand -hex 32).`);
    return { notifyUrls };
  }
  if (secret === undefined && notifyUrls.some((u) => !isSlackWebhook(u))) {
    problems.push(
      "JIT_NOTIFY_SECRET is not set: events to JIT_NOTIFY_URL are signed with it (X-Jit-Signature-256) so receivers can check them; set one of at least 16 characters (e.g. openssl rand -hex 32).",
    );
  }
  return { notifyUrls, ...(secret !== undefined ? { notifySecret: secret } : {}) };
}

function readPrivateKey(env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const path = env.PRIVATE_KEY_PATH?.trim();
  if (path && !env.PRIVATE_KEY?.trim()) {
    try {
      readFileSync(path);
    } catch (error) {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}).`);
      return undefined;
    }
    try {
      checkSettingsFile(path, "PRIVATE_KEY_PATH", { ifPresent: true });
    } catch (error) {
      if (!(error instanceof SettingsFileError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  }
  let pem: string | null;
  try {
    pem = getPrivateKey({ env: { PRIVATE_KEY: env.PRIVATE_KEY, PRIVATE_KEY_PATH: env.PRIVATE_KEY_PATH } });
  } catch {
    problems.push(
      "PRIVATE_KEY is not a PEM private key (nor base64 of one): paste the .pem file GitHub gave you, or set PRIVATE_KEY_PATH to its path.",
    );
    return undefined;
  }
  if (!pem) {
    problems.push("PRIVATE_KEY or PRIVATE_KEY_PATH is not set: the GitHub App's private key (.pem), as text or as a file path.");
    return undefined;
  }
  try {
    createPrivateKey(pem);
  } catch {
    problems.push(
      `${env.PRIVATE_KEY?.trim() ? "PRIVATE_KEY" : "PRIVATE_KEY_PATH"} does not hold a valid RSA private key: use the .pem file from the app's settings page.`,
    );
    return undefined;
  }
  return pem;
}
