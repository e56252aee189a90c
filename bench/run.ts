/**
 * `npm run bench`: jit-access against the local GitHub simulator on loopback. Builds first (the
 * npm script), then runs every scenario, prints a summary and writes the figures with the
 * machine, Node version, date and command to bench/results/latest.json.
 *
 *   npm run bench                                  all scenarios, full size (about 19 minutes on 2 cores)
 *   npm run bench -- --quick                       smaller sizes, one repetition (about 9 minutes)
 *   npm run bench -- --scenario revocation-lag     one scenario (combine with --quick)
 *                                                  (replica-throughput needs PostgreSQL: BENCH_DATABASE_URL,
 *                                                  else TEST_DATABASE_URL or the local server; skipped without;
 *                                                  ledger-compare runs its PostgreSQL half only with one;
 *                                                  peer-throttling takes about 3 minutes, 2 with --quick)
 *   npm run bench -- --profile DIR                 also CPU-profile the app in scenarios 1 and 4 and the CLI
 *                                                  in the largest sweep; summaries go into the results
 *   npm run bench -- --out FILE                    where to write the results
 *
 * A run with --quick, --scenario or --profile writes bench/results/partial.tmp unless --out is
 * given, so latest.json always holds a full, unprofiled run. Benchmarks never assert anything.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { newestProfile, summariseProfile, type ProfileSummary } from "./lib/cpu-profile.js";
import { machineInfo } from "./lib/machine.js";
import { printSummary } from "./lib/report.js";
import { APPROVAL_LATENCY_FULL, APPROVAL_LATENCY_QUICK, approvalLatency } from "./scenarios/approval-latency.js";
import { LEDGER_COMPARE_FULL, LEDGER_COMPARE_QUICK, ledgerCompare } from "./scenarios/ledger-compare.js";
import { PEER_THROTTLING_FULL, PEER_THROTTLING_QUICK, peerThrottling } from "./scenarios/peer-throttling.js";
import { REPLICA_THROUGHPUT_FULL, REPLICA_THROUGHPUT_QUICK, replicaThroughput } from "./scenarios/replica-throughput.js";
import { REVOCATION_LAG_FULL, REVOCATION_LAG_QUICK, revocationLag } from "./scenarios/revocation-lag.js";
import { SWEEP_THROUGHPUT_FULL, SWEEP_THROUGHPUT_QUICK, sweepThroughput } from "./scenarios/sweep-throughput.js";
import { VALIDATION_THROUGHPUT_FULL, VALIDATION_THROUGHPUT_QUICK, validationThroughput } from "./scenarios/validation-throughput.js";

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results");

interface Options {
  quick: boolean;
  scenario: string | null;
  profileDir: string | null;
  out: string | null;
}

type Scenario = (options: Options, log: (line: string) => void) => Promise<{ result: unknown; profile?: ProfileSummary | null }>;

const SCENARIOS: Record<string, { title: string; run: Scenario }> = {
  "approval-latency": {
    title: "1. Approval → secret written (app process)",
    run: async (o, log) => {
      const dir = profileSubdir(o, "approval-latency");
      const result = await approvalLatency(o.quick ? APPROVAL_LATENCY_QUICK : APPROVAL_LATENCY_FULL, log, dir ? { profileDir: dir } : {});
      return { result, profile: dir ? summary(dir) : null };
    },
  },
  "revocation-lag": {
    title: "2. Revocation lag: expiry → DELETE (in-process)",
    run: async (o, log) => ({ result: await revocationLag(o.quick ? REVOCATION_LAG_QUICK : REVOCATION_LAG_FULL, log) }),
  },
  "sweep-throughput": {
    title: "3. Sweep throughput: jit-access sweep (CLI process)",
    run: async (o, log) => {
      const dir = profileSubdir(o, "sweep-throughput");
      const result = await sweepThroughput(o.quick ? SWEEP_THROUGHPUT_QUICK : SWEEP_THROUGHPUT_FULL, log, dir ? { profileDir: dir } : {});
      return { result, profile: dir ? summary(dir) : null };
    },
  },
  "validation-throughput": {
    title: "4. Validation throughput and memory (app process)",
    run: async (o, log) => {
      const dir = profileSubdir(o, "validation-throughput");
      const result = await validationThroughput(
        o.quick ? VALIDATION_THROUGHPUT_QUICK : VALIDATION_THROUGHPUT_FULL,
        log,
        dir ? { profileDir: dir } : {},
      );
      return { result, profile: dir ? summary(dir) : null };
    },
  },
  "replica-throughput": {
    title: "5. Replicas on PostgreSQL: approvals and revocations per second, 1 and 3 app processes",
    run: async (o, log) => ({ result: await replicaThroughput(o.quick ? REPLICA_THROUGHPUT_QUICK : REPLICA_THROUGHPUT_FULL, log) }),
  },
  "ledger-compare": {
    title: "6. SQLite versus PostgreSQL: approval → PUT, and a delivery's answer under a burst (app process)",
    run: async (o, log) => ({ result: await ledgerCompare(o.quick ? LEDGER_COMPARE_QUICK : LEDGER_COMPARE_FULL, log) }),
  },
  "peer-throttling": {
    title: "7. The peer, side by side: our pacing against Probot's stock throttling, and against sequential reads",
    run: async (o, log) => ({ result: await peerThrottling(o.quick ? PEER_THROTTLING_QUICK : PEER_THROTTLING_FULL, log) }),
  },
};

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, scenario: null, profileDir: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--scenario") options.scenario = value();
    else if (arg === "--profile") options.profileDir = resolve(value());
    else if (arg === "--out") options.out = resolve(value());
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.scenario !== null && !(options.scenario in SCENARIOS)) {
    throw new Error(`unknown scenario "${options.scenario}"; one of: ${Object.keys(SCENARIOS).join(", ")}`);
  }
  return options;
}

function profileSubdir(options: Options, name: string): string | null {
  if (!options.profileDir) return null;
  const dir = join(options.profileDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function summary(dir: string): ProfileSummary | null {
  const file = newestProfile(dir);
  return file ? summariseProfile(file) : null;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const started = new Date();
  const machine = machineInfo();
  const loadAtStart = Number(loadavg()[0]!.toFixed(2));
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
  console.log(`jit-access benchmarks — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  console.log(`${command} (${options.quick ? "quick" : "full"} sizes), started ${started.toISOString()}\n`);

  const names = options.scenario ? [options.scenario] : Object.keys(SCENARIOS);
  const scenarios: Record<string, unknown> = {};
  const profiles: Record<string, ProfileSummary> = {};
  for (const name of names) {
    const { title, run } = SCENARIOS[name]!;
    const t0 = performance.now();
    console.log(title);
    const { result, profile } = await run(options, (line) => console.log(line));
    scenarios[name] = { ...(result as object), seconds: Math.round((performance.now() - t0) / 1000) };
    if (profile) profiles[name] = profile;
    console.log(`  (${Math.round((performance.now() - t0) / 1000)} s)\n`);
  }

  const report = {
    date: started.toISOString(),
    command,
    mode: options.quick ? "quick" : "full",
    machine,
    /** 1-minute load average at the start and end: other work on the machine skews the figures. */
    loadAverage: { start: loadAtStart, end: Number(loadavg()[0]!.toFixed(2)) },
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    scenarios,
    ...(Object.keys(profiles).length > 0 ? { profiles } : {}),
  };
  const partial = options.quick || options.scenario !== null || options.profileDir !== null;
  const out = options.out ?? join(RESULTS, partial ? "partial.tmp" : "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(report.scenarios);
  console.log(`\nresults: ${out} (${report.durationSeconds} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
