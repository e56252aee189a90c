import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { loadSettings, SettingsError } from "../../src/app/load-settings.js";
import { CLAIM_LEASE_MS } from "../../src/revoke/sweep.js";
import { INBOX_LEASE_MS } from "../../src/inbox/inbox-processor.js";

const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const valid = {
  APP_ID: "12345",
  PRIVATE_KEY: pem,
  WEBHOOK_SECRET: "s3cret",
  JIT_CATALOG: "/etc/jit/catalog.yml",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe("loadSettings", () => {
  it("reads a complete environment with defaults", () => {
    expect(loadSettings(valid)).toEqual({
      appId: 12345,
      privateKey: pem,
      webhookSecret: "s3cret",
      port: 3000,
      host: "localhost",
      webhookPath: "/api/github/webhooks",
      baseUrl: "https://api.github.com",
      catalogPath: "/etc/jit/catalog.yml",
      databaseUrl: "sqlite:./data/jit-access.db",
      sweepIntervalMs: 60_000,
      claimLeaseMs: 600_000,
      inboxLeaseMs: 300_000,
      logLevel: "info",
      notifyUrls: [],
    });
  });

  it("points at GitHub Enterprise Server (or the simulator) through GHE_HOST and GHE_PROTOCOL", () => {
    expect(loadSettings({ ...valid, GHE_HOST: "127.0.0.1:8080", GHE_PROTOCOL: "http" }).baseUrl).toBe("http://127.0.0.1:8080/api/v3");
  });

  it("reads the key from PRIVATE_KEY_PATH", () => {
    const dir = mkdtempSync(join(tmpdir(), "jit-settings-"));
    writeFileSync(join(dir, "app.pem"), pem);
    const { PRIVATE_KEY: _, ...rest } = valid;
    expect(loadSettings({ ...rest, PRIVATE_KEY_PATH: join(dir, "app.pem") }).privateKey.trim()).toBe(pem.trim());
  });

  it.each([
    ["APP_ID", { APP_ID: undefined }, "APP_ID is not set"],
    ["APP_ID", { APP_ID: "abc" }, 'APP_ID must be the app\'s numeric ID; got "abc"'],
    ["PRIVATE_KEY", { PRIVATE_KEY: undefined }, "PRIVATE_KEY or PRIVATE_KEY_PATH is not set"],
    [
      "PRIVATE_KEY",
      { PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----" },
      "PRIVATE_KEY does not hold a valid RSA private key",
    ],
    [
      "PRIVATE_KEY_PATH",
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "/nonexistent/app.pem" },
      "PRIVATE_KEY_PATH: cannot read /nonexistent/app.pem (ENOENT)",
    ],
    ["WEBHOOK_SECRET", { WEBHOOK_SECRET: "" }, "WEBHOOK_SECRET is not set"],
    ["PORT", { PORT: "70000" }, 'PORT must be a TCP port number from 1 to 65535; got "70000"'],
    ["GHE_HOST", { GHE_HOST: "https://ghe.example.com" }, "GHE_HOST must be a host name with an optional port, without a scheme or path"],
    ["GHE_PROTOCOL", { GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "ftp" }, 'GHE_PROTOCOL must be "https" or "http"; got "ftp"'],
    ["GHE_PROTOCOL alone", { GHE_PROTOCOL: "http" }, "GHE_PROTOCOL is set but GHE_HOST is not"],
    ["JIT_CATALOG", { JIT_CATALOG: undefined }, "JIT_CATALOG is not set"],
    ["JIT_SWEEP_INTERVAL", { JIT_SWEEP_INTERVAL: "0s" }, 'JIT_SWEEP_INTERVAL must be a duration from 1s to 1h (e.g. 60s, 5m); got "0s"'],
    ["JIT_SWEEP_INTERVAL", { JIT_SWEEP_INTERVAL: "2h" }, 'JIT_SWEEP_INTERVAL must be a duration from 1s to 1h (e.g. 60s, 5m); got "2h"'],
    ["JIT_CLAIM_LEASE", { JIT_CLAIM_LEASE: "0s" }, 'JIT_CLAIM_LEASE must be a duration from 1s to 1h (e.g. 10m); got "0s"'],
    ["JIT_CLAIM_LEASE", { JIT_CLAIM_LEASE: "soon" }, 'JIT_CLAIM_LEASE must be a duration from 1s to 1h (e.g. 10m); got "soon"'],
    ["JIT_INBOX_LEASE", { JIT_INBOX_LEASE: "0s" }, 'JIT_INBOX_LEASE must be a duration from 1s to 1h (e.g. 5m); got "0s"'],
    ["JIT_INBOX_LEASE", { JIT_INBOX_LEASE: "2h" }, 'JIT_INBOX_LEASE must be a duration from 1s to 1h (e.g. 5m); got "2h"'],
    ["JIT_ACTION_REF", { JIT_ACTION_REF: "require-grant" }, "JIT_ACTION_REF must name the require-grant action as OWNER/REPO/PATH@REF"],
    [
      "JIT_NOTIFY_URL not a URL",
      { JIT_NOTIFY_URL: "hooks.example.com/x", JIT_NOTIFY_SECRET: "s".repeat(16) },
      "JIT_NOTIFY_URL: entry 1 is not a URL",
    ],
    [
      "JIT_NOTIFY_URL empty entry",
      { JIT_NOTIFY_URL: "https://a.example/x,,https://b.example/y", JIT_NOTIFY_SECRET: "s".repeat(16) },
      "JIT_NOTIFY_URL: entry 2 is empty",
    ],
    [
      "JIT_NOTIFY_URL plain http",
      { JIT_NOTIFY_URL: "http://hooks.example.com/x", JIT_NOTIFY_SECRET: "s".repeat(16) },
      "JIT_NOTIFY_URL: entry 1 (http://hooks.example.com) must use https (http only for localhost)",
    ],
    [
      "JIT_NOTIFY_URL with a password",
      { JIT_NOTIFY_URL: "https://u:p@hooks.example.com/x", JIT_NOTIFY_SECRET: "s".repeat(16) },
      "holds a user name or password",
    ],
    ["JIT_NOTIFY_SECRET missing", { JIT_NOTIFY_URL: "https://hooks.example.com/x" }, "JIT_NOTIFY_SECRET is not set"],
    [
      "JIT_NOTIFY_SECRET short",
      { JIT_NOTIFY_URL: "https://hooks.example.com/x", JIT_NOTIFY_SECRET: "short" },
      "JIT_NOTIFY_SECRET must be at least 16 characters",
    ],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }, 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent; got "loud"'],
  ])("names %s when it is wrong", (_name, change, message) => {
    const problems = problemsOf({ ...valid, ...change });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "JIT_CATALOG"]);
  });

  it("reads how grant comments refer to the require-grant action", () => {
    const ref = "acme/jit-access/.github/actions/require-grant@v1";
    expect(loadSettings({ ...valid, JIT_ACTION_REF: ref }).actionRef).toBe(ref);
  });

  it("reads one or several notification URLs; a Slack webhook alone needs no signing secret", () => {
    const settings = loadSettings({
      ...valid,
      JIT_NOTIFY_URL: " https://a.example/x , http://127.0.0.1:9000/y",
      JIT_NOTIFY_SECRET: "s".repeat(16),
    });
    expect(settings.notifyUrls).toEqual(["https://a.example/x", "http://127.0.0.1:9000/y"]);
    expect(settings.notifySecret).toBe("s".repeat(16));
    const slack = "https://hooks.slack.com/services/T0/B0/abcdef";
    expect(loadSettings({ ...valid, JIT_NOTIFY_URL: slack }).notifyUrls).toEqual([slack]);
    expect(loadSettings(valid).notifyUrls).toEqual([]);
  });

  it("never prints a notification URL's path, which for Slack is the credential", () => {
    const problems = problemsOf({ ...valid, JIT_NOTIFY_URL: "http://hooks.slack.com/services/T0/B0/very-secret-token" });
    expect(problems.join("\n")).not.toContain("very-secret-token");
  });

  it("accepts a sweep interval in plain seconds", () => {
    expect(loadSettings({ ...valid, JIT_SWEEP_INTERVAL: "15" }).sweepIntervalMs).toBe(15_000);
  });

  it("reads the sweep's claim lease, ten minutes unless set", () => {
    expect(loadSettings(valid).claimLeaseMs).toBe(CLAIM_LEASE_MS);
    expect(CLAIM_LEASE_MS).toBe(600_000);
    expect(loadSettings({ ...valid, JIT_CLAIM_LEASE: "3s" }).claimLeaseMs).toBe(3_000);
    expect(loadSettings({ ...valid, JIT_CLAIM_LEASE: "5" }).claimLeaseMs).toBe(5_000);
  });

  it("reads the inbox's claim lease, five minutes unless set", () => {
    expect(loadSettings(valid).inboxLeaseMs).toBe(INBOX_LEASE_MS);
    expect(INBOX_LEASE_MS).toBe(300_000);
    expect(loadSettings({ ...valid, JIT_INBOX_LEASE: "4s" }).inboxLeaseMs).toBe(4_000);
    expect(loadSettings({ ...valid, JIT_INBOX_LEASE: "7" }).inboxLeaseMs).toBe(7_000);
  });

  it("lets offline commands do without credentials and webhook secret", () => {
    expect(loadSettings({ JIT_CATALOG: "/c.yml" }, { credentials: false, webhookSecret: false }).appId).toBe(0);
  });

  it("never echoes the private key in a message", () => {
    const broken = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END RSA PRIVATE KEY-----";
    expect(problemsOf({ ...valid, PRIVATE_KEY: broken }).join("\n")).not.toContain("TOPSECRETKEYMATERIAL");
  });
});
