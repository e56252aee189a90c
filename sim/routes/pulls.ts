/** A pull request, its reviews (chronological) and its changed files. */
import { pullFiles } from "../model/pull-files.js";
import { headShaOf } from "../model/pulls.js";
import type { SimPull, SimRepo } from "../model/types.js";
import { notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { diffEntry } from "../shapes/diff-entry.js";
import { pullRequest } from "../shapes/pull-request.js";
import { pullRequestReview } from "../shapes/review.js";

function pullOf(context: RouteContext, repo: SimRepo): SimPull {
  const pull = repo.pulls.get(Number(param(context, "pull_number")));
  if (!pull) throw notFound();
  return pull;
}

export const pullRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", (context, repo) =>
    json(200, pullRequest(context.urls, context.state, repo, pullOf(context, repo))),
  ),

  repoRoute("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", (context, repo) => {
    const pull = pullOf(context, repo);
    const page = paginate(context, pull.reviews);
    return json(
      200,
      page.items.map((review) => pullRequestReview(context.urls, context.state, repo, pull, review)),
      page.headers,
    );
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", (context, repo) => {
    const pull = pullOf(context, repo);
    const head = headShaOf(context.state, pull);
    const page = paginate(context, pullFiles(context.state, repo, pull));
    return json(
      200,
      page.items.map((file) => diffEntry(context.urls, repo, head, file)),
      page.headers,
    );
  }),
];
