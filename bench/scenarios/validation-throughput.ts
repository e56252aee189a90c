/**
 * Scenario 4 — validation throughput: request pull requests opened (webhook `pull_request.opened`)
 * and handled to a posted check run, per second; and the app process's memory. The app runs as
 * in production (`node dist/main.js`) against the simulator.
 *
 * Every installation first gets one warm-up pull request (its token is then cached, as in any
 * running app); the measured pull requests are then delivered round-robin over the
 * installations with a bounded number of deliveries outstanding, as GitHub delivers
 * concurrently. The check run is a write, paced at one a second per installation, so one
 * installation validates at most one pull request a second; many installations show the
 * app's own rate.
 */
import { startAppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { AUTHOR, benchCatalog, benchSecretValues, createRepos, requestsFile, secretName } from "../lib/fixtures.js";
import { profileEnv } from "../lib/cpu-profile.js";
import { memoryReportEnv, mergeNodeEnv, readHeapBreakdown, removeReports, type HeapBreakdown } from "../lib/heap-breakdown.js";
import { pidWithCwd, readMemory, sampleMemory } from "../lib/process-memory.js";
import { RequestWatch, sleep } from "../lib/request-watch.js";
import { repoOf, ROUTES } from "../lib/sim-requests.js";
import { distribution, median, rounded, type Distribution } from "../lib/stats.js";

export interface ValidationThroughputConfig {
  installations: number;
  /** Measured pull requests per installation (one repository each). */
  perInstallation: number;
  /** Deliveries in flight at once. */
  outstanding: number;
  repeats: number;
}

export const VALIDATION_THROUGHPUT_FULL: ValidationThroughputConfig = {
  installations: 100,
  perInstallation: 4,
  outstanding: 32,
  repeats: 3,
};
export const VALIDATION_THROUGHPUT_QUICK: ValidationThroughputConfig = {
  installations: 25,
  perInstallation: 4,
  outstanding: 32,
  repeats: 1,
};

export interface ValidationRun {
  pulls: number;
  wallSeconds: number;
  pullsPerSecond: number;
  /** Delivery → the check run's POST. */
  latencyMs: Distribution;
  checkRuns: number;
  memory: { idleAfterStartMiB: number; underLoadMedianMiB: number; underLoadPeakMiB: number; settledMiB: number };
  /** What the app's V8 heap held when its idle RSS was read (null where it could not be asked). */
  idleHeap: HeapBreakdown | null;
}

export interface ValidationThroughputResult {
  config: ValidationThroughputConfig;
  runs: ValidationRun[];
  medianPullsPerSecond: number;
  medianLatencyP50Ms: number;
  medianLatencyP99Ms: number;
  medianSettledRssMiB: number;
  medianIdleRssMiB: number;
}

export async function validationThroughput(
  config: ValidationThroughputConfig,
  log: (line: string) => void,
  options: { profileDir?: string } = {},
): Promise<ValidationThroughputResult> {
  const runs: ValidationRun[] = [];
  for (let i = 0; i < config.repeats; i++) {
    const run = await runOnce(config, i === 0 ? options.profileDir : undefined);
    runs.push(run);
    log(
      `  run ${i + 1}/${config.repeats}: ${run.pulls} pull requests in ${run.wallSeconds} s = ${run.pullsPerSecond}/s; ` +
        `latency p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms; RSS idle ${run.memory.idleAfterStartMiB} MiB, ` +
        `under load ${run.memory.underLoadMedianMiB} (peak ${run.memory.underLoadPeakMiB}), settled ${run.memory.settledMiB} MiB` +
        (run.idleHeap
          ? `; idle heap: ${run.idleHeap.heapCommittedMiB} MiB committed (young ${run.idleHeap.newSpace.committedMiB}, ` +
            `old ${run.idleHeap.oldSpace.committedMiB} of which ${run.idleHeap.oldSpace.usedMiB} used, code ${run.idleHeap.codeMiB}), ` +
            `external ${run.idleHeap.externalMiB}`
          : ""),
    );
  }
  return {
    config,
    runs,
    medianPullsPerSecond: median(runs.map((r) => r.pullsPerSecond)),
    medianLatencyP50Ms: median(runs.map((r) => r.latencyMs.p50)),
    medianLatencyP99Ms: median(runs.map((r) => r.latencyMs.p99)),
    medianSettledRssMiB: median(runs.map((r) => r.memory.settledMiB)),
    medianIdleRssMiB: median(runs.map((r) => r.memory.idleAfterStartMiB)),
  };
}

async function runOnce(config: ValidationThroughputConfig, profileDir: string | undefined): Promise<ValidationRun> {
  const sim = await startSimulator({ webhookTimeoutMs: 10 * 60_000 });
  const reports = memoryReportEnv();
  const env = mergeNodeEnv({ ...benchSecretValues(1), ...(profileDir ? profileEnv(profileDir) : {}) }, reports.env);
  const app = await startAppProcess(sim, { catalog: benchCatalog(1), env, sweepInterval: "1h", logLevel: "info" });
  try {
    const pid = pidWithCwd(app.dataDir);
    if (pid === null) throw new Error(`cannot find the app process (working directory ${app.dataDir}) to read its memory`);
    const owners = config.installations;
    const warmRepos = createRepos(sim, { owners, reposPerOwner: 1, prsPerRepo: 1, prefix: "warm" }).map((r) => r.repo);
    await validateAll(sim, warmRepos, config.outstanding);
    await sleep(2000);
    const idle = readMemory(pid);
    const idleHeap = await readHeapBreakdown(pid, reports.dir);

    // Repository k of every installation, then k+1: one installation's pull requests are far apart.
    const byOwner = createRepos(sim, { owners, reposPerOwner: config.perInstallation, prsPerRepo: 1, prefix: "load" }).map((r) => r.repo);
    const order = Array.from({ length: config.perInstallation }, (_, k) =>
      byOwner.filter((_, i) => i % config.perInstallation === k),
    ).flat();
    const memory = sampleMemory(pid, 100);
    const measured = await validateAll(sim, order, config.outstanding);
    const load = memory.stop();
    await sleep(3000);
    const settled = readMemory(pid);
    return {
      pulls: order.length,
      wallSeconds: measured.wallSeconds,
      pullsPerSecond: Number((order.length / measured.wallSeconds).toFixed(1)),
      latencyMs: rounded(distribution(measured.latencies)),
      checkRuns: measured.checkRuns,
      memory: {
        idleAfterStartMiB: idle?.rssMiB ?? Number.NaN,
        underLoadMedianMiB: median(load.samples),
        underLoadPeakMiB: Math.max(...load.samples),
        settledMiB: settled?.rssMiB ?? Number.NaN,
      },
      idleHeap,
    };
  } finally {
    await app.stop();
    await sim.close();
    removeReports(reports.dir);
  }
}

/**
 * Opens one request pull request in each repository, at most `outstanding` deliveries at a
 * time, and waits for every repository's check run.
 */
async function validateAll(
  sim: GitHubSimulator,
  repos: string[],
  outstanding: number,
): Promise<{ wallSeconds: number; latencies: number[]; checkRuns: number }> {
  const checkedAt = new Map<string, number>();
  const watch = new RequestWatch(sim, (request) => {
    if (request.route !== ROUTES.createCheckRun) return;
    const repo = repoOf(request.path)?.repo;
    if (repo && !checkedAt.has(repo)) checkedAt.set(repo, request.atMs);
  });
  const deliveredAt = new Map<string, number>();
  const file = requestsFile(secretName(0), "1h");
  for (const repo of repos) sim.commit(repo, "request", { "jit-requests.yml": file }, { from: "main", author: AUTHOR });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < repos.length) {
      const repo = repos[next++]!;
      deliveredAt.set(repo, Date.now());
      await sim.openPullRequest(repo, { head: "request", base: "main", author: AUTHOR, title: "Access request" });
    }
  };
  await Promise.all(Array.from({ length: Math.min(outstanding, repos.length) }, worker));
  await watch.until(() => checkedAt.size >= repos.length, {
    timeoutMs: 10 * 60_000,
    intervalMs: 50,
    what: "every pull request's check run",
  });
  const first = Math.min(...deliveredAt.values());
  const last = Math.max(...checkedAt.values());
  return {
    wallSeconds: Number(((last - first) / 1000).toFixed(2)),
    latencies: repos.map((repo) => checkedAt.get(repo)! - deliveredAt.get(repo)!),
    checkRuns: checkedAt.size,
  };
}
