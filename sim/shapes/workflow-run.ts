import { treeSha } from "../model/git.js";
import type { SimState } from "../model/state.js";
import type { SimCustomRule, SimEnvironment, SimPendingEnvironment, SimRepo, SimWorkflowRun } from "../model/types.js";
import { repository } from "./repository.js";
import { simpleUser } from "./user.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `workflow-run` shape. */
export function workflowRun(urls: Urls, state: SimState, repo: SimRepo, run: SimWorkflowRun): Record<string, unknown> {
  const api = `${urls.api}/repos/${repo.fullName}`;
  const url = `${api}/actions/runs/${run.id}`;
  const commit = repo.commits.get(run.headSha);
  const author = commit ? state.ensureAccount(commit.authorLogin) : repo.owner;
  const gitUser = { name: author.login, email: `${author.id}+${author.login}@users.noreply.github.com` };
  const repoShape = repository(urls, repo);
  return {
    id: run.id,
    name: run.name,
    node_id: nodeId("WorkflowRun", run.id),
    check_suite_id: run.checkSuiteId,
    check_suite_node_id: nodeId("CheckSuite", run.checkSuiteId),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: run.path,
    run_number: run.runNumber,
    run_attempt: run.runAttempt,
    referenced_workflows: [],
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: run.workflowId,
    url,
    html_url: `${urls.web}/${repo.fullName}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    actor: simpleUser(urls, state.ensureAccount(run.actorLogin)),
    triggering_actor: simpleUser(urls, state.ensureAccount(run.triggeringActorLogin)),
    run_started_at: run.runStartedAt,
    jobs_url: `${url}/jobs`,
    logs_url: `${url}/logs`,
    check_suite_url: `${api}/check-suites/${run.checkSuiteId}`,
    artifacts_url: `${url}/artifacts`,
    cancel_url: `${url}/cancel`,
    rerun_url: `${url}/rerun`,
    previous_attempt_url: run.runAttempt > 1 ? `${url}/attempts/${run.runAttempt - 1}` : null,
    workflow_url: `${api}/actions/workflows/${run.workflowId}`,
    head_commit: commit
      ? {
          id: commit.sha,
          tree_id: treeSha(commit.files),
          message: commit.message,
          timestamp: commit.date,
          author: gitUser,
          committer: gitUser,
        }
      : null,
    repository: repoShape,
    head_repository: repoShape,
    head_repository_id: repo.id,
    display_title: run.name,
  };
}

/** GitHub's `pending-deployment` shape: an environment the run waits on for its protection rules. */
export function pendingDeployment(
  urls: Urls,
  repo: SimRepo,
  environment: SimEnvironment,
  _pending: SimPendingEnvironment,
): Record<string, unknown> {
  const name = encodeURIComponent(environment.name);
  return {
    environment: {
      id: environment.id,
      node_id: nodeId("Environment", environment.id),
      name: environment.name,
      url: `${urls.api}/repos/${repo.fullName}/environments/${name}`,
      html_url: `${urls.web}/${repo.fullName}/deployments/activity_log?environments_filter=${name}`,
    },
    wait_timer: 0,
    wait_timer_started_at: null,
    current_user_can_approve: false,
    reviewers: [],
  };
}

/** GitHub's `deployment-protection-rule` shape. */
export function protectionRule(urls: Urls, rule: SimCustomRule): Record<string, unknown> {
  return {
    id: rule.id,
    node_id: nodeId("DeploymentProtectionRule", rule.id),
    enabled: true,
    app: {
      id: rule.appId,
      node_id: nodeId("Integration", rule.appId),
      slug: rule.appSlug,
      integration_url: `${urls.api}/apps/${rule.appSlug}`,
    },
  };
}

/** The `deployment` GitHub creates for a job that targets an environment (`nullable-deployment` in webhooks). */
export function jobDeployment(
  urls: Urls,
  state: SimState,
  repo: SimRepo,
  run: SimWorkflowRun,
  pending: SimPendingEnvironment,
): Record<string, unknown> {
  const api = `${urls.api}/repos/${repo.fullName}`;
  const url = `${api}/deployments/${pending.deploymentId}`;
  return {
    url,
    id: pending.deploymentId,
    node_id: nodeId("Deployment", pending.deploymentId),
    sha: run.headSha,
    ref: run.headBranch ?? run.headSha,
    task: "deploy",
    payload: {},
    original_environment: pending.environment,
    environment: pending.environment,
    description: null,
    creator: simpleUser(urls, state.ensureAccount(run.triggeringActorLogin)),
    created_at: run.runStartedAt,
    updated_at: run.runStartedAt,
    statuses_url: `${url}/statuses`,
    repository_url: api,
    performed_via_github_app: null,
  };
}
