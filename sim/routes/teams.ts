/** Team membership, for CODEOWNERS entries like @acme/dba. */
import { notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, param, type RouteDefinition } from "../server/route.js";
import { orgRoute } from "../server/scoped-routes.js";
import { simpleUser } from "../shapes/user.js";

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
    return json(200, page.items.map((login) => simpleUser(context.urls, context.state.ensureAccount(login))), page.headers);
  }),
];
