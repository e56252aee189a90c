import { type AppOctokit } from "./repo-client.js";
import { statusOf } from "./github-failure.js";

/**
 * The workflow gate's calls to GitHub for one repository of one installation: a workflow run,
 * the runs that wait, the environments a run waits on, an environment's custom deployment
 * protection rules, and the gate's answer for a waiting job. Plain data out; nothing here logs
 * a response.
 */
export interface RunPerson {
  id: number;
  login: string;
}

export interface WorkflowRunInfo {
  id: number;
  attempt: number;
  /** `waiting`, `in_progress`, `completed`, …; null when GitHub gives none. */
  status: string | null;
  actor: RunPerson | null;
  /** Who started this attempt; null when GitHub does not say. */
  triggeringActor: RunPerson | null;
  /** When this attempt started (`run_started_at`; the run's `created_at` when GitHub gives none, which is never later). */
  startedAt: Date;
  /** The workflow file, e.g. `.github/workflows/deploy.yml`. */
  path: string;
  headBranch: string | null;
  headSha: string;
  event: string;
}

export interface ProtectionRuleInfo {
  id: number;
  appId: number;
  enabled: boolean;
}

/** GitHub's answer to the gate's review: taken, or refused (422: the job no longer waits for this app's rule). */
export type ReviewOutcome = "accepted" | "refused";

type RawUser = { id: number; login: string } | null | undefined;
interface RawRun {
  id: number;
  run_attempt?: number;
  status: string | null;
  actor?: RawUser;
  triggering_actor?: RawUser;
  run_started_at?: string;
  created_at: string;
  path: string;
  head_branch: string | null;
  head_sha: string;
  event: string;
}

export class GateClient {
  readonly #octokit: AppOctokit;

  constructor(
    octokit: AppOctokit,
    readonly owner: string,
    readonly repo: string,
  ) {
    this.#octokit = octokit;
  }

  get fullName(): string {
    return `${this.owner}/${this.repo}`;
  }

  /** `GET /repos/{owner}/{repo}/actions/runs/{run_id}`. */
  async workflowRun(runId: number): Promise<WorkflowRunInfo> {
    const { data } = await this.#octokit.rest.actions.getWorkflowRun({ owner: this.owner, repo: this.repo, run_id: runId });
    return toRunInfo(data);
  }

  /**
   * The repository's runs with status `waiting`, newest first, at most `maxPages` pages of 100:
   * `complete` is false when more were left unread.
   */
  async waitingRuns(maxPages: number): Promise<{ runs: WorkflowRunInfo[]; complete: boolean }> {
    const runs: WorkflowRunInfo[] = [];
    let pages = 0;
    for await (const page of this.#octokit.paginate.iterator(this.#octokit.rest.actions.listWorkflowRunsForRepo, {
      owner: this.owner,
      repo: this.repo,
      status: "waiting",
      per_page: 100,
    })) {
      runs.push(...(page.data as unknown as RawRun[]).map(toRunInfo));
      pages++;
      if (pages >= maxPages) {
        const more = /rel="next"/u.test(page.headers.link ?? "");
        return { runs, complete: !more };
      }
    }
    return { runs, complete: true };
  }

  /** Names of the environments the run's current attempt waits on for protection rules. */
  async pendingEnvironments(runId: number): Promise<string[]> {
    const { data } = await this.#octokit.rest.actions.getPendingDeploymentsForRun({ owner: this.owner, repo: this.repo, run_id: runId });
    return data.flatMap((pending) => (typeof pending.environment.name === "string" ? [pending.environment.name] : []));
  }

  /** The environment's custom deployment protection rules; null when the environment is not found. */
  async protectionRules(environment: string): Promise<ProtectionRuleInfo[] | null> {
    try {
      const { data } = await this.#octokit.rest.repos.getAllDeploymentProtectionRules({
        owner: this.owner,
        repo: this.repo,
        environment_name: environment,
      });
      return (data.custom_deployment_protection_rules ?? []).map((rule) => ({ id: rule.id, appId: rule.app.id, enabled: rule.enabled }));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  /** `POST …/environments/{environment}/deployment_protection_rules` with `integration_id`: needs Administration (write). */
  async enableProtectionRule(environment: string, appId: number): Promise<ProtectionRuleInfo> {
    const { data } = await this.#octokit.rest.repos.createDeploymentProtectionRule({
      owner: this.owner,
      repo: this.repo,
      environment_name: environment,
      integration_id: appId,
    });
    return { id: data.id, appId: data.app.id, enabled: data.enabled };
  }

  /**
   * `POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`: the gate's
   * answer for the job that waits in `environment`. `refused` when GitHub answers 422: the job
   * no longer waits for this app's rule (answered already, cancelled, another attempt).
   */
  async review(runId: number, environment: string, state: "approved" | "rejected", comment: string): Promise<ReviewOutcome> {
    try {
      await this.#octokit.rest.actions.reviewCustomGatesForRun({
        owner: this.owner,
        repo: this.repo,
        run_id: runId,
        environment_name: environment,
        state,
        comment,
      });
      return "accepted";
    } catch (error) {
      if (statusOf(error) === 422) return "refused";
      throw error;
    }
  }
}

function toRunInfo(run: RawRun): WorkflowRunInfo {
  const started = Date.parse(run.run_started_at ?? run.created_at);
  return {
    id: run.id,
    attempt: run.run_attempt ?? 1,
    status: run.status,
    actor: person(run.actor),
    triggeringActor: person(run.triggering_actor),
    startedAt: new Date(Number.isNaN(started) ? Date.parse(run.created_at) : started),
    path: run.path,
    headBranch: run.head_branch,
    headSha: run.head_sha,
    event: run.event,
  };
}

function person(user: RawUser): RunPerson | null {
  return user === null || user === undefined ? null : { id: user.id, login: user.login };
}
