/**
 * Workflow runs and custom deployment protection rules: what an app that gates environments
 * reads (runs, the environments a run waits on, an environment's rules) and writes (its review
 * of a waiting job; enabling itself as a rule, which needs the Administration permission).
 */
import { enableRule, reviewRun, rulesOf } from "../model/workflow-runs.js";
import type { SimEnvironment, SimRepo, SimWorkflowRun } from "../model/types.js";
import { GitHubError, notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, noContent, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { pendingDeployment, protectionRule, workflowRun } from "../shapes/workflow-run.js";

const RUN = "/repos/{owner}/{repo}/actions/runs/{run_id}";
const RULES = "/repos/{owner}/{repo}/environments/{environment_name}/deployment_protection_rules";

function runOf(context: RouteContext, repo: SimRepo): SimWorkflowRun {
  const run = repo.workflowRuns.get(Number(param(context, "run_id")));
  if (!run) throw notFound();
  return run;
}

function environmentOf(context: RouteContext, repo: SimRepo): SimEnvironment {
  const found = context.state.environment(repo, param(context, "environment_name"));
  if (!found) throw notFound();
  return found;
}

/** The list filter: a status (`waiting`, `completed`, …) or a conclusion (`success`, `failure`, …). */
function matchesStatus(run: SimWorkflowRun, status: string | null): boolean {
  return status === null || run.status === status || run.conclusion === status;
}

/** Writes that need the installation's Administration permission (write), as GitHub requires of rule changes. */
function requireAdministration(context: RouteContext): void {
  if (context.credential.kind !== "installation") return;
  const installation = context.state.installations.get(context.credential.token.installationId);
  if (installation?.permissions.administration !== "write") throw new GitHubError(403, "Resource not accessible by integration");
}

export const actionsRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}/actions/runs", (context, repo) => {
    const status = context.query.get("status");
    const all = [...repo.workflowRuns.values()].filter((run) => matchesStatus(run, status)).sort((a, b) => b.id - a.id);
    const page = paginate(context, all);
    return json(
      200,
      { total_count: all.length, workflow_runs: page.items.map((run) => workflowRun(context.urls, context.state, repo, run)) },
      page.headers,
    );
  }),

  repoRoute("GET", RUN, (context, repo) => json(200, workflowRun(context.urls, context.state, repo, runOf(context, repo)))),

  repoRoute("GET", `${RUN}/pending_deployments`, (context, repo) => {
    const run = runOf(context, repo);
    const items = [...run.pending.values()].flatMap((pending) => {
      const environment = context.state.environment(repo, pending.environment);
      return environment ? [pendingDeployment(context.urls, repo, environment, pending)] : [];
    });
    return json(200, items);
  }),

  repoRoute("POST", `${RUN}/deployment_protection_rule`, (context, repo) => {
    const run = runOf(context, repo);
    const body = context.body as { environment_name: string; state?: "approved" | "rejected"; comment?: string };
    reviewRun(context.state, run, context.state.app.id, body.environment_name, {
      state: body.state ?? null,
      comment: body.comment ?? null,
    });
    return noContent();
  }),

  repoRoute("GET", RULES, (context, repo) => {
    const rules = rulesOf(environmentOf(context, repo));
    return json(200, {
      total_count: rules.length,
      custom_deployment_protection_rules: rules.map((rule) => protectionRule(context.urls, rule)),
    });
  }),

  repoRoute("POST", RULES, (context, repo) => {
    const environment = environmentOf(context, repo);
    requireAdministration(context);
    const { integration_id: integrationId } = context.body as { integration_id?: number };
    const app = context.state.app;
    if (integrationId !== app.id) {
      throw new GitHubError(
        422,
        `Integration ${String(integrationId)} is not installed on this repository or is not a deployment protection rule app.`,
      );
    }
    return json(201, protectionRule(context.urls, enableRule(context.state, environment, app)));
  }),

  repoRoute("GET", `${RULES}/{protection_rule_id}`, (context, repo) => {
    const rule = environmentOf(context, repo).customRules.get(Number(param(context, "protection_rule_id")));
    if (!rule) throw notFound();
    return json(200, protectionRule(context.urls, rule));
  }),

  repoRoute("DELETE", `${RULES}/{protection_rule_id}`, (context, repo) => {
    const environment = environmentOf(context, repo);
    requireAdministration(context);
    if (!environment.customRules.delete(Number(param(context, "protection_rule_id")))) throw notFound();
    return noContent();
  }),
];
