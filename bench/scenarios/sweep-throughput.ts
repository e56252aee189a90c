/**
 * Scenario 3 — sweep throughput: N overdue grants revoked by one `jit-access sweep`, the CLI
 * run as cron runs it (`node dist/cli.js sweep`, its own process, a SQLite ledger file on disk),
 * against the simulator.
 *
 * GitHub's pacing allows one write a second per installation, and every revocation writes three
 * times (DELETE, comment, one label call), with comments three seconds apart, so in one
 * installation N grants take at least N seconds for the DELETEs and about N + 3·N for everything.
 * To measure the app's own throughput the grants are spread over many installations
 * (`grantsPerInstallation` each), and the same layout is run at 1,000 and 10,000 grants to see
 * how time grows. The sweep sends every DELETE before the PR feedback of any grant: the run
 * records its first comment, its last DELETE and how many DELETEs came after the first comment.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../../sim/index.js";
import { SERVER_NODE_FLAGS } from "../../sim/app-process.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { runCli } from "../lib/cli-process.js";
import { profileEnv } from "../lib/cpu-profile.js";
import { createRepos, openRequestPulls } from "../lib/fixtures.js";
import { seedGrants } from "../lib/seed-grants.js";
import { countByRoute, ROUTES } from "../lib/sim-requests.js";
import { median } from "../lib/stats.js";

export interface SweepThroughputConfig {
  sizes: number[];
  /** Grants per installation; installations = size / this. */
  grantsPerInstallation: number;
  /** Repetitions per size (the largest size runs once). */
  repeats: number;
}

export const SWEEP_THROUGHPUT_FULL: SweepThroughputConfig = { sizes: [1000, 10_000], grantsPerInstallation: 10, repeats: 2 };
export const SWEEP_THROUGHPUT_QUICK: SweepThroughputConfig = { sizes: [200, 1000], grantsPerInstallation: 10, repeats: 1 };

export interface SweepRun {
  grants: number;
  installations: number;
  wallSeconds: number;
  /** From the start of the command to its last secret DELETE: how long any secret outlived its grant. */
  deletesDoneSeconds: number;
  /** From the start of the command to its first comment (null: none). */
  firstCommentSeconds: number | null;
  /** DELETEs sent after the sweep's first comment (0: every DELETE went first). */
  deletesAfterFirstComment: number;
  grantsPerSecond: number;
  peakRssMiB: number;
  apiCalls: number;
  callsPerGrant: Record<string, number>;
  deletes: number;
  output: string;
  /** For grants the sweep left due: how many for each error the CLI printed (none when all ended). */
  stillDueBecause: Record<string, number>;
  exitCode: number | null;
}

export interface SweepThroughputResult {
  config: SweepThroughputConfig;
  runs: SweepRun[];
  bySize: {
    grants: number;
    repeats: number;
    medianWallSeconds: number;
    medianDeletesDoneSeconds: number;
    medianFirstCommentSeconds: number | null;
    /** The most DELETEs any run sent after its first comment. */
    maxDeletesAfterFirstComment: number;
    medianGrantsPerSecond: number;
    medianPeakRssMiB: number;
  }[];
  /** Wall time at the largest size over wall time at the smallest, next to the ratio of sizes. */
  growth: { sizeRatio: number; timeRatio: number };
  /**
   * The largest sweep once more, the CLI run with the V8 heap flags `npm start` gives the server
   * (`NODE_OPTIONS`), to show what they do to the sweep's peak RSS.
   */
  withServerHeapFlags: { nodeOptions: string; run: SweepRun } | null;
  /** What GitHub's pacing alone imposes in ONE installation (calculated, not run). */
  oneInstallationBound: { grants: number; deletesSeconds: number; allWritesSeconds: number };
}

export async function sweepThroughput(
  config: SweepThroughputConfig,
  log: (line: string) => void,
  options: { profileDir?: string } = {},
): Promise<SweepThroughputResult> {
  const runs: SweepRun[] = [];
  const largest = Math.max(...config.sizes);
  for (const size of config.sizes) {
    const repeats = size === largest ? 1 : config.repeats;
    for (let i = 0; i < repeats; i++) {
      const profileDir = size === largest && options.profileDir ? options.profileDir : undefined;
      const run = await sweepOnceWith(size, config.grantsPerInstallation, profileDir);
      runs.push(run);
      log(
        `  ${size} grants over ${run.installations} installations: ${run.wallSeconds} s (last DELETE at ${run.deletesDoneSeconds} s, ` +
          `first comment at ${run.firstCommentSeconds ?? "-"} s, ${run.deletesAfterFirstComment} DELETEs after it), ` +
          `${run.grantsPerSecond} grants/s, peak RSS ${run.peakRssMiB} MiB (${run.output})`,
      );
    }
  }
  let withServerHeapFlags: SweepThroughputResult["withServerHeapFlags"] = null;
  if (!options.profileDir) {
    const nodeOptions = SERVER_NODE_FLAGS.join(" ");
    const run = await sweepOnceWith(largest, config.grantsPerInstallation, undefined, { NODE_OPTIONS: nodeOptions });
    withServerHeapFlags = { nodeOptions, run };
    log(
      `  ${largest} grants, the CLI with NODE_OPTIONS="${nodeOptions}": ${run.wallSeconds} s, peak RSS ${run.peakRssMiB} MiB (${run.output})`,
    );
  }
  const bySize = config.sizes.map((grants) => {
    const mine = runs.filter((r) => r.grants === grants);
    return {
      grants,
      repeats: mine.length,
      medianWallSeconds: median(mine.map((r) => r.wallSeconds)),
      medianDeletesDoneSeconds: median(mine.map((r) => r.deletesDoneSeconds)),
      medianFirstCommentSeconds: mine.every((r) => r.firstCommentSeconds !== null) ? median(mine.map((r) => r.firstCommentSeconds!)) : null,
      maxDeletesAfterFirstComment: Math.max(...mine.map((r) => r.deletesAfterFirstComment)),
      medianGrantsPerSecond: median(mine.map((r) => r.grantsPerSecond)),
      medianPeakRssMiB: median(mine.map((r) => r.peakRssMiB)),
    };
  });
  const first = bySize[0]!;
  const last = bySize[bySize.length - 1]!;
  return {
    config,
    runs,
    bySize,
    withServerHeapFlags,
    growth: { sizeRatio: last.grants / first.grants, timeRatio: Number((last.medianWallSeconds / first.medianWallSeconds).toFixed(2)) },
    // Comments three seconds apart bound the rest: the DELETEs, then a comment every 3 s (the
    // label writes go in the seconds between).
    oneInstallationBound: { grants: largest, deletesSeconds: largest, allWritesSeconds: largest + 3 * largest },
  };
}

async function sweepOnceWith(
  grants: number,
  perInstallation: number,
  profileDir: string | undefined,
  env: Record<string, string> = {},
): Promise<SweepRun> {
  const installations = Math.ceil(grants / perInstallation);
  const seedDir = mkdtempSync(join("/dev/shm", "jit-bench-seed-"));
  const runDir = mkdtempSync(join(tmpdir(), "jit-bench-sweep-"));
  const sim = await startSimulator();
  try {
    const repos = createRepos(sim, { owners: installations, reposPerOwner: 1, prsPerRepo: perInstallation });
    const pulls = (await openRequestPulls(sim, repos, perInstallation, { duration: "1h", deliver: false })).slice(0, grants);
    // Seeding writes two transactions a grant; on tmpfs that takes seconds instead of minutes.
    // The sweep then runs on a copy on disk, with synchronous=FULL as in production.
    const seeded = join(seedDir, "ledger.db");
    const store = await openLedger(`sqlite:${seeded}`);
    const overdueSince = Date.now() - 60_000;
    await seedGrants(sim, store, pulls, (i) => overdueSince + i);
    await store.close();
    const ledger = join(runDir, "ledger.db");
    copyFileSync(seeded, ledger);

    const mark = sim.requests.length;
    const startedAt = Date.now();
    const cli = await runCli(sim, ["sweep"], { DATABASE_URL: `sqlite:${ledger}`, ...(profileDir ? profileEnv(profileDir) : {}), ...env });
    const requests = sim.requests.slice(mark);
    const calls = countByRoute(requests);
    const deleteTimes = requests.filter((r) => r.route === ROUTES.deleteSecret).map((r) => r.atMs);
    const lastDelete = Math.max(...deleteTimes);
    const firstComment = Math.min(...requests.filter((r) => r.route === ROUTES.createComment).map((r) => r.atMs));
    return {
      grants: pulls.length,
      installations,
      wallSeconds: cli.wallSeconds,
      deletesDoneSeconds: Number(((lastDelete - startedAt) / 1000).toFixed(1)),
      firstCommentSeconds: Number.isFinite(firstComment) ? Number(((firstComment - startedAt) / 1000).toFixed(1)) : null,
      deletesAfterFirstComment: deleteTimes.filter((at) => at > firstComment).length,
      grantsPerSecond: Number((pulls.length / cli.wallSeconds).toFixed(1)),
      peakRssMiB: cli.peakRssMiB,
      apiCalls: requests.length,
      callsPerGrant: Object.fromEntries(Object.entries(calls).map(([route, n]) => [route, Number((n / pulls.length).toFixed(3))])),
      deletes: calls[ROUTES.deleteSecret] ?? 0,
      output: cli.stdout.trim().split("\n").pop() || cli.stderr.trim().slice(0, 500),
      stillDueBecause: stillDueReasons(cli.stderr),
      exitCode: cli.exitCode,
    };
  } finally {
    await sim.close();
    rmSync(seedDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** The CLI's `still due: grant … (N failed: ERROR)` lines on stderr, counted by ERROR. */
function stillDueReasons(stderr: string): Record<string, number> {
  const reasons: Record<string, number> = {};
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("still due:")) continue;
    const why = /\(\d+ failed: (.*)\)(?:; next attempt|$)/u.exec(line)?.[1] ?? "no attempt recorded";
    reasons[why] = (reasons[why] ?? 0) + 1;
  }
  return reasons;
}
