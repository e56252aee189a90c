/**
 * Scenario 7 — the peer, side by side. The same app, on the same machine and in the same run,
 * with its own write pacing (src/github/write-scheduler.ts through pacing-plugin.ts) and with
 * Probot's stock throttling instead (`createAppOctokit("probot-throttling")`: the pacing plugin
 * left out and Probot's `@octokit/plugin-throttling` left on, configured by Probot itself —
 * node_modules/probot/lib/octokit/probot-octokit.js, get-octokit-throttle-options.js and
 * get-authenticated-octokit.js, which keys the plugin's queues by installation id). Stock, every
 * write of an installation takes a turn in one first-come-first-served queue (Bottleneck,
 * `minTime` 1 s), and a comment also one in a second queue (`minTime` 3 s); there is no priority.
 *
 * Three figures, each a ratio with its raw measurements:
 * a. burst — `installations × grantsPerInstallation` grants expire in the same second
 *    (`ExpiryScheduler`, in process, as in scenario 2): time from the expiry to the last DELETE,
 *    ours and stock. Measured at `grantsPerInstallation`; the time at `extrapolateTo` grants an
 *    installation is computed from each installation's measured first DELETE and mean gap between
 *    DELETEs (both paces allow one write a second, so 100 grants would take 100 s a variant).
 * b. queued comments — one installation has `queuedComments` comments queued (sent through the
 *    app's Octokit for that installation at once, as that many grants' comments would be) when
 *    one of its grants expires 3.5 s later: that DELETE's lag, ours and stock.
 * c. approval → PUT at 50 ± 10 ms a request (scenario 1's at-latency run, `node dist/main.js`):
 *    ours, and a variant whose GETs go out one at a time per installation
 *    (bench/lib/sequential-reads-preload.mjs), i.e. the grant path reading one thing after
 *    another.
 *
 * Stock throttling keeps its queues in module-level Bottleneck groups shared by every Octokit in
 * the process, and a run is abandoned once its figure is in (its comments and labels would take
 * minutes more at 3 s apart): every run therefore uses installation ids of its own, so no queue
 * left behind holds another run's writes. The abandoned work still runs in this process for a
 * minute or two (failing at its turns), so (c), whose simulator shares the process, runs first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSimulator, type GitHubSimulator, type RecordedRequest } from "../../sim/index.js";
import { ExpiryScheduler } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { createRepos, ENVIRONMENT, openRequestPulls } from "../lib/fixtures.js";
import { inProcessApp, type InProcessApp, type Pacing } from "../lib/in-process-app.js";
import { RequestWatch } from "../lib/request-watch.js";
import { seedGrants } from "../lib/seed-grants.js";
import { ROUTES, secretKey, secretKeyOf } from "../lib/sim-requests.js";
import { distribution, rounded, type Distribution } from "../lib/stats.js";
import { atLatencyRun, REALISTIC_LATENCY_MS, type ApprovalLatencyConfig } from "./approval-latency.js";

export interface PeerThrottlingConfig {
  burst: { installations: number; grantsPerInstallation: number; extrapolateTo: number };
  queuedComments: number;
  approval: ApprovalLatencyConfig;
}

export const PEER_THROTTLING_FULL: PeerThrottlingConfig = {
  burst: { installations: 10, grantsPerInstallation: 20, extrapolateTo: 100 },
  queuedComments: 50,
  approval: { grants: 40, repos: 10, approvalsPerSecond: 2, repeats: 1 },
};
export const PEER_THROTTLING_QUICK: PeerThrottlingConfig = {
  burst: { installations: 10, grantsPerInstallation: 8, extrapolateTo: 100 },
  queuedComments: 20,
  approval: { grants: 20, repos: 10, approvalsPerSecond: 2, repeats: 1 },
};

/** Lead time before the expiry in (b): the comments are queued 3.5 s before it. */
const QUEUED_LEAD_MS = 3_500;

export interface BurstRun {
  /** Expiry → the last DELETE (all installations). */
  lastDeleteMs: number;
  /** Expiry → each installation's first DELETE (the app's own work before its first write). */
  firstDeleteMs: Distribution;
  /** Mean gap between two DELETEs of one installation, per installation. */
  deleteGapMs: Distribution;
  /** Other writes (comments, labels) each installation sent between the expiry and its last DELETE: writes a DELETE waited behind. */
  otherWritesBeforeLastDelete: Distribution;
  /** Computed: max over installations of first DELETE + (extrapolateTo − 1) × its mean gap. */
  extrapolatedLastDeleteMs: number;
  warnings: number;
  errors: number;
}

export interface QueuedRun {
  /** Expiry → the DELETE. */
  lagMs: number;
  /** Of the queued comments, those the simulator received before the DELETE. */
  commentsBeforeDelete: number;
  warnings: number;
  errors: number;
}

export interface SequentialReadsRun {
  latencyMs: Distribution;
  sequentialRoundTrips: Distribution | null;
}

export interface PeerThrottlingResult {
  config: PeerThrottlingConfig;
  burst: {
    ours: BurstRun;
    stock: BurstRun;
    /** stock / ours, measured at `grantsPerInstallation`. */
    measuredRatio: number;
    /** stock / ours, computed for `extrapolateTo` grants an installation. */
    extrapolatedRatio: number;
  };
  queued: { ours: QueuedRun; stock: QueuedRun; ratio: number };
  approval: {
    latencyMs: number;
    jitterMs: number;
    ours: SequentialReadsRun;
    sequentialReads: SequentialReadsRun;
    /** sequential reads / ours, approval → PUT p50. */
    ratioP50: number;
    ratioP90: number;
  };
}

export async function peerThrottling(config: PeerThrottlingConfig, log: (line: string) => void): Promise<PeerThrottlingResult> {
  // (c) first: see the module comment.
  const preload = fileURLToPath(new URL("../lib/sequential-reads-preload.mjs", import.meta.url));
  const approvalOurs = approvalFigures(await atLatencyRun(config.approval));
  log(`  (c) approval → PUT at ${REALISTIC_LATENCY_MS} ms, ours: ${describeApproval(approvalOurs)}`);
  const approvalSequential = approvalFigures(await atLatencyRun(config.approval, { NODE_OPTIONS: `--import=${preload}` }));
  log(`  (c) approval → PUT at ${REALISTIC_LATENCY_MS} ms, sequential reads: ${describeApproval(approvalSequential)}`);

  const { installations, grantsPerInstallation, extrapolateTo } = config.burst;
  const burstOurs = await burstRun("own", config);
  log(`  (a) ${installations} × ${grantsPerInstallation} expiring at once, ours: ${describeBurst(burstOurs, extrapolateTo)}`);
  const burstStock = await burstRun("probot-throttling", config);
  log(`  (a) ${installations} × ${grantsPerInstallation} expiring at once, stock: ${describeBurst(burstStock, extrapolateTo)}`);

  const queuedOurs = await queuedRun("own", config.queuedComments);
  log(`  (b) DELETE behind ${config.queuedComments} queued comments, ours: ${describeQueued(queuedOurs)}`);
  const queuedStock = await queuedRun("probot-throttling", config.queuedComments);
  log(`  (b) DELETE behind ${config.queuedComments} queued comments, stock: ${describeQueued(queuedStock)}`);

  return {
    config,
    burst: {
      ours: burstOurs,
      stock: burstStock,
      measuredRatio: ratio(burstStock.lastDeleteMs, burstOurs.lastDeleteMs),
      extrapolatedRatio: ratio(burstStock.extrapolatedLastDeleteMs, burstOurs.extrapolatedLastDeleteMs),
    },
    queued: { ours: queuedOurs, stock: queuedStock, ratio: ratio(queuedStock.lagMs, queuedOurs.lagMs) },
    approval: {
      latencyMs: REALISTIC_LATENCY_MS,
      jitterMs: REALISTIC_LATENCY_MS / 5,
      ours: approvalOurs,
      sequentialReads: approvalSequential,
      ratioP50: ratio(approvalSequential.latencyMs.p50, approvalOurs.latencyMs.p50),
      ratioP90: ratio(approvalSequential.latencyMs.p90, approvalOurs.latencyMs.p90),
    },
  };
}

/** Installation ids of their own for every run (see the module comment). */
let nextInstallationBase = 600_000;
function installationBase(): number {
  nextInstallationBase += 1_000;
  return nextInstallationBase;
}

interface Setup {
  sim: GitHubSimulator;
  store: LedgerStore;
  app: InProcessApp;
  dir: string;
}

async function setUp(pacing: Pacing): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), "jit-bench-peer-"));
  const sim = await startSimulator();
  const store = await openLedger(`sqlite:${join(dir, "ledger.db")}`);
  return { sim, store, app: inProcessApp(sim, store, undefined, pacing), dir };
}

/**
 * Leaves a run whose figure is in: no further revocation starts, the simulator goes (what is
 * still queued fails at its turn), and the ledger closes once the revocations under way are over.
 * This does not wait for them: their comments and labels are minutes of pacing away.
 */
async function abandon({ sim, store, dir }: Setup, scheduler: ExpiryScheduler): Promise<void> {
  const stopped = scheduler.stop();
  await sim.close();
  void stopped
    .catch(() => undefined)
    .then(() => store.close())
    .catch(() => undefined)
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

export async function burstRun(pacing: Pacing, config: PeerThrottlingConfig): Promise<BurstRun> {
  const { installations, grantsPerInstallation, extrapolateTo } = config.burst;
  const setup = await setUp(pacing);
  const { sim, store, app } = setup;
  const scheduler = new ExpiryScheduler(app.deps, app.log, 60_000);
  try {
    const repos = createRepos(sim, { owners: installations, reposPerOwner: 1, prsPerRepo: 0, installationIdBase: installationBase() });
    const pulls = await openRequestPulls(sim, repos, grantsPerInstallation, { duration: "1h", deliver: false });
    // All expire at one instant, once seeding (about 5 ms a grant) is surely over.
    const expiresAt = Date.now() + 3_000 + pulls.length * 8;
    const grants = await seedGrants(sim, store, pulls, () => expiresAt);
    if (Date.now() > expiresAt - 1000)
      throw new Error("seeding the ledger took longer than planned; raise the lead time in peer-throttling.ts");
    const installationOf = new Map(grants.map((g) => [secretKey(`${g.owner}/${g.repo}`, ENVIRONMENT, g.secret), g.installationId]));
    const writes = new Map<number, RecordedRequest[]>();
    const deleted = new Set<string>();
    const watch = new RequestWatch(sim, (request) => {
      if (request.method === "GET" || request.route === ROUTES.installationToken || request.installationId === null) return;
      const list = writes.get(request.installationId) ?? [];
      list.push(request);
      writes.set(request.installationId, list);
      const key = request.route === ROUTES.deleteSecret ? secretKeyOf(request.path) : null;
      if (key && installationOf.has(key)) deleted.add(key);
    });
    await scheduler.start();
    await watch.until(() => deleted.size >= grants.length, {
      timeoutMs: expiresAt - Date.now() + grantsPerInstallation * 4_000 + 60_000,
      intervalMs: 20,
      what: "every expired secret's DELETE",
    });
    const warnings = app.log.warnings;
    const errors = app.log.errors;
    const perInstallation = [...writes.values()].map((list) => {
      const deletes = list.filter((r) => r.route === ROUTES.deleteSecret).map((r) => r.atMs);
      const first = deletes[0]! - expiresAt;
      const last = deletes[deletes.length - 1]! - expiresAt;
      const gap = deletes.length > 1 ? (last - first) / (deletes.length - 1) : 0;
      const others = list.filter((r) => r.route !== ROUTES.deleteSecret && r.atMs >= expiresAt && r.atMs < expiresAt + last).length;
      return { first, last, gap, others };
    });
    return {
      lastDeleteMs: Math.max(...perInstallation.map((i) => i.last)),
      firstDeleteMs: rounded(distribution(perInstallation.map((i) => i.first))),
      deleteGapMs: rounded(distribution(perInstallation.map((i) => i.gap))),
      otherWritesBeforeLastDelete: rounded(distribution(perInstallation.map((i) => i.others))),
      extrapolatedLastDeleteMs: Math.round(Math.max(...perInstallation.map((i) => i.first + (extrapolateTo - 1) * i.gap))),
      warnings,
      errors,
    };
  } finally {
    await abandon(setup, scheduler);
  }
}

export async function queuedRun(pacing: Pacing, comments: number): Promise<QueuedRun> {
  const setup = await setUp(pacing);
  const { sim, store, app } = setup;
  const scheduler = new ExpiryScheduler(app.deps, app.log, 60_000);
  const abort = new AbortController();
  try {
    const repos = createRepos(sim, { owners: 1, reposPerOwner: 1, prsPerRepo: 0, installationIdBase: installationBase() });
    const [target, ...others] = await openRequestPulls(sim, repos, comments + 1, { duration: "1h", deliver: false });
    const expiresAt = Date.now() + 1_000 + QUEUED_LEAD_MS;
    const [grant] = await seedGrants(sim, store, [target!], () => expiresAt);
    const key = secretKey(`${grant!.owner}/${grant!.repo}`, ENVIRONMENT, grant!.secret);
    let deletedAt: number | null = null;
    let commentsBefore = 0;
    const watch = new RequestWatch(sim, (request) => {
      if (deletedAt !== null) return;
      if (request.route === ROUTES.deleteSecret && secretKeyOf(request.path) === key) deletedAt = request.atMs;
      else if (request.method === "POST" && request.route?.endsWith("/comments")) commentsBefore++;
    });
    await scheduler.start();
    // The installation's token first (a read: not paced either way), so that no variant pays for it in the lag.
    const octokit = await app.deps.octokitFor(target!.installationId);
    const [owner, repo] = target!.repo.split("/") as [string, string];
    await octokit.request("GET /repos/{owner}/{repo}", { owner, repo });
    const wait = expiresAt - QUEUED_LEAD_MS - Date.now();
    if (wait < 0) throw new Error("setting up took longer than planned; raise the lead time in peer-throttling.ts");
    await new Promise((resolve) => setTimeout(resolve, wait));
    for (const pull of others) {
      void octokit
        .request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner,
          repo,
          issue_number: pull.number,
          body: "Access granted (benchmark comment).",
          request: { signal: abort.signal },
        })
        .catch(() => undefined);
    }
    await watch.until(() => deletedAt !== null, {
      timeoutMs: QUEUED_LEAD_MS + comments * 4_000 + 60_000,
      intervalMs: 20,
      what: "the DELETE",
    });
    return { lagMs: deletedAt! - expiresAt, commentsBeforeDelete: commentsBefore, warnings: app.log.warnings, errors: app.log.errors };
  } finally {
    abort.abort();
    await abandon(setup, scheduler);
  }
}

function approvalFigures(run: Awaited<ReturnType<typeof atLatencyRun>>): SequentialReadsRun {
  return { latencyMs: run.latencyMs, sequentialRoundTrips: run.sequentialRoundTrips ?? null };
}

function ratio(stock: number, ours: number): number {
  return ours > 0 ? Number((stock / ours).toFixed(2)) : Number.NaN;
}

function describeBurst(r: BurstRun, extrapolateTo: number): string {
  return (
    `last DELETE ${(r.lastDeleteMs / 1000).toFixed(1)} s after the expiry (first per installation p50 ${r.firstDeleteMs.p50} ms; ` +
    `gap between DELETEs p50 ${r.deleteGapMs.p50} ms; comments and labels before the last DELETE p50 ${r.otherWritesBeforeLastDelete.p50}); ` +
    `computed for ${extrapolateTo} an installation: ${(r.extrapolatedLastDeleteMs / 1000).toFixed(1)} s`
  );
}

function describeQueued(r: QueuedRun): string {
  return `lag ${r.lagMs} ms (${r.commentsBeforeDelete} comments went first)`;
}

function describeApproval(r: SequentialReadsRun): string {
  const { p50, p90, p99 } = r.latencyMs;
  const trips = r.sequentialRoundTrips;
  return `p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms; sequential round trips before the PUT p50 ${trips?.p50 ?? "?"}, max ${trips?.max ?? "?"}`;
}
