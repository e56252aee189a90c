import type { ApprovalLatencyResult } from "../scenarios/approval-latency.js";
import type { LedgerCompareResult, LedgerRun } from "../scenarios/ledger-compare.js";
import type { PeerThrottlingResult } from "../scenarios/peer-throttling.js";
import type { ReplicaThroughputResult } from "../scenarios/replica-throughput.js";
import type { RevocationLagResult } from "../scenarios/revocation-lag.js";
import type { SweepThroughputResult } from "../scenarios/sweep-throughput.js";
import type { ValidationThroughputResult } from "../scenarios/validation-throughput.js";
import { MINIMUM_GRANT_CALLS, minimumTotal, NOT_PER_GRANT } from "./minimum-calls.js";
import type { Distribution } from "./stats.js";

/** The console summary at the end of a run: the same figures as the JSON, as tables. */
export function printSummary(scenarios: Record<string, unknown>): void {
  const approval = scenarios["approval-latency"] as ApprovalLatencyResult | undefined;
  const lag = scenarios["revocation-lag"] as RevocationLagResult | undefined;
  const sweep = scenarios["sweep-throughput"] as SweepThroughputResult | undefined;
  const validation = scenarios["validation-throughput"] as ValidationThroughputResult | undefined;
  const replicas = scenarios["replica-throughput"] as ReplicaThroughputResult | undefined;
  const ledgers = scenarios["ledger-compare"] as LedgerCompareResult | undefined;
  const peer = scenarios["peer-throttling"] as PeerThrottlingResult | undefined;
  console.log("Summary");
  if (approval) printApproval(approval);
  if (lag) printLag(lag);
  if (sweep) printSweep(sweep);
  if (validation) printValidation(validation);
  if (replicas) printReplicas(replicas);
  if (ledgers) printLedgers(ledgers);
  if (peer) printPeer(peer);
}

function printLedgers(r: LedgerCompareResult): void {
  const runs: [string, LedgerRun | { skipped: string }][] = [
    ["SQLite", r.sqlite],
    ["PostgreSQL", r.postgres],
  ];
  table(
    `SQLite versus PostgreSQL (ms): approval → PUT (${r.config.approvals.grants} grants), answer to a delivery in a burst of ${r.config.burst}`,
    ["ledger", "PUT p50", "PUT p99", "PUT max", "answer p50", "answer p90", "answer p99", "answer max"],
    runs.map(([name, run]) =>
      "skipped" in run
        ? [name, `skipped: ${run.skipped}`, "", "", "", "", "", ""]
        : [
            name,
            String(run.approvalToPut.latencyMs.p50),
            String(run.approvalToPut.latencyMs.p99),
            String(run.approvalToPut.latencyMs.max),
            String(run.burst.answerMs.p50),
            String(run.burst.answerMs.p90),
            String(run.burst.answerMs.p99),
            String(run.burst.answerMs.max),
          ],
    ),
  );
}

function printPeer(r: PeerThrottlingResult): void {
  const { installations, grantsPerInstallation, extrapolateTo } = r.config.burst;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  table(
    "The peer, side by side (ratio: the peer / ours)",
    ["figure", "ours", "peer", "ratio"],
    [
      [
        `expiry → last DELETE, ${installations} × ${grantsPerInstallation} at once (measured)`,
        s(r.burst.ours.lastDeleteMs),
        s(r.burst.stock.lastDeleteMs),
        String(r.burst.measuredRatio),
      ],
      [
        `expiry → last DELETE, ${installations} × ${extrapolateTo} (computed)`,
        s(r.burst.ours.extrapolatedLastDeleteMs),
        s(r.burst.stock.extrapolatedLastDeleteMs),
        String(r.burst.extrapolatedRatio),
      ],
      [
        `expiry → DELETE behind ${r.config.queuedComments} queued comments`,
        `${r.queued.ours.lagMs} ms`,
        `${r.queued.stock.lagMs} ms`,
        String(r.queued.ratio),
      ],
      [
        `approval → PUT p50 at ${r.approval.latencyMs} ms, sequential reads as the peer`,
        `${r.approval.ours.latencyMs.p50} ms`,
        `${r.approval.sequentialReads.latencyMs.p50} ms`,
        String(r.approval.ratioP50),
      ],
    ],
  );
}

function printReplicas(r: ReplicaThroughputResult): void {
  if ("skipped" in r) {
    console.log(`\nReplicas on PostgreSQL: skipped, ${r.skipped}`);
    return;
  }
  table(
    `Replicas on PostgreSQL (${r.config.grants} grants, one per installation)`,
    ["replicas", "approvals/s", "revocations/s"],
    r.runs.map((run) => [String(run.replicas), String(run.approvalsPerSecond), String(run.revocationsPerSecond)]),
  );
}

function printApproval(r: ApprovalLatencyResult): void {
  const m = r.manyInstallations;
  table(
    "Approval → PUT (ms)",
    ["layout", "runs", "p50", "p99", "max"],
    [
      [`${r.config.repos} installations`, String(m.runs.length), String(m.medianP50Ms), String(m.medianP99Ms), String(m.medianMaxMs)],
      ["1 installation", "1", ...ms(r.oneInstallation.latencyMs)],
      [
        `${r.config.repos} installations, ${r.atLatency.latencyMs} ± ${r.atLatency.jitterMs} ms a request (target p50 ≤ ${r.atLatency.targetP50Ms})`,
        "1",
        ...ms(r.atLatency.result.latencyMs),
      ],
    ],
  );
  const trips = r.atLatency.result.sequentialRoundTrips;
  if (trips) console.log(`  sequential round trips before the PUT, per grant: p50 ${trips.p50}, max ${trips.max} (target ≤ 3)`);
  const rows = MINIMUM_GRANT_CALLS.map((call) => [call.route, String(r.calls.warm[call.route] ?? 0), String(call.count)]);
  for (const route of Object.keys(NOT_PER_GRANT))
    rows.push([route, `${r.calls.warm[route] ?? 0} (cold: ${r.calls.cold[route] ?? 0})`, "0"]);
  rows.push(["total", `${r.calls.warmTotal} (cold: ${r.calls.coldTotal})`, String(minimumTotal())]);
  table("Calls per grant (warm)", ["operation", "measured", "needed"], rows);
}

function printLag(r: RevocationLagResult): void {
  const on = r.timersOn;
  table(
    `Expiry → DELETE (ms), ${r.config.grants} grants`,
    ["mode", "runs", "p50", "p99", "max"],
    [
      ["timers on", String(on.runs.length), String(on.medianP50Ms), String(on.medianP99Ms), String(on.medianMaxMs)],
      [`timers off (sweep every ${r.config.sweepIntervalSeconds} s)`, "1", ...ms(r.timersOff.lagMs)],
    ],
  );
}

function printSweep(r: SweepThroughputResult): void {
  table(
    "jit-access sweep",
    ["grants", "runs", "wall s", "last DELETE s", "first comment s", "DELETEs after it", "grants/s", "peak RSS MiB"],
    r.bySize.map((s) => [
      String(s.grants),
      String(s.repeats),
      String(s.medianWallSeconds),
      String(s.medianDeletesDoneSeconds),
      String(s.medianFirstCommentSeconds ?? "-"),
      String(s.maxDeletesAfterFirstComment),
      String(s.medianGrantsPerSecond),
      String(s.medianPeakRssMiB),
    ]),
  );
  console.log(
    `  ${r.growth.sizeRatio}× the grants took ${r.growth.timeRatio}× the time; in one installation ${r.oneInstallationBound.grants} grants need ≥ ${r.oneInstallationBound.deletesSeconds} s of DELETEs and ≥ ${r.oneInstallationBound.allWritesSeconds} s of writes in all`,
  );
}

function printValidation(r: ValidationThroughputResult): void {
  table(
    "Validation",
    ["runs", "PRs/s", "latency p50 ms", "p99 ms", "idle RSS MiB", "settled RSS MiB"],
    [
      [
        String(r.runs.length),
        String(r.medianPullsPerSecond),
        String(r.medianLatencyP50Ms),
        String(r.medianLatencyP99Ms),
        String(r.medianIdleRssMiB),
        String(r.medianSettledRssMiB),
      ],
    ],
  );
}

function ms(d: Distribution): string[] {
  return [String(d.p50), String(d.p99), String(d.max)];
}

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}`;
  console.log(`\n  ${title}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}
