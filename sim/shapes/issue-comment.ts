import type { SimState } from "../model/state.js";
import type { SimComment, SimReaction, SimRepo } from "../model/types.js";
import { authorAssociation } from "./association.js";
import { integration } from "./installation.js";
import { simpleUser } from "./user.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `issue-comment` shape. */
export function issueComment(urls: Urls, state: SimState, repo: SimRepo, comment: SimComment): Record<string, unknown> {
  const author = state.ensureAccount(comment.authorLogin);
  return {
    id: comment.id,
    node_id: nodeId("IssueComment", comment.id),
    url: `${urls.api}/repos/${repo.fullName}/issues/comments/${comment.id}`,
    html_url: `${urls.web}/${repo.fullName}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
    body: comment.body,
    user: simpleUser(urls, author),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    issue_url: `${urls.api}/repos/${repo.fullName}/issues/${comment.issueNumber}`,
    author_association: authorAssociation(state, repo, author.login),
    performed_via_github_app: author.type === "Bot" ? integration(urls, state, state.app) : null,
  };
}

/** GitHub's `reaction` shape. */
export function reaction(urls: Urls, state: SimState, created: SimReaction): Record<string, unknown> {
  return {
    id: created.id,
    node_id: nodeId("Reaction", created.id),
    user: simpleUser(urls, state.ensureAccount(created.userLogin)),
    content: created.content,
    created_at: created.createdAt,
  };
}
