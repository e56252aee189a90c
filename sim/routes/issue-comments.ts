/** Comments on pull requests (through the issues API). The app's comments are authored by its bot. */
import type { SimComment, SimPull, SimRepo } from "../model/types.js";
import { notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, noContent, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { issueComment, reaction } from "../shapes/issue-comment.js";

/** Issue numbers name pull requests here: the simulator has no plain issues. */
export function issueOf(context: RouteContext, repo: SimRepo): SimPull {
  const pull = repo.pulls.get(Number(param(context, "issue_number")));
  if (!pull) throw notFound();
  return pull;
}

function commentOf(context: RouteContext, repo: SimRepo): SimComment {
  const comment = repo.comments.get(Number(param(context, "comment_id")));
  if (!comment) throw notFound();
  return comment;
}

export const issueCommentRoutes: RouteDefinition[] = [
  repoRoute("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (context, repo) => {
    const pull = issueOf(context, repo);
    const now = context.state.timestamp();
    const comment: SimComment = {
      id: context.state.nextId("comment"),
      issueNumber: pull.number,
      body: (context.body as { body: string }).body,
      authorLogin: context.state.botAccount().login,
      createdAt: now,
      updatedAt: now,
    };
    repo.comments.set(comment.id, comment);
    const shape = issueComment(context.urls, context.state, repo, comment);
    return json(201, shape, { location: String(shape.url) });
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (context, repo) => {
    const pull = issueOf(context, repo);
    const since = context.query.get("since");
    const all = [...repo.comments.values()]
      .filter((comment) => comment.issueNumber === pull.number && (since === null || comment.updatedAt >= since))
      .sort((a, b) => a.id - b.id);
    const page = paginate(context, all);
    return json(
      200,
      page.items.map((comment) => issueComment(context.urls, context.state, repo, comment)),
      page.headers,
    );
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (context, repo) =>
    json(200, issueComment(context.urls, context.state, repo, commentOf(context, repo))),
  ),

  repoRoute("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (context, repo) => {
    const comment = commentOf(context, repo);
    comment.body = (context.body as { body: string }).body;
    comment.updatedAt = context.state.timestamp();
    return json(200, issueComment(context.urls, context.state, repo, comment));
  }),

  // A reaction by the app's bot; the same content again answers 200 with the one it has.
  repoRoute("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (context, repo) => {
    const comment = commentOf(context, repo);
    const content = (context.body as { content: string }).content;
    const userLogin = context.state.botAccount().login;
    comment.reactions ??= [];
    const existing = comment.reactions.find((r) => r.content === content && r.userLogin === userLogin);
    if (existing) return json(200, reaction(context.urls, context.state, existing));
    const created = { id: context.state.nextId("reaction"), content, userLogin, createdAt: context.state.timestamp() };
    comment.reactions.push(created);
    return json(201, reaction(context.urls, context.state, created));
  }),

  repoRoute("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (context, repo) => {
    repo.comments.delete(commentOf(context, repo).id);
    return noContent();
  }),
];
