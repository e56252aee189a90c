/** Labels on pull requests (through the issues API). Unknown labels are created, as GitHub does. */
import type { SimLabel, SimRepo } from "../model/types.js";
import { GitHubError } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, noContent, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { labelsOf } from "../shapes/label.js";
import { issueOf } from "./issue-comments.js";

/** Label names from any body form GitHub accepts: `{ labels: [...] }` or a bare array, of names or `{ name }`. */
function requestedNames(body: unknown): string[] {
  const list = Array.isArray(body) ? body : ((body as { labels?: unknown[] } | undefined)?.labels ?? []);
  return list.map((item) => (typeof item === "string" ? item : String((item as { name: unknown }).name)));
}

function ensureLabel(context: RouteContext, repo: SimRepo, name: string): SimLabel {
  const key = name.toLowerCase();
  const existing = repo.labels.get(key);
  if (existing) return existing;
  const created: SimLabel = { id: context.state.nextId("label"), name, color: "ededed", description: null };
  repo.labels.set(key, created);
  return created;
}

function currentLabels(context: RouteContext, repo: SimRepo, keys: string[]) {
  return json(200, labelsOf(context.urls, repo, keys));
}

const ISSUE_LABELS = "/repos/{owner}/{repo}/issues/{issue_number}/labels";

export const labelRoutes: RouteDefinition[] = [
  repoRoute("GET", ISSUE_LABELS, (context, repo) => {
    const page = paginate(context, issueOf(context, repo).labelKeys);
    return json(200, labelsOf(context.urls, repo, page.items), page.headers);
  }),

  repoRoute("POST", ISSUE_LABELS, (context, repo) => {
    const pull = issueOf(context, repo);
    for (const name of requestedNames(context.body)) {
      const key = ensureLabel(context, repo, name).name.toLowerCase();
      if (!pull.labelKeys.includes(key)) pull.labelKeys.push(key);
    }
    return currentLabels(context, repo, pull.labelKeys);
  }),

  repoRoute("PUT", ISSUE_LABELS, (context, repo) => {
    const pull = issueOf(context, repo);
    const keys = requestedNames(context.body).map((name) => ensureLabel(context, repo, name).name.toLowerCase());
    pull.labelKeys = [...new Set(keys)];
    return currentLabels(context, repo, pull.labelKeys);
  }),

  repoRoute("DELETE", ISSUE_LABELS, (context, repo) => {
    issueOf(context, repo).labelKeys = [];
    return noContent();
  }),

  repoRoute("DELETE", `${ISSUE_LABELS}/{name}`, (context, repo) => {
    const pull = issueOf(context, repo);
    const key = param(context, "name").toLowerCase();
    if (!pull.labelKeys.includes(key)) throw new GitHubError(404, "Label does not exist");
    pull.labelKeys = pull.labelKeys.filter((existing) => existing !== key);
    return currentLabels(context, repo, pull.labelKeys);
  }),
];
