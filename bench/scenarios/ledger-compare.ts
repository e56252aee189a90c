/**
 * Scenario 6 — SQLite versus PostgreSQL, one app process (`node dist/main.js`), same machine,
 * same run, the ledger the only difference:
 *
 * - approval → PUT: scenario 1's many-installation workload (approvals at a fixed rate, each
 *   repository in its own installation so GitHub's write pacing holds nothing), once per ledger,
 *   at 2 a second: a rate a loaded machine keeps up with, so the figure is a grant's latency
 *   rather than a queue's;
 * - a delivery's answer under a burst: `burst` signed deliveries (copies of one
 *   `pull_request_review` delivery on a request pull request, a comment review, each with its own
 *   X-GitHub-Delivery id) posted at once; each one's time from the POST to its answer (202 once
 *   the inbox holds it) is measured at the client. The inbox processes them as it would a real
 *   burst: 8 at a time, starting none while deliveries are being recorded (for at most 2 s).
 *
 * The simulator runs in this process, so the client's timings include its work for the app's
 * reads. PostgreSQL: a fresh schema of `BENCH_DATABASE_URL` (see bench/lib/postgres.ts); without
 * a server the PostgreSQL half is skipped with one line saying why.
 */
import { randomUUID } from "node:crypto";
import { startAppProcess } from "../../sim/app-process.js";
import { signBody, startSimulator } from "../../sim/index.js";
import { APPROVER, benchCatalog, benchSecretValues, createRepos, openRequestPulls } from "../lib/fixtures.js";
import { connectBenchPostgres } from "../lib/postgres.js";
import { distribution, rounded, type Distribution } from "../lib/stats.js";
import { approvalLatencyOn, type ApprovalLatencyConfig, type RunResult } from "./approval-latency.js";

export interface LedgerCompareConfig {
  approvals: ApprovalLatencyConfig;
  /** Deliveries posted at once. */
  burst: number;
}

export const LEDGER_COMPARE_FULL: LedgerCompareConfig = {
  approvals: { grants: 60, repos: 30, approvalsPerSecond: 2, repeats: 1 },
  burst: 500,
};
export const LEDGER_COMPARE_QUICK: LedgerCompareConfig = {
  approvals: { grants: 20, repos: 10, approvalsPerSecond: 2, repeats: 1 },
  burst: 200,
};

export interface BurstResult {
  deliveries: number;
  /** POST → answer, at the client. */
  answerMs: Distribution;
  /** First POST → last answer. */
  wallSeconds: number;
  /** Answers by status; every one should be 202. */
  statuses: Record<string, number>;
}

export interface LedgerRun {
  approvalToPut: RunResult;
  burst: BurstResult;
}

export interface LedgerCompareResult {
  config: LedgerCompareConfig;
  sqlite: LedgerRun;
  postgres: LedgerRun | { skipped: string };
}

export async function ledgerCompare(config: LedgerCompareConfig, log: (line: string) => void): Promise<LedgerCompareResult> {
  const sqlite = await runOn(null, config);
  log(`  SQLite:     ${describe(sqlite)}`);
  const server = await connectBenchPostgres();
  if ("skipped" in server) {
    log(`  PostgreSQL: skipped: ${server.skipped}; set BENCH_DATABASE_URL to a server to run it`);
    return { config, sqlite, postgres: { skipped: server.skipped } };
  }
  try {
    const postgres: LedgerRun = {
      approvalToPut: await server.withFreshSchema((url) => approvalLatencyOn(url, config.approvals)),
      burst: await server.withFreshSchema((url) => burstOn(url, config.burst)),
    };
    log(`  PostgreSQL: ${describe(postgres)}`);
    return { config, sqlite, postgres };
  } finally {
    await server.end();
  }
}

async function runOn(databaseUrl: string | null, config: LedgerCompareConfig): Promise<LedgerRun> {
  return { approvalToPut: await approvalLatencyOn(databaseUrl, config.approvals), burst: await burstOn(databaseUrl, config.burst) };
}

/** Posts `count` signed deliveries at once to one app process and times each answer. */
async function burstOn(databaseUrl: string | null, count: number): Promise<BurstResult> {
  const sim = await startSimulator({ webhookTimeoutMs: 30 * 60_000 });
  const app = await startAppProcess(sim, {
    catalog: benchCatalog(3),
    env: { ...benchSecretValues(3), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
    sweepInterval: "1h",
    logLevel: "warn",
  });
  try {
    const [pull] = await openRequestPulls(sim, createRepos(sim, { owners: 1, reposPerOwner: 1, prsPerRepo: 1 }), 1, {
      duration: "1h",
      deliver: false,
    });
    await sim.submitReview(pull!.repo, pull!.number, { reviewer: APPROVER, state: "COMMENTED", deliver: false });
    const template = sim.deliveries.at(-1)!;
    const signature = signBody(sim.webhookSecret, template.body);
    const url = `${app.url}/api/github/webhooks`;
    const statuses: Record<string, number> = {};
    const started = performance.now();
    const times = await Promise.all(
      Array.from({ length: count }, async () => {
        const t0 = performance.now();
        let status: string;
        try {
          const response = await fetch(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "user-agent": "GitHub-Hookshot/bench",
              "x-github-event": template.event,
              "x-github-delivery": randomUUID(),
              "x-hub-signature-256": signature,
            },
            body: template.body,
          });
          await response.arrayBuffer();
          status = String(response.status);
        } catch {
          status = "connection failed";
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        return performance.now() - t0;
      }),
    );
    return {
      deliveries: count,
      answerMs: rounded(distribution(times)),
      wallSeconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      statuses,
    };
  } finally {
    // The inbox may still be working through the burst; the ledger is thrown away.
    await app.stop("SIGKILL");
    await sim.close();
  }
}

function describe(run: LedgerRun): string {
  const a = run.approvalToPut.latencyMs;
  const b = run.burst.answerMs;
  const statuses = Object.entries(run.burst.statuses)
    .map(([status, n]) => `${n}× ${status}`)
    .join(", ");
  return (
    `approval → PUT p50 ${a.p50} ms, p99 ${a.p99} ms, max ${a.max} ms (${a.n}); ` +
    `burst of ${run.burst.deliveries}: answer p50 ${b.p50} ms, p90 ${b.p90} ms, p99 ${b.p99} ms, max ${b.max} ms (${statuses}, ${run.burst.wallSeconds} s)`
  );
}
