/** Route helpers that resolve and authorise the repository or organisation in the path. */
import type { SimRepo } from "../model/types.js";
import { badCredentials, notFound } from "./github-error.js";
import { param, type HttpMethod, type Reply, type RouteContext, type RouteDefinition } from "./route.js";

function installationOf(context: RouteContext): { installationId: number; repositoryNames: string[] | null } {
  if (context.credential.kind !== "installation") throw badCredentials();
  return { installationId: context.credential.token.installationId, repositoryNames: context.credential.token.repositoryNames };
}

/**
 * The repository in the path, when the caller's installation covers it. Like GitHub, a
 * repository the token cannot see is answered 404, not 403.
 */
export function accessibleRepo(context: RouteContext): SimRepo {
  const { installationId, repositoryNames } = installationOf(context);
  const repo = context.state.repo(`${param(context, "owner")}/${param(context, "repo")}`);
  if (!repo || repo.installationId !== installationId) throw notFound();
  if (repositoryNames && !repositoryNames.includes(repo.name.toLowerCase())) throw notFound();
  return repo;
}

export function repoRoute(
  method: HttpMethod,
  path: string,
  handle: (context: RouteContext, repo: SimRepo) => Reply | Promise<Reply>,
): RouteDefinition {
  return { method, path, auth: "installation", handle: (context) => handle(context, accessibleRepo(context)) };
}

/** A route under /orgs/{org}: only the installation on that organisation may call it. */
export function orgRoute(method: HttpMethod, path: string, handle: (context: RouteContext, org: string) => Reply | Promise<Reply>): RouteDefinition {
  return {
    method,
    path,
    auth: "installation",
    handle: (context) => {
      const { installationId } = installationOf(context);
      const org = param(context, "org");
      const installation = context.state.installations.get(installationId);
      if (!installation || installation.account.login.toLowerCase() !== org.toLowerCase()) throw notFound();
      return handle(context, installation.account.login);
    },
  };
}

export function appRoute(method: HttpMethod, path: string, handle: (context: RouteContext) => Reply | Promise<Reply>): RouteDefinition {
  return { method, path, auth: "app", handle };
}

export function installationRoute(method: HttpMethod, path: string, handle: (context: RouteContext, installationId: number) => Reply | Promise<Reply>): RouteDefinition {
  return { method, path, auth: "installation", handle: (context) => handle(context, installationOf(context).installationId) };
}
