/**
 * Scenario 1 — approval → secret written. The app runs as in production (`node dist/main.js`,
 * webhooks over HTTP, GitHub API through GHE_HOST) against the simulator on loopback.
 *
 * Approvals arrive at a fixed rate, round-robin over the repositories, and each one's latency is
 * the time from the review webhook's delivery to the secret's PUT as the simulator recorded
 * them. The same workload runs twice: every repository in ONE installation (GitHub's write
 * pacing, one write a second per installation, then sets the pace) and each repository in its
 * own installation (the app's own latency shows). A probe before the many-installation runs
 * counts the API calls of a cold and of warm grants exactly, one grant at a time.
 *
 * GitHub answers in 50–300 ms, loopback in about one: a last run repeats the many-installation
 * workload with the simulator holding every request `REALISTIC_LATENCY_MS` (± a fifth, seeded),
 * and counts for each grant the sequential round trips before its PUT (sim/request-chain.ts).
 */
import { startAppProcess } from "../../sim/app-process.js";
import { sequentialRoundTrips, startSimulator, type GitHubSimulator, type RecordedRequest } from "../../sim/index.js";
import {
  APPROVER,
  benchCatalog,
  benchSecretValues,
  createRepos,
  ENVIRONMENT,
  openRequestPulls,
  type BenchPull,
  type Layout,
} from "../lib/fixtures.js";
import { profileEnv } from "../lib/cpu-profile.js";
import { RequestWatch, sleep } from "../lib/request-watch.js";
import { countByRoute, ROUTES, secretKey, secretKeyOf } from "../lib/sim-requests.js";
import { distribution, median, rounded, type Distribution } from "../lib/stats.js";

export interface ApprovalLatencyConfig {
  grants: number;
  repos: number;
  approvalsPerSecond: number;
  /** Repetitions of the many-installation run (the one-installation run is paced by GitHub's rule, so once is enough). */
  repeats: number;
}

/** In the many-installation runs each installation gets an approval every `repos / approvalsPerSecond` = 5 s. */
export const APPROVAL_LATENCY_FULL: ApprovalLatencyConfig = { grants: 200, repos: 40, approvalsPerSecond: 8, repeats: 3 };
export const APPROVAL_LATENCY_QUICK: ApprovalLatencyConfig = { grants: 40, repos: 10, approvalsPerSecond: 2, repeats: 1 };

type Topology = "one-installation" | "many-installations";

/** The per-request latency of the realistic run: the low end of what github.com answers in. */
export const REALISTIC_LATENCY_MS = 50;

export interface RunResult {
  latencyMs: Distribution;
  /**
   * Grants whose installation had written less than a second before the approval arrived, so
   * that GitHub's pacing could hold the PUT; and the latency of the rest, the app's own.
   */
  heldByPacing: number;
  unheldLatencyMs: Distribution;
  /** From the first approval to the last PUT. */
  wallSeconds: number;
  /** Grants written per second over that wall time. */
  grantsPerSecond: number;
  deliveryFailures: number;
  /** Only when every handler finished (many installations): calls by operation, per grant. */
  callsPerGrant?: Record<string, number>;
  /**
   * Sequential round trips before each grant's PUT (its installation's requests from its
   * delivery on): the longest chain of requests each sent after the previous one was answered.
   * Meaningful where requests of one grant do not overlap another's (many installations).
   */
  sequentialRoundTrips?: Distribution;
}

export interface LatencyRun {
  latencyMs: number;
  jitterMs: number;
  result: RunResult;
  /** The target of issue 16: p50 ≤ 4 × latency + 30 ms. */
  targetP50Ms: number;
}

export interface CallProbe {
  /** The first grant of a new installation: token, and nothing cached. */
  cold: Record<string, number>;
  /** Later grants in the same repository and installation. */
  warm: Record<string, number>;
  coldTotal: number;
  warmTotal: number;
}

export interface ApprovalLatencyResult {
  config: ApprovalLatencyConfig;
  calls: CallProbe;
  oneInstallation: RunResult;
  manyInstallations: { runs: RunResult[]; medianP50Ms: number; medianP99Ms: number; medianMaxMs: number };
  /** The many-installation workload again, each request held REALISTIC_LATENCY_MS ± a fifth. */
  atLatency: LatencyRun;
}

export async function approvalLatency(
  config: ApprovalLatencyConfig,
  log: (line: string) => void,
  options: { profileDir?: string } = {},
): Promise<ApprovalLatencyResult> {
  const perRepo = Math.ceil(config.grants / config.repos);
  const many: RunResult[] = [];
  let calls: CallProbe | undefined;
  for (let i = 0; i < config.repeats; i++) {
    const layout: Layout = { owners: config.repos, reposPerOwner: 1, prsPerRepo: perRepo };
    const run = await runOnce("many-installations", layout, config, {
      probe: i === 0,
      ...(i === 0 && options.profileDir ? { profileDir: options.profileDir } : {}),
    });
    calls ??= run.calls;
    many.push(run.result);
    log(`  many installations, run ${i + 1}/${config.repeats}: ${describeRun(run.result)}`);
  }
  const one = await runOnce("one-installation", { owners: 1, reposPerOwner: config.repos, prsPerRepo: perRepo }, config, { probe: false });
  log(`  one installation: ${describeRun(one.result)}`);
  const jitterMs = REALISTIC_LATENCY_MS / 5;
  const latent = { result: await atLatencyRun(config) };
  const atLatency: LatencyRun = {
    latencyMs: REALISTIC_LATENCY_MS,
    jitterMs,
    result: latent.result,
    targetP50Ms: 4 * REALISTIC_LATENCY_MS + 30,
  };
  log(
    `  many installations at ${REALISTIC_LATENCY_MS} ± ${jitterMs} ms a request: ${describeRun(latent.result)}; ` +
      `sequential round trips before the PUT: p50 ${latent.result.sequentialRoundTrips?.p50}, max ${latent.result.sequentialRoundTrips?.max}`,
  );
  return {
    config,
    calls: calls!,
    oneInstallation: one.result,
    manyInstallations: {
      runs: many,
      medianP50Ms: median(many.map((r) => r.latencyMs.p50)),
      medianP99Ms: median(many.map((r) => r.latencyMs.p99)),
      medianMaxMs: median(many.map((r) => r.latencyMs.max)),
    },
    atLatency,
  };
}

/**
 * The many-installation workload once (`grants` approvals at `approvalsPerSecond`, one
 * installation per repository), on the ledger of `databaseUrl`, or on a new SQLite file when null.
 */
export async function approvalLatencyOn(databaseUrl: string | null, config: ApprovalLatencyConfig): Promise<RunResult> {
  const layout: Layout = { owners: config.repos, reposPerOwner: 1, prsPerRepo: Math.ceil(config.grants / config.repos) };
  return (await runOnce("many-installations", layout, config, { probe: false, ...(databaseUrl ? { databaseUrl } : {}) })).result;
}

/**
 * The many-installation workload with the simulator holding every request REALISTIC_LATENCY_MS
 * ± a fifth (seeded). `env` is added to the app's environment (bench/scenarios/peer-throttling.ts
 * loads a preload with it).
 */
export async function atLatencyRun(config: ApprovalLatencyConfig, env: Record<string, string> = {}): Promise<RunResult> {
  const layout: Layout = { owners: config.repos, reposPerOwner: 1, prsPerRepo: Math.ceil(config.grants / config.repos) };
  const run = await runOnce("many-installations", layout, config, {
    probe: false,
    latency: { latencyMs: REALISTIC_LATENCY_MS, jitterMs: REALISTIC_LATENCY_MS / 5 },
    env,
  });
  return run.result;
}

async function runOnce(
  topology: Topology,
  layout: Layout,
  config: ApprovalLatencyConfig,
  options: {
    probe: boolean;
    profileDir?: string;
    latency?: { latencyMs: number; jitterMs: number };
    databaseUrl?: string;
    env?: Record<string, string>;
  },
): Promise<{ result: RunResult; calls?: CallProbe }> {
  const sim = await startSimulator({ webhookTimeoutMs: 30 * 60_000, ...(options.latency ? { ...options.latency, latencySeed: 16 } : {}) });
  const secrets = layout.prsPerRepo;
  const app = await startAppProcess(sim, {
    catalog: benchCatalog(Math.max(secrets, 3)),
    env: {
      ...benchSecretValues(Math.max(secrets, 3)),
      ...(options.profileDir ? profileEnv(options.profileDir) : {}),
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...options.env,
    },
    sweepInterval: "1h",
    logLevel: "info",
  });
  let graceful = false;
  try {
    const calls = options.probe ? await probeCalls(sim) : undefined;
    const repos = createRepos(sim, layout);
    const pulls = (await openRequestPulls(sim, repos, layout.prsPerRepo, { duration: "8h", deliver: false })).slice(0, config.grants);
    const result = await approveAll(sim, pulls, config.approvalsPerSecond, topology === "many-installations");
    // Every handler has finished only in the many-installation run; the other still has
    // comments and labels queued behind GitHub's pacing, which this scenario does not wait for.
    graceful = topology === "many-installations";
    return { result, ...(calls ? { calls } : {}) };
  } finally {
    await app.stop(graceful ? "SIGTERM" : "SIGKILL");
    await sim.close();
  }
}

/** Submits one approval per pull request at a fixed rate and times each to its secret's PUT. */
async function approveAll(sim: GitHubSimulator, pulls: BenchPull[], perSecond: number, awaitHandlers: boolean): Promise<RunResult> {
  const mark = sim.requests.length;
  const putAt = new Map<string, number>();
  const writes = new Map<number, number[]>();
  let labelled = 0;
  const watch = new RequestWatch(sim, (request) => {
    if (request.method !== "GET" && request.route !== ROUTES.installationToken && request.installationId !== null) {
      const times = writes.get(request.installationId) ?? [];
      times.push(request.atMs);
      writes.set(request.installationId, times);
    }
    if (request.route === ROUTES.addLabels) labelled++;
    if (request.route !== ROUTES.putSecret || request.status >= 300) return;
    const key = secretKeyOf(request.path);
    if (key && !putAt.has(key)) putAt.set(key, request.atMs);
  });
  const deliveredAt = new Map<string, number>();
  let failures = 0;
  const deliveries: Promise<unknown>[] = [];
  const start = Date.now();
  for (const [i, pull] of pulls.entries()) {
    const due = start + (i * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    // The simulator stamps deliveries to the second, as GitHub does; this is the same instant in ms.
    deliveredAt.set(secretKey(pull.repo, ENVIRONMENT, pull.secret), Date.now());
    deliveries.push(
      sim.submitReview(pull.repo, pull.number, { reviewer: APPROVER, state: "APPROVED" }).catch(() => {
        failures++;
      }),
    );
    watch.poll();
  }
  await watch.until(() => putAt.size >= pulls.length, { timeoutMs: 20 * 60_000, intervalMs: 50, what: "every secret's PUT" });
  const installationOf = new Map(pulls.map((p) => [secretKey(p.repo, ENVIRONMENT, p.secret), p.installationId]));
  const grants = [...deliveredAt].map(([key, at]) => {
    const put = putAt.get(key)!;
    const before = (writes.get(installationOf.get(key)!) ?? []).filter((w) => w < put);
    const previous = before[before.length - 1];
    return { latency: put - at, held: previous !== undefined && previous + 1000 > at };
  });
  const latencies = grants.map((g) => g.latency);
  const firstDelivery = Math.min(...deliveredAt.values());
  const wallSeconds = (Math.max(...putAt.values()) - firstDelivery) / 1000;
  const result: RunResult = {
    latencyMs: rounded(distribution(latencies)),
    heldByPacing: grants.filter((g) => g.held).length,
    unheldLatencyMs: rounded(distribution(grants.filter((g) => !g.held).map((g) => g.latency))),
    wallSeconds: Number(wallSeconds.toFixed(1)),
    grantsPerSecond: Number((pulls.length / wallSeconds).toFixed(2)),
    deliveryFailures: failures,
  };
  if (awaitHandlers) {
    // Probot answers a delivery after 9 s even if its handler still runs, so wait for the last
    // write of every grant (the label) instead of the answers.
    await watch.until(() => labelled >= pulls.length, { timeoutMs: 20 * 60_000, intervalMs: 50, what: "every grant's label" });
    await Promise.all(deliveries);
    result.deliveryFailures = failures;
    result.callsPerGrant = perGrant(countByRoute(sim.requests.slice(mark)), pulls.length);
    result.sequentialRoundTrips = rounded(distribution(roundTripsPerGrant(sim.requests.slice(mark), pulls, deliveredAt)));
  }
  return result;
}

/**
 * Exact calls per grant: three request pull requests in a fresh repository of a fresh
 * installation, approved one after another; each approval's calls are those between its
 * delivery and the app's answer (Probot answers once the handler, writes included, is done).
 */
async function probeCalls(sim: GitHubSimulator): Promise<CallProbe> {
  const repos = createRepos(sim, { owners: 1, reposPerOwner: 1, prsPerRepo: 3, prefix: "probe" });
  const pulls = await openRequestPulls(sim, repos, 3, { duration: "8h", deliver: false });
  const perApproval: Record<string, number>[] = [];
  for (const pull of pulls) {
    const mark = sim.requests.length;
    await sim.submitReview(pull.repo, pull.number, { reviewer: APPROVER, state: "APPROVED" });
    await sim.waitFor(() => sim.labels(pull.repo, pull.number).length > 0, { timeoutMs: 30_000, description: "the grant's label" });
    await sleep(200); // nothing should follow the label; wait a little to be sure
    perApproval.push(countByRoute(sim.requests.slice(mark)));
  }
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const cold = perApproval[0]!;
  const warm = perApproval[perApproval.length - 1]!;
  return { cold, warm, coldTotal: total(cold), warmTotal: total(warm) };
}

/** For each grant: the sequential round trips of its installation's requests from its delivery to its PUT. */
function roundTripsPerGrant(requests: readonly RecordedRequest[], pulls: BenchPull[], deliveredAt: Map<string, number>): number[] {
  return pulls.flatMap((pull) => {
    const key = secretKey(pull.repo, ENVIRONMENT, pull.secret);
    const from = deliveredAt.get(key)! - 1;
    const token = `/app/installations/${pull.installationId}/access_tokens`;
    const own = requests.filter((r) => (r.installationId === pull.installationId || r.path === token) && r.receivedMs >= from);
    const put = own.find((r) => r.route === ROUTES.putSecret && secretKeyOf(r.path) === key);
    return put ? [sequentialRoundTrips(own, put)] : [];
  });
}

function describeRun(r: RunResult): string {
  const { p50, p99, max } = r.latencyMs;
  const unheld =
    r.heldByPacing > 0 && r.unheldLatencyMs.n > 0
      ? `; the other ${r.unheldLatencyMs.n}: p50 ${r.unheldLatencyMs.p50} ms, p99 ${r.unheldLatencyMs.p99} ms`
      : "";
  return `p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (${r.heldByPacing} of ${r.latencyMs.n} could be held by pacing${unheld})`;
}

function perGrant(counts: Record<string, number>, grants: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([route, n]) => [route, Number((n / grants).toFixed(2))]));
}
