/** What a route handler receives and returns. */
import type { IncomingHttpHeaders } from "node:http";
import type { SimState } from "../model/state.js";
import type { SimRepo, SimToken } from "../model/types.js";
import type { Urls } from "../shapes/urls.js";
import type { AppAuth } from "../app-auth.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export type Credential = { kind: "app" } | { kind: "installation"; token: SimToken } | { kind: "none" };

export interface RouteContext {
  /** Upper-case HTTP method. */
  method: string;
  state: SimState;
  urls: Urls;
  auth: AppAuth;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body, or `undefined` when there was none. */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The full request URL, for pagination links. */
  url: URL;
  /** Records a request that does not follow GitHub's documented use (in `sim.violations`). */
  violation(problem: string): void;
  credential: Credential;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** A non-JSON body (raw file contents). */
  raw?: { contentType: string; data: Buffer };
  headers?: Record<string, string>;
}

export interface RouteDefinition {
  method: HttpMethod;
  /** The OpenAPI path template, exactly as in GitHub's description. */
  path: string;
  /** "none": GitHub serves it without credentials (the manifest code is the credential). */
  auth: "app" | "installation" | "none";
  handle(context: RouteContext): Reply | Promise<Reply>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

export const noContent = (): Reply => ({ status: 204 });

/** A parameter that the OpenAPI check guarantees to be present. */
export function param(context: RouteContext, name: string): string {
  const value = context.params[name];
  if (value === undefined) throw new Error(`Route parameter "${name}" missing: the route's path template does not declare it.`);
  return value;
}

export interface RepoRouteContext extends RouteContext {
  repo: SimRepo;
}
