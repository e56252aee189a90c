/** Team membership, for CODEOWNERS entries like @acme/dba. */
import { notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, noContent, param, type RouteDefinition } from "../server/route.js";
import { installationCovers, orgRoute } from "../server/scoped-routes.js";
import { repository } from "../shapes/repository.js";
import { simpleUser } from "../shapes/user.js";
import type { RepoRole } from "../model/types.js";

const REPOSITORY_MEDIA_TYPE = /application\/vnd\.github(?:\.v3)?\.repository(?:\+json)?(?:[,;\s]|$)/i;

/** The permission flags a role gives, as GitHub lists them for a team's repository. */
export function permissionFlags(role: RepoRole): { admin: boolean; maintain: boolean; push: boolean; triage: boolean; pull: boolean } {
  const rank = ["read", "triage", "write", "maintain", "admin"].indexOf(role);
  return { admin: rank >= 4, maintain: rank >= 3, push: rank >= 2, triage: rank >= 1, pull: rank >= 0 };
}

export const teamRoutes: RouteDefinition[] = [
  orgRoute("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", (context, org) => {
    const team = context.state.team(org, param(context, "team_slug"));
    const username = param(context, "username");
    const role = team?.members.get(username.toLowerCase());
    if (!team || role === undefined) throw notFound();
    return json(200, {
      url: `${context.urls.api}/teams/${team.id}/memberships/${username}`,
      role,
      state: "active",
    });
  }),

  orgRoute("GET", "/orgs/{org}/teams/{team_slug}/members", (context, org) => {
    const team = context.state.team(org, param(context, "team_slug"));
    if (!team) throw notFound();
    const roleFilter = context.query.get("role") ?? "all";
    const logins = [...team.members].filter(([, role]) => roleFilter === "all" || role === roleFilter).map(([login]) => login);
    const page = paginate(context, logins);
    return json(
      200,
      page.items.map((login) => simpleUser(context.urls, context.state.ensureAccount(login))),
      page.headers,
    );
  }),

  orgRoute("GET", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", (context, org) => {
    const team = context.state.team(org, param(context, "team_slug"));
    const repo = context.state.repo(`${param(context, "owner")}/${param(context, "repo")}`);
    // A private repository the token cannot see is Not Found, as is a team without access.
    if (!team || !repo || (repo.private && !installationCovers(context, repo))) throw notFound();
    const role = team.repos.get(repo.id);
    if (role === undefined) throw notFound();
    if (!REPOSITORY_MEDIA_TYPE.test(String(context.headers.accept ?? ""))) return noContent();
    const openIssues = [...repo.pulls.values()].filter((pull) => pull.state === "open").length;
    return json(200, { ...repository(context.urls, repo, openIssues), permissions: permissionFlags(role), role_name: role });
  }),
];
