import type { Grant, LedgerStore } from "../ledger/store.js";
import { SecretLocks, type SecretLocker } from "../ledger/secret-locks.js";
import { LookupCache } from "../github/lookup-cache.js";
import { PublicKeyCache } from "../github/public-key-cache.js";
import type { RateLimitReserve } from "../github/rate-limit-reserve.js";
import type { AppOctokit } from "../github/repo-client.js";
import { OutboxNotifier } from "../feedback/notifier.js";
import { webUrlFor } from "../feedback/notify-event.js";
import type { Catalog } from "../policy/catalog.js";
import { NO_CATALOG } from "./load-catalog-or-none.js";
import type { ValueEnvironment } from "../grant/read-secret-value.js";
import type { Clock } from "../util/clock.js";
import type { LifecycleDeps, Log } from "./deps.js";
import type { Settings } from "./load-settings.js";

/** The settings the lifecycle itself reads: typed, never the raw environment. */
export type LifecycleSettings = Pick<Settings, "baseUrl" | "notifyUrls"> & Partial<Pick<Settings, "actionRef">>;

/** The exact timers a running server keeps (the expiry scheduler); the CLI has none. */
export interface LifecycleTimers {
  track(grant: Grant): void;
  retryLater(grant: Grant): void;
}

export interface LifecycleWiring {
  store: LedgerStore;
  /** The loaded catalog, or why it failed to load: the lifecycle then runs revoke-only with an empty catalog. */
  catalog: { ok: true; catalog: Catalog } | { ok: false; why: string };
  clock: Clock;
  settings: LifecycleSettings;
  /** The variables `env:` value sources read: the app's own environment. */
  sourceEnv: ValueEnvironment;
  octokitFor(installationId: number): Promise<AppOctokit>;
  /** The app itself (JWT): finds the installation that covers a transferred repository (`LifecycleDeps.appOctokit`). */
  appOctokit?(): Promise<AppOctokit>;
  /** Where notification problems are logged; none: notifications are not queued. */
  notifyLog?: Log;
  /**
   * One writer per secret. Default: `SecretLocks` on the ledger, which holds across every
   * process sharing it; an in-process `KeyedMutex` where only one process can write.
   */
  locks?: SecretLocker;
  /** Permission, membership and public-key answers kept between events (default on; the CLI runs once and keeps none). */
  caches?: boolean;
  rateLimits?: RateLimitReserve;
  /** Read when a grant is written, extended or deferred; the scheduler is built after the deps, hence a function. */
  timers?: () => LifecycleTimers | null;
}

/**
 * The one place the lifecycle's dependencies are built: the server (main.ts), every CLI command
 * and the test and benchmark harnesses call this, so they run the same wiring.
 */
export function createLifecycleDeps(wiring: LifecycleWiring): LifecycleDeps {
  const { store, clock, settings, timers } = wiring;
  const caches = wiring.caches ?? true;
  return {
    store,
    catalog: wiring.catalog.ok ? wiring.catalog.catalog : NO_CATALOG,
    clock,
    sourceEnv: wiring.sourceEnv,
    locks: wiring.locks ?? new SecretLocks(store),
    octokitFor: (installationId) => wiring.octokitFor(installationId),
    ...(wiring.appOctokit !== undefined ? { appOctokit: () => wiring.appOctokit!() } : {}),
    ...(settings.actionRef !== undefined ? { actionRef: settings.actionRef } : {}),
    ...(caches ? { lookups: new LookupCache(clock), publicKeys: new PublicKeyCache() } : {}),
    ...(wiring.rateLimits !== undefined ? { rateLimits: wiring.rateLimits } : {}),
    ...(wiring.catalog.ok ? {} : { revokeOnly: { why: wiring.catalog.why } }),
    ...(timers !== undefined
      ? {
          onGranted: (grant: Grant) => timers()?.track(grant),
          onExpiryMoved: (grant: Grant) => timers()?.track(grant),
          onDeferred: (grant: Grant) => timers()?.retryLater(grant),
        }
      : {}),
    ...(wiring.notifyLog !== undefined
      ? { notifier: new OutboxNotifier({ store, urls: settings.notifyUrls, webUrl: webUrlFor(settings.baseUrl), log: wiring.notifyLog }) }
      : {}),
  };
}
