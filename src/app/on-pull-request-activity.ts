import type { Context } from "probot";
import { RepoClient } from "../github/repo-client.js";
import { evaluatePullRequest } from "../grant/evaluate-pull-request.js";
import type { LifecycleDeps } from "./deps.js";
import { Coalescer } from "../util/coalescer.js";
import { repositoryInCatalog } from "./repository-in-catalog.js";
import { replacesVerdict } from "../approve/decide-approval.js";

type Activity =
  | Context<"pull_request.opened">
  | Context<"pull_request.reopened">
  | Context<"pull_request.synchronize">
  | Context<"pull_request.edited">
  | Context<"pull_request_review.submitted">
  | Context<"pull_request_review.dismissed">;

/**
 * Any change to a PR or its reviews: evaluate the PR afresh (validate, approve, grant). Events
 * that cannot change the decision cost no call, and a burst of events for one PR costs at most
 * two evaluations: the first runs at once, the rest fold into one more after it.
 */
export function onPullRequestActivity(deps: LifecycleDeps) {
  const evaluations = new Coalescer();
  return async (context: Activity): Promise<void> => {
    const { repository, pull_request: pr, installation } = context.payload;
    // Revoke-only, there is no catalog to tell which repositories matter: every PR is looked at,
    // so that one asking for access is told why nothing is granted, and a withdrawn approval
    // still ends its grants.
    if (!installation || (!deps.revokeOnly && !repositoryInCatalog(deps.catalog, repository.full_name))) return;
    // An edit matters only when it moves the base branch; a new title or body changes nothing.
    if (context.payload.action === "edited" && !("base" in ((context.payload as { changes?: object }).changes ?? {}))) return;
    // A review that replaces no verdict (a comment) cannot change the decision: anyone who can
    // comment could otherwise spend the rate limit.
    if (context.name === "pull_request_review" && context.payload.action === "submitted" && !replacesVerdict(context.payload.review.state))
      return;
    const log = context.log.child({ repository: repository.full_name, pr: pr.number, delivery: context.id });
    const trigger = `${context.name}.${context.payload.action}`;
    await evaluations.run(`${installation.id}/${repository.id}#${pr.number}`, async () => {
      const outcome = await evaluatePullRequest(deps, {
        installationId: installation.id,
        client: new RepoClient(context.octokit, repository.owner.login, repository.name),
        prNumber: pr.number,
        log,
        trigger,
        hint: { headSha: pr.head.sha, baseRef: pr.base.ref, defaultBranch: repository.default_branch },
      });
      log.info({ trigger, outcome: outcome.kind }, "pull request evaluated");
    });
  };
}
