/** App-level endpoints (JWT) and the installation's repository list (installation token). */
import { GitHubError, notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { appRoute, installationRoute, movedTo } from "../server/scoped-routes.js";
import { installation, integration } from "../shapes/installation.js";
import { repository } from "../shapes/repository.js";
import type { SimInstallation } from "../model/types.js";

function requireInstallation(context: RouteContext, id: string): SimInstallation {
  const found = context.state.installations.get(Number(id));
  if (!found) throw notFound();
  return found;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map(String) : undefined;
}

export const appRoutes: RouteDefinition[] = [
  appRoute("GET", "/app", (context) => json(200, integration(context.urls, context.state, context.state.app))),

  appRoute("GET", "/app/installations", (context) => {
    const all = [...context.state.installations.values()].sort((a, b) => a.id - b.id);
    const page = paginate(context, all);
    return json(
      200,
      page.items.map((value) => installation(context.urls, context.state, value)),
      page.headers,
    );
  }),

  appRoute("GET", "/app/installations/{installation_id}", (context) =>
    json(200, installation(context.urls, context.state, requireInstallation(context, param(context, "installation_id")))),
  ),

  appRoute("POST", "/app/installations/{installation_id}/access_tokens", (context) => {
    const target = requireInstallation(context, param(context, "installation_id"));
    if (target.suspendedAt !== null) {
      throw new GitHubError(403, "This installation has been suspended", {
        documentation_url: "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
      });
    }
    const repos = context.state.reposOfInstallation(target.id);
    const body = (context.body ?? {}) as Record<string, unknown>;
    const byName = stringList(body.repositories);
    const byId = Array.isArray(body.repository_ids) ? body.repository_ids.map(Number) : undefined;
    let narrowed: typeof repos | undefined;
    if (byName || byId) {
      narrowed = repos.filter((repo) => byName?.some((name) => name.toLowerCase() === repo.name.toLowerCase()) || byId?.includes(repo.id));
      if (narrowed.length !== (byName?.length ?? 0) + (byId?.length ?? 0)) {
        throw new GitHubError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.");
      }
    }
    const permissions = (body.permissions as Record<string, string> | undefined) ?? target.permissions;
    const token = context.auth.mint(target.id, narrowed ? narrowed.map((repo) => repo.id) : null);
    return json(201, {
      token: token.token,
      expires_at: token.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
      permissions,
      repository_selection: "selected",
      ...(narrowed ? { repositories: narrowed.map((repo) => repository(context.urls, repo)) } : {}),
    });
  }),

  appRoute("GET", "/repos/{owner}/{repo}/installation", (context) => {
    const fullName = `${param(context, "owner")}/${param(context, "repo")}`;
    const repo = context.state.repo(fullName);
    const moved = context.state.movedRepo(fullName);
    if (!repo && moved?.installationId != null) throw movedTo(context, moved);
    const found = repo?.installationId == null ? undefined : context.state.installations.get(repo.installationId);
    if (!found) throw notFound();
    return json(200, installation(context.urls, context.state, found));
  }),

  appRoute("GET", "/orgs/{org}/installation", (context) => {
    const org = param(context, "org").toLowerCase();
    const found = [...context.state.installations.values()].find((value) => value.account.login.toLowerCase() === org);
    if (!found) throw notFound();
    return json(200, installation(context.urls, context.state, found));
  }),

  installationRoute("GET", "/installation/repositories", (context, installationId) => {
    const token = context.credential.kind === "installation" ? context.credential.token : undefined;
    const visible = context.state
      .reposOfInstallation(installationId)
      .filter((repo) => !token?.repositoryIds || token.repositoryIds.includes(repo.id))
      .sort((a, b) => a.id - b.id);
    const page = paginate(context, visible);
    return json(
      200,
      {
        total_count: visible.length,
        repository_selection: "selected",
        repositories: page.items.map((repo) => repository(context.urls, repo)),
      },
      page.headers,
    );
  }),
];
