/**
 * Scenario 5 — replicas on PostgreSQL: approvals per second and revocations per second with 1
 * and with 3 app processes (`node dist/main.js`) sharing one PostgreSQL ledger, the simulator's
 * deliveries spread over them in turn (`sim.setWebhookUrls`).
 *
 * Each grant is in its own installation, so GitHub's write pacing (one write a second per
 * installation) never holds a PUT or a DELETE and the figures are the app's and the ledger's.
 * - Approvals: every approval is delivered at once (a burst); the rate is grants over the time
 *   from the first delivery to the last PUT.
 * - Revocations: once every grant is written the replicas stop gracefully; when every grant is
 *   due, the same number of replicas start again and revoke the backlog (claimed sweeps, exact
 *   timers); the rate is grants over the time from the replicas' start to the last DELETE.
 *
 * The ledger is a fresh schema of `BENCH_DATABASE_URL` (default: TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/test), dropped afterwards. Without a server the scenario
 * is skipped with one line saying why.
 */
import pg from "pg";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { connectBenchPostgres } from "../lib/postgres.js";
import { APPROVER, benchCatalog, benchSecretValues, createRepos, openRequestPulls } from "../lib/fixtures.js";
import { RequestWatch, sleep } from "../lib/request-watch.js";
import { ROUTES } from "../lib/sim-requests.js";

export interface ReplicaThroughputConfig {
  /** Grants per run, one per installation. */
  grants: number;
  /** Replica counts to compare. */
  replicas: number[];
  /** The grants' duration: long enough for every approval of the burst to be written before the first expiry. */
  duration: string;
}

export const REPLICA_THROUGHPUT_FULL: ReplicaThroughputConfig = { grants: 120, replicas: [1, 3], duration: "60s" };
export const REPLICA_THROUGHPUT_QUICK: ReplicaThroughputConfig = { grants: 30, replicas: [1, 3], duration: "30s" };

interface ReplicaRun {
  replicas: number;
  grants: number;
  /** First approval delivered → last PUT. */
  approvalSeconds: number;
  approvalsPerSecond: number;
  /** Replicas started on the due backlog → last DELETE. */
  revocationSeconds: number;
  revocationsPerSecond: number;
  /** Of `revocationSeconds`, the time until every replica answered /ping (its first sweep may run before). */
  startSeconds: number;
  deliveryFailures: number;
}

export type ReplicaThroughputResult =
  { config: ReplicaThroughputConfig; runs: ReplicaRun[] } | { config: ReplicaThroughputConfig; skipped: string };

export async function replicaThroughput(config: ReplicaThroughputConfig, log: (line: string) => void): Promise<ReplicaThroughputResult> {
  const server = await connectBenchPostgres();
  if ("skipped" in server) {
    log(`  skipped: ${server.skipped}; set BENCH_DATABASE_URL to a server to run it`);
    return { config, skipped: server.skipped };
  }
  const runs: ReplicaRun[] = [];
  try {
    for (const replicas of config.replicas) {
      const run = await server.withFreshSchema((databaseUrl) => runOnce(config, replicas, databaseUrl));
      runs.push(run);
      log(
        `  ${replicas} replica${replicas === 1 ? "" : "s"}: ${run.approvalsPerSecond} approvals/s (${run.grants} in ${run.approvalSeconds} s), ` +
          `${run.revocationsPerSecond} revocations/s (${run.revocationSeconds} s, ${run.startSeconds} s of it starting)${run.deliveryFailures ? `, ${run.deliveryFailures} deliveries failed` : ""}`,
      );
    }
  } finally {
    await server.end();
  }
  return { config, runs };
}

async function startReplicas(sim: GitHubSimulator, count: number, databaseUrl: string, secrets: number): Promise<AppProcess[]> {
  const replicas = await Promise.all(
    Array.from({ length: count }, () =>
      startAppProcess(sim, {
        catalog: benchCatalog(secrets),
        env: { ...benchSecretValues(secrets), DATABASE_URL: databaseUrl },
        sweepInterval: "5s",
        logLevel: "warn",
      }),
    ),
  );
  sim.setWebhookUrls(replicas.map((replica) => `${replica.url}/api/github/webhooks`));
  return replicas;
}

async function runOnce(config: ReplicaThroughputConfig, count: number, databaseUrl: string): Promise<ReplicaRun> {
  const sim = await startSimulator({ webhookTimeoutMs: 30 * 60_000 });
  let replicas: AppProcess[] = [];
  try {
    const secrets = 3;
    replicas = await startReplicas(sim, count, databaseUrl, secrets);
    const repos = createRepos(sim, { owners: config.grants, reposPerOwner: 1, prsPerRepo: 1 });
    const pulls = await openRequestPulls(sim, repos, 1, { duration: config.duration, deliver: false });

    let puts = 0;
    let lastPut = 0;
    let deletes = 0;
    let lastDelete = 0;
    const watch = new RequestWatch(sim, (request) => {
      if (request.status >= 300) return;
      if (request.route === ROUTES.putSecret) {
        puts++;
        lastPut = Math.max(lastPut, request.atMs);
      } else if (request.route === ROUTES.deleteSecret) {
        deletes++;
        lastDelete = Math.max(lastDelete, request.atMs);
      }
    });

    let failures = 0;
    const approvalsStart = Date.now();
    const deliveries = pulls.map((pull) =>
      sim.submitReview(pull.repo, pull.number, { reviewer: APPROVER, state: "APPROVED" }).catch(() => {
        failures++;
      }),
    );
    await watch.until(() => puts >= pulls.length, { timeoutMs: 20 * 60_000, intervalMs: 50, what: "every secret's PUT" });
    const approvalSeconds = (lastPut - approvalsStart) / 1000;
    await Promise.all(deliveries);
    // Let the comments and labels of the grants finish before the rollout.
    await sleep(2_000);

    await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")));
    replicas = [];
    const expiries = await lastExpiry(databaseUrl);
    if (expiries > Date.now()) await sleep(expiries - Date.now() + 500);
    const revocationsStart = Date.now();
    replicas = await startReplicas(sim, count, databaseUrl, secrets);
    const startSeconds = (Date.now() - revocationsStart) / 1000;
    await watch.until(() => deletes >= pulls.length, { timeoutMs: 20 * 60_000, intervalMs: 50, what: "every secret's DELETE" });
    const revocationSeconds = (lastDelete - revocationsStart) / 1000;

    return {
      replicas: count,
      grants: pulls.length,
      approvalSeconds: Number(approvalSeconds.toFixed(1)),
      approvalsPerSecond: Number((pulls.length / approvalSeconds).toFixed(1)),
      revocationSeconds: Number(revocationSeconds.toFixed(1)),
      revocationsPerSecond: Number((pulls.length / revocationSeconds).toFixed(1)),
      startSeconds: Number(startSeconds.toFixed(1)),
      deliveryFailures: failures,
    };
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")));
    await sim.close();
  }
}

/** The latest expiry of a live grant in the ledger, in epoch ms (0 when none). */
async function lastExpiry(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ last: string | null }>("SELECT max(expires_at) AS last FROM grants");
    return Number(rows[0]?.last ?? 0);
  } finally {
    await client.end();
  }
}
