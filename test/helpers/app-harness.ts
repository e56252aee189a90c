import { generateKeyPairSync } from "node:crypto";
import { createLifecycleDeps } from "../../src/app/create-lifecycle-deps.js";
import { HARNESS_SETTINGS } from "./harness-settings.js";
import { Writable } from "node:stream";
import nock from "nock";
import pino from "pino";
import sodium from "libsodium-wrappers";
import { Probot } from "probot";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { jitAccessApp } from "../../src/app/jit-access-app.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { ManualClock } from "../../src/util/clock.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";

/**
 * The app as Probot runs it, for handler tests: a real Probot instance receiving real webhook
 * payloads, GitHub behind nock (network blocked), a real SQLite ledger in memory, a fake clock,
 * and every log line captured so tests can assert that no secret value was ever logged.
 */
export const CATALOG = `
secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    approvals: 1
  PAYMENTS_KEY:
    source: env:PAYMENTS_KEY
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 1h
    approvals: 2
`;

export const SECRET_VALUES = {
  PROD_DB_URL: "postgres://app:s3cr3t-Pa55w0rd@db.internal:5432/prod",
  PAYMENTS_KEY: "sk_live_51HxQ-very-secret-value",
};

export interface Harness {
  probot: Probot;
  store: LedgerStore;
  clock: ManualClock;
  deps: LifecycleDeps;
  logs: string[];
  environmentKey: { keyId: string; key: string; open(sealedBase64: string): string };
  close(): Promise<void>;
}

export async function startHarness(options: { catalog?: string } = {}): Promise<Harness> {
  nock.disableNetConnect();
  await sodium.ready;
  const pair = sodium.crypto_box_keypair();
  const environmentKey = {
    keyId: "568250167242549743",
    key: sodium.to_base64(pair.publicKey, sodium.base64_variants.ORIGINAL),
    open: (sealed: string) =>
      sodium.to_string(
        sodium.crypto_box_seal_open(sodium.from_base64(sealed, sodium.base64_variants.ORIGINAL), pair.publicKey, pair.privateKey),
      ),
  };
  const logs: string[] = [];
  const log = pino(
    { level: "trace" },
    new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
  );
  const clock = new ManualClock(Date.parse("2026-03-01T10:00:00Z"));
  const store = await openLedger("sqlite::memory:");
  const Octokit = createAppOctokit(
    { scheduler: new WriteScheduler({ clock, writeIntervalMs: 0, notifyIntervalMs: 0 }), clock },
    { retry: false },
  );
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const probot = new Probot({ appId: 1, privateKey, githubToken: "test-token", Octokit, log });
  const deps = createLifecycleDeps({
    store,
    catalog: { ok: true, catalog: parseCatalog(options.catalog ?? CATALOG, "jit-catalog.yml") },
    clock,
    settings: HARNESS_SETTINGS,
    sourceEnv: { ...SECRET_VALUES },
    locks: new KeyedMutex(),
    octokitFor: async (id) => probot.auth(id),
  });
  await probot.load(jitAccessApp(deps));
  return {
    probot,
    store,
    clock,
    deps,
    logs,
    environmentKey,
    close: async () => {
      await store.close();
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}
