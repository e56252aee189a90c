import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createLifecycleDeps, type LifecycleWiring } from "../../src/app/create-lifecycle-deps.js";
import { NO_CATALOG } from "../../src/app/load-catalog-or-none.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { SecretLocks } from "../../src/ledger/secret-locks.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { ManualClock } from "../../src/util/clock.js";
import { HARNESS_SETTINGS } from "../helpers/harness-settings.js";

const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
`;

let store: LedgerStore;
beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
});
afterEach(async () => {
  await store.close();
});

function wiring(overrides: Partial<LifecycleWiring> = {}): LifecycleWiring {
  return {
    store,
    catalog: { ok: true, catalog: parseCatalog(CATALOG, "jit-catalog.yml") },
    clock: new ManualClock(new Date("2026-01-01T00:00:00Z")),
    settings: HARNESS_SETTINGS,
    sourceEnv: { PROD_DB_URL: "value" },
    octokitFor: () => Promise.reject(new Error("no GitHub here")),
    ...overrides,
  };
}

describe("createLifecycleDeps", () => {
  it("wires the server's defaults: ledger-wide secret locks, kept answers, no notifier without a log", () => {
    const deps = createLifecycleDeps(wiring());
    expect(deps.locks).toBeInstanceOf(SecretLocks);
    expect(deps.lookups).toBeDefined();
    expect(deps.publicKeys).toBeDefined();
    expect(deps.notifier).toBeUndefined();
    expect(deps.revokeOnly).toBeUndefined();
    expect([...deps.catalog.secrets.keys()]).toEqual(["PROD_DB_URL"]);
    expect(deps.sourceEnv).toEqual({ PROD_DB_URL: "value" });
  });

  it("runs revoke-only with a catalog that allows nothing when the catalog failed to load", () => {
    const deps = createLifecycleDeps(wiring({ catalog: { ok: false, why: "jit-catalog.yml:3:5: unknown key" } }));
    expect(deps.revokeOnly).toEqual({ why: "jit-catalog.yml:3:5: unknown key" });
    expect(deps.catalog).toBe(NO_CATALOG);
  });

  it("keeps no answers for a command that runs once, and takes the action reference from the settings", () => {
    const deps = createLifecycleDeps(wiring({ caches: false, settings: { ...HARNESS_SETTINGS, actionRef: "acme/jit-access/x@v1" } }));
    expect(deps.lookups).toBeUndefined();
    expect(deps.publicKeys).toBeUndefined();
    expect(deps.actionRef).toBe("acme/jit-access/x@v1");
  });

  it("tells the timers, once they exist, about grants written, extended and deferred", () => {
    const tracked: string[] = [];
    let timers: { track(g: Grant): void; retryLater(g: Grant): void } | null = null;
    const deps = createLifecycleDeps(wiring({ timers: () => timers }));
    const grant = { id: "g1" } as Grant;
    // Before the scheduler exists (it is built from the deps), nothing is lost by a throw.
    deps.onGranted?.(grant);
    timers = { track: (g) => tracked.push(`track ${g.id}`), retryLater: (g) => tracked.push(`retry ${g.id}`) };
    deps.onGranted?.(grant);
    deps.onExpiryMoved?.(grant);
    deps.onDeferred?.(grant);
    expect(tracked).toEqual(["track g1", "track g1", "retry g1"]);
  });

  it("queues notifications in the ledger's outbox when a log is given and URLs are set", async () => {
    const deps = createLifecycleDeps(
      wiring({ settings: { ...HARNESS_SETTINGS, notifyUrls: ["https://hooks.example.com/jit"] }, notifyLog: silentLog() }),
    );
    expect(deps.notifier).toBeDefined();
    await deps.notifier?.notify(
      "granted",
      {
        owner: "acme",
        repo: "api",
        prNumber: 7,
        secret: "PROD_DB_URL",
        environment: "production",
        requester: { login: "alice" },
        reason: "INC-1: look",
      },
      new Date("2026-01-01T00:00:00Z"),
    );
    const due = await store.dueNotifications(new Date("2026-01-01T00:00:00Z"), 10);
    expect(due.map((n) => [n.url, n.event])).toEqual([["https://hooks.example.com/jit", "granted"]]);
  });
});

function silentLog() {
  const none = () => undefined;
  return { debug: none, info: none, warn: none, error: none };
}
