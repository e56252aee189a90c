/**
 * Scenario 2 — revocation lag: expiry → DELETE. Driven in-process through the app's own
 * modules (a process boundary adds nothing to a timer): grants are seeded straight into a
 * SQLite ledger file with staggered expiries, then revoked by the real system clock against the
 * simulator, and each DELETE's arrival (as the simulator recorded it) is compared with the
 * grant's `expiresAt`.
 *
 * Two modes in one run, each on a fresh simulator and ledger:
 * - timers on: `ExpiryScheduler` as the server runs it (exact timers for grants due before the
 *   next sweep, plus the periodic sweep);
 * - timers off: `sweepOnce` on a fixed interval and nothing else, the way a cron sweeper works
 *   (ExpiryScheduler has no switch for its timers, so the benchmark drives the sweep itself).
 *
 * Grants go round-robin over the installations, so one installation's expiries are
 * `installations × spacing` apart: GitHub's pacing (one write a second per installation, and
 * each revocation also comments and relabels) does not hold a DELETE back, and the lag is the
 * app's own. DESIGN.md's rule that a DELETE never waits behind a comment is what keeps it so
 * when an installation is busier.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startSimulator } from "../../sim/index.js";
import { ExpiryScheduler } from "../../src/app/expiry-scheduler.js";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { createRepos, ENVIRONMENT, openRequestPulls } from "../lib/fixtures.js";
import { inProcessApp } from "../lib/in-process-app.js";
import { RequestWatch, sleep } from "../lib/request-watch.js";
import { seedGrants } from "../lib/seed-grants.js";
import { ROUTES, secretKey, secretKeyOf } from "../lib/sim-requests.js";
import { distribution, median, rounded, type Distribution } from "../lib/stats.js";

export interface RevocationLagConfig {
  grants: number;
  installations: number;
  /** Expiries spread evenly over this window. */
  windowSeconds: number;
  /** The periodic sweep (JIT_SWEEP_INTERVAL) in both modes. */
  sweepIntervalSeconds: number;
  /** Runs with timers on (with timers off the lag is the sweep's phase, so one run shows it). */
  timersOnRepeats: number;
}

export const REVOCATION_LAG_FULL: RevocationLagConfig = {
  grants: 1000,
  installations: 200,
  windowSeconds: 40,
  sweepIntervalSeconds: 60,
  timersOnRepeats: 3,
};
export const REVOCATION_LAG_QUICK: RevocationLagConfig = {
  grants: 200,
  installations: 40,
  windowSeconds: 20,
  sweepIntervalSeconds: 20,
  timersOnRepeats: 1,
};

export interface LagRun {
  lagMs: Distribution;
  /**
   * DELETEs whose installation had written (a comment or label of an earlier revocation) less
   * than a second before the expiry, so that GitHub's pacing held them; and the lag of the rest,
   * which is the app's own.
   */
  heldByPacing: number;
  unheldLagMs: Distribution;
  /** Grants whose secret was deleted (every one, or the run failed). */
  deleted: number;
  /** Seconds between two expiries of the same installation. */
  sameInstallationSpacingSeconds: number;
  /**
   * This process's event-loop delay while grants expired (the app's code and the simulator
   * share it): a stall here delays every timer due meanwhile.
   */
  eventLoopDelayMs: { p99: number; max: number };
  warnings: number;
  errors: number;
}

export interface RevocationLagResult {
  config: RevocationLagConfig;
  timersOn: { runs: LagRun[]; medianP50Ms: number; medianP99Ms: number; medianMaxMs: number };
  timersOff: LagRun;
}

export async function revocationLag(config: RevocationLagConfig, log: (line: string) => void): Promise<RevocationLagResult> {
  const runs: LagRun[] = [];
  for (let i = 0; i < config.timersOnRepeats; i++) {
    const run = await runMode("timers-on", config);
    runs.push(run);
    log(
      `  timers on, run ${i + 1}/${config.timersOnRepeats}: p50 ${run.lagMs.p50} ms, p99 ${run.lagMs.p99} ms, max ${run.lagMs.max} ms ` +
        `(${run.heldByPacing} held by pacing; event-loop delay p99 ${run.eventLoopDelayMs.p99} ms, max ${run.eventLoopDelayMs.max} ms)`,
    );
  }
  const timersOn = {
    runs,
    medianP50Ms: median(runs.map((r) => r.lagMs.p50)),
    medianP99Ms: median(runs.map((r) => r.lagMs.p99)),
    medianMaxMs: median(runs.map((r) => r.lagMs.max)),
  };
  const timersOff = await runMode("timers-off", config);
  log(
    `  timers off (sweep every ${config.sweepIntervalSeconds} s): p50 ${timersOff.lagMs.p50} ms, p99 ${timersOff.lagMs.p99} ms, max ${timersOff.lagMs.max} ms`,
  );
  return { config, timersOn, timersOff };
}

async function runMode(mode: "timers-on" | "timers-off", config: RevocationLagConfig): Promise<LagRun> {
  const dir = mkdtempSync(join(tmpdir(), "jit-bench-lag-"));
  const sim = await startSimulator();
  const store = await openLedger(`sqlite:${join(dir, "ledger.db")}`);
  const { deps, log } = inProcessApp(sim, store);
  const intervalMs = config.sweepIntervalSeconds * 1000;
  let stop = async (): Promise<void> => undefined;
  try {
    const repos = createRepos(sim, { owners: config.installations, reposPerOwner: 1, prsPerRepo: 0 });
    const pulls = await openRequestPulls(sim, repos, Math.ceil(config.grants / config.installations), { duration: "1h", deliver: false });
    const chosen = pulls.slice(0, config.grants);
    const spacingMs = (config.windowSeconds * 1000) / config.grants;
    // Expiries start once seeding (about 5 ms a grant with synchronous=FULL) is surely over.
    const firstExpiry = Date.now() + 5_000 + chosen.length * 8;
    const grants = await seedGrants(sim, store, chosen, (i) => firstExpiry + Math.round(i * spacingMs));
    if (Date.now() > firstExpiry - 1000)
      throw new Error("seeding the ledger took longer than planned; raise the lead time in revocation-lag.ts");

    const expiry = new Map(grants.map((g) => [secretKey(`${g.owner}/${g.repo}`, ENVIRONMENT, g.secret), g.expiresAt.getTime()]));
    const deletedAt = new Map<string, number>();
    const writes = new Map<number, number[]>();
    let labelled = 0;
    const watch = new RequestWatch(sim, (request) => {
      if (request.method !== "GET" && request.route !== ROUTES.installationToken && request.installationId !== null) {
        const times = writes.get(request.installationId) ?? [];
        times.push(request.atMs);
        writes.set(request.installationId, times);
      }
      // A revocation's one label write: a PUT after its PR's last live grant, else a POST.
      if (request.route === ROUTES.addLabels || request.route === ROUTES.setLabels) labelled++;
      if (request.route !== ROUTES.deleteSecret) return;
      const key = secretKeyOf(request.path);
      if (key && expiry.has(key) && !deletedAt.has(key)) deletedAt.set(key, request.atMs);
    });

    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    if (mode === "timers-on") {
      const scheduler = new ExpiryScheduler(deps, log, intervalMs);
      await scheduler.start();
      stop = () => scheduler.stop();
    } else {
      const stopSweeps = sweepEvery(intervalMs, () =>
        sweepOnce(deps, log).catch((error: unknown) => log.error({ error: String(error) }, "sweep failed")),
      );
      stop = async () => stopSweeps();
    }
    const lastExpiry = Math.max(...expiry.values());
    await watch.until(() => deletedAt.size >= expiry.size, {
      timeoutMs: lastExpiry - Date.now() + intervalMs + 120_000,
      intervalMs: 50,
      what: "every expired secret's DELETE",
    });
    // Let the PR feedback (comment, labels) finish before the ledger closes.
    await watch.until(() => labelled >= expiry.size, { timeoutMs: 120_000, intervalMs: 100, what: "every revocation's label" });
    await stop();
    loopDelay.disable();
    const installationOf = new Map(grants.map((g) => [secretKey(`${g.owner}/${g.repo}`, ENVIRONMENT, g.secret), g.installationId]));
    const lags = [...deletedAt].map(([key, at]) => {
      const expiresAt = expiry.get(key)!;
      const before = (writes.get(installationOf.get(key)!) ?? []).filter((w) => w < at);
      const previous = before[before.length - 1];
      return { lag: at - expiresAt, held: previous !== undefined && previous + 1000 > expiresAt };
    });
    return {
      lagMs: rounded(distribution(lags.map((l) => l.lag))),
      heldByPacing: lags.filter((l) => l.held).length,
      unheldLagMs: rounded(distribution(lags.filter((l) => !l.held).map((l) => l.lag))),
      deleted: deletedAt.size,
      sameInstallationSpacingSeconds: Number(((config.installations * spacingMs) / 1000).toFixed(2)),
      eventLoopDelayMs: { p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
      warnings: log.warnings,
      errors: log.errors,
    };
  } finally {
    await stop();
    await sleep(100);
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `sweep` now and then every `intervalMs` (never two at once); returns a stop function. */
function sweepEvery(intervalMs: number, sweep: () => Promise<unknown>): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  const tick = async (n: number): Promise<void> => {
    if (stopped) return;
    await sweep();
    if (stopped) return;
    timer = setTimeout(() => void tick(n + 1), Math.max(0, started + (n + 1) * intervalMs - Date.now()));
  };
  void tick(0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
