import { pullCommitCount, pullFiles } from "../model/pull-files.js";
import { headRepoOf, headShaOf } from "../model/pulls.js";
import type { SimState } from "../model/state.js";
import type { SimPull, SimRepo } from "../model/types.js";
import { authorAssociation } from "./association.js";
import { labelsOf } from "./label.js";
import { repository } from "./repository.js";
import { simpleUser } from "./user.js";
import { nodeId, type Urls } from "./urls.js";

function branchRef(urls: Urls, repo: SimRepo, ref: string, sha: string): Record<string, unknown> {
  return { label: `${repo.owner.login}:${ref}`, ref, sha, user: simpleUser(urls, repo.owner), repo: repository(urls, repo) };
}

/** GitHub's `pull-request` shape, computed from the current state. */
export function pullRequest(urls: Urls, state: SimState, repo: SimRepo, pull: SimPull): Record<string, unknown> {
  const url = `${urls.api}/repos/${repo.fullName}/pulls/${pull.number}`;
  const issueUrl = `${urls.api}/repos/${repo.fullName}/issues/${pull.number}`;
  const htmlUrl = `${urls.web}/${repo.fullName}/pull/${pull.number}`;
  const headSha = headShaOf(state, pull);
  const files = pullFiles(state, repo, pull);
  const author = state.ensureAccount(pull.authorLogin);
  const mergedBy = pull.mergedByLogin === null ? null : simpleUser(urls, state.ensureAccount(pull.mergedByLogin));
  const comments = [...repo.comments.values()].filter((comment) => comment.issueNumber === pull.number).length;
  return {
    url,
    id: pull.id,
    node_id: nodeId("PullRequest", pull.id),
    html_url: htmlUrl,
    diff_url: `${htmlUrl}.diff`,
    patch_url: `${htmlUrl}.patch`,
    issue_url: issueUrl,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${urls.api}/repos/${repo.fullName}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${urls.api}/repos/${repo.fullName}/statuses/${headSha}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: simpleUser(urls, author),
    body: pull.body,
    labels: labelsOf(urls, repo, pull.labelKeys),
    milestone: null,
    active_lock_reason: null,
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    closed_at: pull.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branchRef(urls, headRepoOf(state, pull), pull.headRef, headSha),
    base: branchRef(urls, repo, pull.baseRef, pull.baseSha),
    _links: {
      self: { href: url },
      html: { href: htmlUrl },
      issue: { href: issueUrl },
      comments: { href: `${issueUrl}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${urls.api}/repos/${repo.fullName}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${urls.api}/repos/${repo.fullName}/statuses/${headSha}` },
    },
    author_association: authorAssociation(state, repo, pull.authorLogin),
    auto_merge: null,
    draft: pull.draft,
    merged: pull.merged,
    mergeable: pull.state === "open" ? true : null,
    rebaseable: pull.state === "open" ? true : null,
    mergeable_state: pull.state === "open" ? "clean" : "unknown",
    merged_by: mergedBy,
    comments,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: pullCommitCount(state, repo, pull),
    additions: files.reduce((sum, file) => sum + file.additions, 0),
    deletions: files.reduce((sum, file) => sum + file.deletions, 0),
    changed_files: files.length,
  };
}
