import type { Context } from "probot";
import { RepoClient } from "../github/repo-client.js";
import { evaluatePullRequest } from "../lifecycle/evaluate-pull-request.js";
import type { LifecycleDeps } from "../lifecycle/deps.js";
import { repositoryInCatalog } from "./repository-in-catalog.js";

type Activity =
  | Context<"pull_request.opened">
  | Context<"pull_request.reopened">
  | Context<"pull_request.synchronize">
  | Context<"pull_request.edited">
  | Context<"pull_request_review.submitted">
  | Context<"pull_request_review.dismissed">;

/** Any change to a PR or its reviews: evaluate the PR afresh (validate, approve, grant). */
export function onPullRequestActivity(deps: LifecycleDeps) {
  return async (context: Activity): Promise<void> => {
    const { repository, pull_request: pr, installation } = context.payload;
    if (!installation || !repositoryInCatalog(deps.catalog, repository.full_name)) return;
    // An edit matters only when it moves the base branch; a new title or body changes nothing.
    if (context.payload.action === "edited" && !("base" in ((context.payload as { changes?: object }).changes ?? {}))) return;
    const log = context.log.child({ repository: repository.full_name, pr: pr.number, delivery: context.id });
    const trigger = `${context.name}.${context.payload.action}`;
    const outcome = await evaluatePullRequest(deps, {
      installationId: installation.id,
      client: new RepoClient(context.octokit, repository.owner.login, repository.name),
      prNumber: pr.number,
      log,
      trigger,
    });
    log.info({ trigger, outcome: outcome.kind }, "pull request evaluated");
  };
}
