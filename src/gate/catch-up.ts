/**
 * The gate does not rely on deliveries alone: a job that waited while the app was down (or
 * whose delivery failed) would wait up to 30 days. At start-up and then periodically, for every
 * installation and every repository it can see, the runs that wait (`GET …/actions/runs?status=waiting`,
 * at most `maxPages` pages of 100 per repository) are looked at: for each environment a run waits
 * on (`…/pending_deployments`) where this app is an enabled custom deployment protection rule
 * (`…/environments/{env}/deployment_protection_rules`), the job is decided and answered as a
 * delivery would have it (`reviewWaitingJob`, idempotent: a job answered already is not
 * answered again). A repository idle of waiting runs costs one call.
 */
import { GateClient, type WorkflowRunInfo } from "../github/gate-client.js";
import type { AppOctokit } from "../github/repo-client.js";
import { LedgerClosedError } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { PeriodicPass } from "../util/periodic-pass.js";
import { asciiLower } from "../util/ascii-case.js";
import type { GateRepository } from "./gather-gate.js";
import { reviewWaitingJob, type GateDeps } from "./review-waiting-job.js";
import { errorSummary } from "../util/error-message.js";
import { appInstallations, installationRepositories } from "../github/app-client.js";

export interface CatchUpDeps extends GateDeps, Pick<LifecycleDeps, "octokitFor"> {
  /** This app's id: a rule of another app is none of the gate's business. */
  appId: number;
  /** The app itself (JWT): lists the installations. */
  appOctokit(): Promise<AppOctokit>;
}

export interface CatchUpReport {
  installations: number;
  repositories: number;
  /** Runs found waiting, over every repository. */
  waitingRuns: number;
  /** Jobs decided and answered by this pass. */
  answered: number;
  /** Jobs found answered already (a delivery came first). */
  alreadyAnswered: number;
  /** Repositories with more waiting runs than one pass reads; the next pass reads them again. */
  incomplete: string[];
  /** What could not be read or answered; nothing there was changed, and the next pass tries again. */
  failures: { what: string; error: string }[];
}

/** Pages of 100 waiting runs read per repository and pass. */
export const MAX_WAITING_PAGES = 3;
/** How often the catch-up runs while the server runs, after the one at start-up. */
export const CATCH_UP_INTERVAL_MS = 10 * 60_000;

export async function catchUpWaitingJobs(
  deps: CatchUpDeps,
  log: Log,
  options: { maxPages?: number; signal?: AbortSignal } = {},
): Promise<CatchUpReport> {
  const report: CatchUpReport = {
    installations: 0,
    repositories: 0,
    waitingRuns: 0,
    answered: 0,
    alreadyAnswered: 0,
    incomplete: [],
    failures: [],
  };
  const app = await deps.appOctokit();
  const installations = await appInstallations(app);
  report.installations = installations.length;
  for (const { id: installationId } of installations) {
    if (options.signal?.aborted) break;
    let octokit: AppOctokit;
    let repositories: GateRepository[];
    try {
      octokit = await deps.octokitFor(installationId);
      repositories = await installationRepositories(octokit);
    } catch (error) {
      report.failures.push({ what: `installation ${installationId}`, error: errorSummary(error) });
      continue;
    }
    report.repositories += repositories.length;
    for (const repository of repositories) {
      if (options.signal?.aborted) break;
      try {
        await catchUpRepository(
          deps,
          octokit,
          installationId,
          repository,
          report,
          log,
          options.maxPages ?? MAX_WAITING_PAGES,
          options.signal,
        );
      } catch (error) {
        if (error instanceof LedgerClosedError) throw error;
        report.failures.push({ what: `${repository.owner}/${repository.name}`, error: errorSummary(error) });
      }
    }
  }
  return report;
}

async function catchUpRepository(
  deps: CatchUpDeps,
  octokit: AppOctokit,
  installationId: number,
  repository: GateRepository,
  report: CatchUpReport,
  log: Log,
  maxPages: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const fullName = `${repository.owner}/${repository.name}`;
  const gate = new GateClient(octokit, repository.owner, repository.name);
  const { runs, complete } = await gate.waitingRuns(maxPages);
  if (!complete) report.incomplete.push(fullName);
  report.waitingRuns += runs.length;
  if (runs.length === 0) return;
  const gatedHere = new Map<string, Promise<boolean>>();
  const isGated = (environment: string): Promise<boolean> => {
    const key = asciiLower(environment);
    let answer = gatedHere.get(key);
    if (answer === undefined) {
      answer = gate.protectionRules(environment).then((rules) => (rules ?? []).some((rule) => rule.appId === deps.appId && rule.enabled));
      gatedHere.set(key, answer);
    }
    return answer;
  };
  for (const run of runs) {
    if (signal?.aborted) return;
    for (const environment of await gate.pendingEnvironments(run.id)) {
      if (!(await isGated(environment))) continue;
      await answerJob(deps, octokit, installationId, repository, environment, run, report, log);
    }
  }
}

async function answerJob(
  deps: CatchUpDeps,
  octokit: AppOctokit,
  installationId: number,
  repository: GateRepository,
  environment: string,
  run: WorkflowRunInfo,
  report: CatchUpReport,
  log: Log,
): Promise<void> {
  try {
    const outcome = await reviewWaitingJob(
      deps,
      octokit,
      { installationId, repository, environment, runId: run.id, trigger: "catch-up" },
      log,
      { run },
    );
    if (outcome.kind === "already-answered") report.alreadyAnswered++;
    else report.answered++;
  } catch (error) {
    if (error instanceof LedgerClosedError) throw error;
    report.failures.push({ what: `${repository.owner}/${repository.name} run ${run.id} in ${environment}`, error: errorSummary(error) });
  }
}

/**
 * Runs the catch-up at start and every `intervalMs` after the previous pass ended, one pass at a
 * time. `stop()` lets a pass under way finish the job it is answering and start no other.
 */
export class GateCatchUp extends PeriodicPass {
  constructor(deps: CatchUpDeps, log: Log, intervalMs = CATCH_UP_INTERVAL_MS) {
    super(deps.clock, intervalMs, async (signal) => {
      try {
        const report = await catchUpWaitingJobs(deps, log, { signal });
        const summary = { ...report, incomplete: report.incomplete.length, failures: report.failures.length };
        if (report.failures.length > 0)
          log.warn({ ...summary, first: report.failures[0] }, "gate catch-up: some runs could not be looked at; the next pass tries again");
        else if (report.answered > 0 || report.waitingRuns > 0) log.info(summary, "gate catch-up done");
        else log.debug(summary, "gate catch-up done");
      } catch (error) {
        if (!(error instanceof LedgerClosedError))
          log.warn({ error: errorSummary(error) }, "gate catch-up failed; the next pass tries again");
      }
    });
  }
}
