/** Route helpers that resolve and authorise the repository or organisation in the path. */
import type { SimRepo } from "../model/types.js";
import { GitHubError, badCredentials, notFound } from "./github-error.js";
import { param, type HttpMethod, type Reply, type RouteContext, type RouteDefinition } from "./route.js";

function installationOf(context: RouteContext): { installationId: number; repositoryIds: number[] | null } {
  if (context.credential.kind !== "installation") throw badCredentials();
  return { installationId: context.credential.token.installationId, repositoryIds: context.credential.token.repositoryIds };
}

/** Whether the caller's installation token may see `repo`. */
export function installationCovers(context: RouteContext, repo: SimRepo): boolean {
  const { installationId, repositoryIds } = installationOf(context);
  return repo.installationId === installationId && (repositoryIds === null || repositoryIds.includes(repo.id));
}

const REDIRECT_DOCS = "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects";

/**
 * GitHub's answer to a request that names a repository by a former name: 301 for GET and
 * HEAD, 307 for other methods, with `Location` on `/repositories/{id}` plus the rest of the
 * path and the query.
 */
export function movedTo(context: RouteContext, repo: SimRepo): GitHubError {
  const parts = context.url.pathname.split("/");
  const at = parts.indexOf("repos");
  const rest = at >= 0 ? parts.slice(at + 3).join("/") : "";
  const location = `${context.urls.api}/repositories/${repo.id}${rest ? `/${rest}` : ""}${context.url.search}`;
  const method = context.method;
  const [status, message] = method === "GET" || method === "HEAD" ? [301, "Moved Permanently"] : [307, "Temporary Redirect"];
  return new GitHubError(status, message, { url: location, documentation_url: REDIRECT_DOCS }, { location });
}

/**
 * The repository in the path, when the caller's installation covers it. Like GitHub, a
 * repository the token cannot see is answered 404, not 403; a former name of a repository the
 * token can see is redirected to it.
 */
export function accessibleRepo(context: RouteContext): SimRepo {
  const fullName = `${param(context, "owner")}/${param(context, "repo")}`;
  const repo = context.state.repo(fullName);
  if (repo) {
    if (!installationCovers(context, repo)) throw notFound();
    return repo;
  }
  const moved = context.state.movedRepo(fullName);
  if (moved && installationCovers(context, moved)) throw movedTo(context, moved);
  throw notFound();
}

export function repoRoute(
  method: HttpMethod,
  path: string,
  handle: (context: RouteContext, repo: SimRepo) => Reply | Promise<Reply>,
): RouteDefinition {
  return { method, path, auth: "installation", handle: (context) => handle(context, accessibleRepo(context)) };
}

/** A route under /orgs/{org}: only the installation on that organisation may call it. */
export function orgRoute(
  method: HttpMethod,
  path: string,
  handle: (context: RouteContext, org: string) => Reply | Promise<Reply>,
): RouteDefinition {
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

export function installationRoute(
  method: HttpMethod,
  path: string,
  handle: (context: RouteContext, installationId: number) => Reply | Promise<Reply>,
): RouteDefinition {
  return { method, path, auth: "installation", handle: (context) => handle(context, installationOf(context).installationId) };
}
