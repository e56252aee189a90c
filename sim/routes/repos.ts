/** Repository metadata and collaborator permissions. */
import { notFound } from "../server/github-error.js";
import { json, param, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { repository } from "../shapes/repository.js";
import { simpleUser } from "../shapes/user.js";
import type { RepoRole } from "../model/types.js";

/** The permission API folds five roles into admin/write/read (and none). */
const PERMISSION_OF: Record<RepoRole, "admin" | "write" | "read"> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
};

export const repoRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}", (context, repo) => {
    const openIssues = [...repo.pulls.values()].filter((pull) => pull.state === "open").length;
    return json(200, repository(context.urls, repo, openIssues));
  }),

  repoRoute("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", (context, repo) => {
    const account = context.state.account(param(context, "username"));
    if (!account) throw notFound();
    const role = context.state.roleOf(repo, account.login);
    const permission = role === null ? (repo.private ? "none" : "read") : PERMISSION_OF[role];
    const roleName = role ?? permission;
    return json(200, {
      permission,
      role_name: roleName,
      user: {
        ...simpleUser(context.urls, account),
        permissions: {
          admin: permission === "admin",
          maintain: role === "maintain" || permission === "admin",
          push: permission === "admin" || permission === "write",
          triage: permission !== "none",
          pull: permission !== "none",
        },
        role_name: roleName,
      },
    });
  }),
];
