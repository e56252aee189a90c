import { treeSha } from "../model/git.js";
import type { SimState } from "../model/state.js";
import type { SimCommit, SimRepo } from "../model/types.js";
import { simpleUser } from "./user.js";
import type { Urls } from "./urls.js";

function gitUser(state: SimState, login: string, date: string): Record<string, unknown> {
  const account = state.ensureAccount(login);
  return { name: account.login, email: `${account.id}+${account.login}@users.noreply.github.com`, date };
}

/** GitHub's `commit` shape (as in compare results: without stats and files). */
export function commitShape(urls: Urls, state: SimState, repo: SimRepo, commit: SimCommit): Record<string, unknown> {
  const api = `${urls.api}/repos/${repo.fullName}`;
  const web = `${urls.web}/${repo.fullName}`;
  const tree = treeSha(commit.files);
  const author = simpleUser(urls, state.ensureAccount(commit.authorLogin));
  return {
    url: `${api}/commits/${commit.sha}`,
    sha: commit.sha,
    node_id: Buffer.from(`06:Commit${repo.id}:${commit.sha}`).toString("base64"),
    html_url: `${web}/commit/${commit.sha}`,
    comments_url: `${api}/commits/${commit.sha}/comments`,
    commit: {
      url: `${api}/git/commits/${commit.sha}`,
      author: gitUser(state, commit.authorLogin, commit.date),
      committer: gitUser(state, commit.authorLogin, commit.date),
      message: commit.message,
      tree: { sha: tree, url: `${api}/git/trees/${tree}` },
      comment_count: 0,
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
    author,
    committer: author,
    parents: commit.parents.map((sha) => ({ sha, url: `${api}/commits/${sha}`, html_url: `${web}/commit/${sha}` })),
  };
}
