/**
 * GitHub Actions workflow runs, as far as custom deployment protection rules see them: a run
 * whose jobs target environments gated by an app's rule waits (`status: waiting`) until every
 * such app has answered for every such environment; one rejection fails the run. A re-run is a
 * new attempt, by whoever re-ran it (`triggering_actor`), started afresh (`run_started_at`), and
 * waits for the rules again.
 */
import { GitHubError } from "../server/github-error.js";
import type { SimState } from "./state.js";
import type { SimCustomRule, SimEnvironment, SimRepo, SimWorkflowRun } from "./types.js";

export interface StartRunInput {
  /** Who started the run (`actor`, and `triggering_actor` of its first attempt). */
  actor: string;
  /** Environments the run's jobs target; each must exist. */
  environments: string[];
  /** Default `.github/workflows/deploy.yml`. */
  path?: string;
  /** Default: the repository's default branch; its tip is the run's head. */
  branch?: string;
  /** Default `workflow_dispatch`. */
  event?: string;
  /** Default: the workflow file's name without extension. */
  name?: string;
}

export function startRun(state: SimState, repo: SimRepo, input: StartRunInput): SimWorkflowRun {
  const branch = input.branch ?? repo.defaultBranch;
  const headSha = repo.branches.get(branch);
  if (headSha === undefined) throw new Error(`Unknown branch "${branch}" in ${repo.fullName}.`);
  const environments = input.environments.map((name) => state.requireEnvironment(repo, name).name);
  const path = input.path ?? ".github/workflows/deploy.yml";
  const now = state.timestamp();
  const actor = state.ensureAccount(input.actor).login;
  const run: SimWorkflowRun = {
    id: state.nextId("workflowRun"),
    name: input.name ?? (path.split("/").at(-1) ?? path).replace(/\.ya?ml$/u, ""),
    path,
    workflowId: workflowIdFor(repo, path, state),
    checkSuiteId: state.nextId("checkSuite"),
    headBranch: branch,
    headSha,
    event: input.event ?? "workflow_dispatch",
    runNumber: repo.nextRunNumber++,
    runAttempt: 1,
    actorLogin: actor,
    triggeringActorLogin: actor,
    status: "queued",
    conclusion: null,
    createdAt: now,
    updatedAt: now,
    runStartedAt: now,
    environments,
    pending: new Map(),
    reviews: [],
  };
  repo.workflowRuns.set(run.id, run);
  beginAttempt(state, repo, run);
  return run;
}

/** Re-runs a completed run: a new attempt by `by`, waiting for the rules again. */
export function rerun(state: SimState, repo: SimRepo, run: SimWorkflowRun, by: string): void {
  if (run.status !== "completed") throw new Error(`Run ${run.id} is ${run.status}; only a completed run can be re-run.`);
  run.runAttempt += 1;
  run.triggeringActorLogin = state.ensureAccount(by).login;
  run.runStartedAt = state.timestamp();
  run.conclusion = null;
  beginAttempt(state, repo, run);
}

/** Ends a run that is not waiting (its jobs finished), e.g. before a re-run. */
export function completeRun(state: SimState, run: SimWorkflowRun, conclusion: "success" | "failure" | "cancelled"): void {
  run.status = "completed";
  run.conclusion = conclusion;
  run.pending.clear();
  run.updatedAt = state.timestamp();
}

/**
 * An app's answer for one environment of the run's current attempt, as `POST
 * /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` gives it. A comment
 * alone is recorded and decides nothing. An app whose rule the job is not waiting for (not
 * enabled there, answered already, the run no longer waiting) gets 422.
 */
export function reviewRun(
  state: SimState,
  run: SimWorkflowRun,
  appId: number,
  environmentName: string,
  decision: { state: "approved" | "rejected" | null; comment: string | null },
): void {
  const pending = run.pending.get(environmentName.toLowerCase());
  if (run.status !== "waiting" || pending === undefined || !pending.waitingFor.has(appId)) {
    throw new GitHubError(
      422,
      `No pending deployment protection rule of this app for environment ${environmentName} in this workflow run.`,
    );
  }
  run.reviews.push({
    attempt: run.runAttempt,
    environment: pending.environment,
    appId,
    state: decision.state,
    comment: decision.comment,
    at: state.timestamp(),
  });
  run.updatedAt = state.timestamp();
  if (decision.state === null) return;
  if (decision.state === "rejected") {
    completeRun(state, run, "failure");
    return;
  }
  pending.waitingFor.delete(appId);
  if (pending.waitingFor.size === 0) run.pending.delete(environmentName.toLowerCase());
  if (run.pending.size === 0) run.status = "in_progress";
}

/** The rules of `environment` by app id. */
export function rulesOf(environment: SimEnvironment): SimCustomRule[] {
  return [...environment.customRules.values()].sort((a, b) => a.id - b.id);
}

/** Enables an app as a custom deployment protection rule of `environment`; 422 when it already is one. */
export function enableRule(state: SimState, environment: SimEnvironment, app: { id: number; slug: string }): SimCustomRule {
  if (rulesOf(environment).some((rule) => rule.appId === app.id)) {
    throw new GitHubError(422, `The app ${app.slug} is already a deployment protection rule of environment ${environment.name}.`);
  }
  const rule: SimCustomRule = { id: state.nextId("protectionRule"), appId: app.id, appSlug: app.slug };
  environment.customRules.set(rule.id, rule);
  return rule;
}

/** The attempt's jobs wait for every custom rule of their environments; without any, the run goes on. */
function beginAttempt(state: SimState, repo: SimRepo, run: SimWorkflowRun): void {
  run.pending.clear();
  for (const name of run.environments) {
    const environment = state.environment(repo, name);
    if (environment === undefined) continue;
    const apps = new Set(rulesOf(environment).map((rule) => rule.appId));
    if (apps.size === 0) continue;
    run.pending.set(name.toLowerCase(), { environment: environment.name, deploymentId: state.nextId("deployment"), waitingFor: apps });
  }
  run.status = run.pending.size > 0 ? "waiting" : "in_progress";
  run.updatedAt = state.timestamp();
}

/** One workflow id per workflow file of a repository. */
function workflowIdFor(repo: SimRepo, path: string, state: SimState): number {
  for (const other of repo.workflowRuns.values()) if (other.path === path) return other.workflowId;
  return state.nextId("workflow");
}
