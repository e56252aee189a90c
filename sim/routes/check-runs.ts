/**
 * Check runs. Like GitHub: annotations accumulate across updates (at most 50 per request),
 * a conclusion completes the run, and the list for a ref shows the latest run per name.
 */
import { resolveRef } from "../model/git.js";
import type { SimAnnotation, SimCheckRun, SimRepo, CheckStatus } from "../model/types.js";
import { GitHubError, notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { checkRun } from "../shapes/check-run.js";

interface CheckRunBody {
  name?: string;
  head_sha?: string;
  details_url?: string;
  external_id?: string;
  status?: CheckStatus;
  conclusion?: string;
  started_at?: string;
  completed_at?: string;
  output?: { title?: string; summary?: string; text?: string; annotations?: SimAnnotation[] };
}

function runOf(context: RouteContext, repo: SimRepo): SimCheckRun {
  const run = repo.checkRuns.get(Number(param(context, "check_run_id")));
  if (!run) throw notFound();
  return run;
}

/** Applies the fields of a create or update request to `run`. */
function apply(context: RouteContext, run: SimCheckRun, body: CheckRunBody): void {
  if (body.name !== undefined) run.name = body.name;
  if (body.details_url !== undefined) run.detailsUrl = body.details_url;
  if (body.external_id !== undefined) run.externalId = body.external_id;
  if (body.started_at !== undefined) run.startedAt = body.started_at;
  if (body.status !== undefined) run.status = body.status;
  if (body.conclusion !== undefined) {
    run.conclusion = body.conclusion;
    run.status = "completed";
  }
  if (body.status === "completed" && run.conclusion === null) {
    throw new GitHubError(422, "Invalid request.\n\n`conclusion` is required when `status` is `completed`.");
  }
  if (run.status === "completed") run.completedAt = body.completed_at ?? run.completedAt ?? context.state.timestamp();
  if (body.output !== undefined) {
    if (body.output.title !== undefined) run.output.title = body.output.title;
    if (body.output.summary !== undefined) run.output.summary = body.output.summary;
    if (body.output.text !== undefined) run.output.text = body.output.text;
    run.output.annotations.push(...(body.output.annotations ?? []).map((annotation) => ({ ...annotation })));
  }
}

export const checkRunRoutes: RouteDefinition[] = [
  repoRoute("POST", "/repos/{owner}/{repo}/check-runs", (context, repo) => {
    const body = context.body as CheckRunBody & { name: string; head_sha: string };
    if (!repo.commits.has(body.head_sha)) throw new GitHubError(422, `No commit found for SHA: ${body.head_sha}`);
    const sibling = [...repo.checkRuns.values()].find((run) => run.headSha === body.head_sha);
    const run: SimCheckRun = {
      id: context.state.nextId("checkRun"),
      checkSuiteId: sibling?.checkSuiteId ?? context.state.nextId("checkSuite"),
      name: body.name,
      headSha: body.head_sha,
      status: "queued",
      conclusion: null,
      detailsUrl: null,
      externalId: null,
      startedAt: context.state.timestamp(),
      completedAt: null,
      output: { title: null, summary: null, text: null, annotations: [] },
    };
    apply(context, run, body);
    repo.checkRuns.set(run.id, run);
    return json(201, checkRun(context.urls, context.state, repo, run));
  }),

  repoRoute("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", (context, repo) => {
    const run = runOf(context, repo);
    const updated = structuredClone(run);
    apply(context, updated, context.body as CheckRunBody);
    Object.assign(run, updated);
    return json(200, checkRun(context.urls, context.state, repo, run));
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", (context, repo) =>
    json(200, checkRun(context.urls, context.state, repo, runOf(context, repo))),
  ),

  repoRoute("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", (context, repo) => {
    const page = paginate(context, runOf(context, repo).output.annotations);
    return json(
      200,
      page.items.map((annotation) => ({
        path: annotation.path,
        start_line: annotation.start_line,
        end_line: annotation.end_line,
        start_column: annotation.start_column ?? null,
        end_column: annotation.end_column ?? null,
        annotation_level: annotation.annotation_level,
        title: annotation.title ?? null,
        message: annotation.message,
        raw_details: annotation.raw_details ?? null,
        blob_href: `${context.urls.web}/${repo.fullName}/blob/${runOf(context, repo).headSha}/${annotation.path}`,
      })),
      page.headers,
    );
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", (context, repo) => {
    const commit = resolveRef(repo, param(context, "ref"));
    if (!commit) throw new GitHubError(422, `No commit found for SHA: ${param(context, "ref")}`);
    const name = context.query.get("check_name");
    const status = context.query.get("status");
    let runs = [...repo.checkRuns.values()]
      .filter((run) => run.headSha === commit.sha)
      .filter((run) => name === null || run.name === name)
      .filter((run) => status === null || run.status === status)
      .sort((a, b) => b.id - a.id);
    if ((context.query.get("filter") ?? "latest") === "latest") {
      const seen = new Set<string>();
      runs = runs.filter((run) => !seen.has(run.name) && seen.add(run.name) !== undefined);
    }
    const page = paginate(context, runs);
    return json(
      200,
      { total_count: runs.length, check_runs: page.items.map((run) => checkRun(context.urls, context.state, repo, run)) },
      page.headers,
    );
  }),
];
