import type { SimState } from "../model/state.js";
import type { SimPull, SimRepo, SimReview } from "../model/types.js";
import { authorAssociation } from "./association.js";
import { simpleUser } from "./user.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `pull-request-review` shape; webhooks use the same with a lower-case `state`. */
export function pullRequestReview(urls: Urls, state: SimState, repo: SimRepo, pull: SimPull, review: SimReview): Record<string, unknown> {
  const pullUrl = `${urls.api}/repos/${repo.fullName}/pulls/${pull.number}`;
  const htmlUrl = `${urls.web}/${repo.fullName}/pull/${pull.number}#pullrequestreview-${review.id}`;
  return {
    id: review.id,
    node_id: nodeId("PullRequestReview", review.id),
    user: simpleUser(urls, state.ensureAccount(review.reviewerLogin)),
    body: review.body,
    state: review.state,
    html_url: htmlUrl,
    pull_request_url: pullUrl,
    author_association: authorAssociation(state, repo, review.reviewerLogin),
    _links: { html: { href: htmlUrl }, pull_request: { href: pullUrl } },
    submitted_at: review.submittedAt,
    commit_id: review.commitId,
  };
}
