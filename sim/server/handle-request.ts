/**
 * One API request, end to end: OpenAPI check, fault switches, authentication, the route,
 * GitHub's headers, and the request log.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppAuth } from "../app-auth.js";
import { defaultFaultResponse, type ActiveFault, type FaultSwitches } from "../faults.js";
import type { SimState } from "../model/state.js";
import type { OpenApiCheck, OperationMatch } from "../openapi-check.js";
import type { Urls } from "../shapes/urls.js";
import { GitHubError, invalidRequest, notFound } from "./github-error.js";
import type { RateLimitKey, RateLimits } from "./rate-limit.js";
import type { Credential, Reply, RouteDefinition } from "./route.js";

export interface RecordedRequest {
  /** When the request arrived (simulator clock, ISO 8601 without milliseconds, as GitHub writes times). */
  at: string;
  /** The same instant in epoch milliseconds, for tests that bound when a request happened. */
  atMs: number;
  method: string;
  /** Path after /api/v3, as sent (percent-encoded), without the query. */
  path: string;
  query: string;
  /** The OpenAPI operation, e.g. "PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}". */
  route: string | null;
  status: number;
  /** The installation whose token made the request (null for app JWT or no credential). */
  installationId: number | null;
  /** The fault switch that answered, if any. */
  faultId: string | null;
  /**
   * Real time (epoch ms, sub-millisecond, never the simulator's clock) when the request arrived,
   * before any latency; and when its answer was sent (infinite for a request left hanging). A request that arrives after another's `answeredMs` was issued after that answer:
   * see `sequentialRoundTrips`.
   */
  receivedMs: number;
  answeredMs: number;
}

export interface Violation {
  method: string;
  path: string;
  problem: string;
}

export interface RequestDeps {
  state: SimState;
  urls: Urls;
  auth: AppAuth;
  faults: FaultSwitches;
  rateLimits: RateLimits;
  check: OpenApiCheck;
  routes: ReadonlyMap<string, RouteDefinition>;
  /** Also validate the simulator's own JSON responses against the description. */
  checkResponses: boolean;
  requests: RecordedRequest[];
  violations: Violation[];
  /** Resolves when the simulator closes; hanging requests wait for it. */
  closed: Promise<void>;
  /** How long this request waits before it is handled (0: not at all). */
  latencyMs(): number;
  onHandled(): void;
}

const API_PREFIX = "/api/v3";

function requestId(): string {
  const hex = (bytes: number) => randomBytes(bytes).toString("hex").toUpperCase();
  return `${hex(2)}:${hex(2)}:${hex(3)}:${hex(4)}:${hex(4)}`;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Epoch milliseconds from the monotonic clock, with fractions: request timings on loopback are sub-millisecond. */
function realNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits `ms`, or less if the simulator closes first; resolves true when it closed. */
function sleepUnlessClosed(ms: number, closed: Promise<void>): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void closed.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

interface Outcome {
  reply: Reply;
  route: string | null;
  credential: Credential | null;
  faultId: string | null;
  /** The request must never be answered (a hang fault). */
  hang: boolean;
  /** Rate limit headers, when the budget was already checked (authenticated requests). */
  rateLimitHeaders?: Record<string, string>;
  /** Refused because the primary rate limit is spent. */
  rateLimited?: boolean;
}

const SUSPENDED = "This installation has been suspended";
const TOKEN_DOCS = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app";
const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

/** `/repositories/{id}/rest` (where GitHub's redirects for renamed repositories lead) -> `/repos/{owner}/{name}/rest`. */
const BY_ID = /^\/repositories\/(\d+)(\/.*)?$/;

export async function handleRequest(deps: RequestDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const receivedMs = realNow();
  const atMs = deps.state.clock().getTime();
  const at = new Date(atMs).toISOString().replace(/\.\d{3}Z$/, "Z");
  const latency = deps.latencyMs();
  if (latency > 0 && (await sleepUnlessClosed(latency, deps.closed))) {
    // Closed while the request was on its way: it never reaches the simulated GitHub.
    response.destroy();
    return;
  }
  const method = (request.method ?? "GET").toUpperCase();
  const url = new URL(request.url ?? "/", deps.urls.web);
  const path = url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : url.pathname;
  const violation = (problem: string) => deps.violations.push({ method, path, problem });

  let outcome: Outcome;
  try {
    outcome = await decide(deps, request, { method, url, path, violation });
  } catch (error) {
    const failure =
      error instanceof GitHubError
        ? error
        : new GitHubError(500, `Simulator error: ${error instanceof Error ? error.message : String(error)}`);
    if (!(error instanceof GitHubError)) violation(failure.message);
    outcome = {
      reply: { status: failure.status, body: failure.body(), headers: failure.headers },
      route: null,
      credential: null,
      faultId: null,
      hang: false,
    };
  }
  if (!outcome.hang) send(deps, request, response, outcome);
  const answeredMs = outcome.hang ? Number.POSITIVE_INFINITY : realNow();
  deps.requests.push({
    at,
    atMs,
    method,
    path,
    query: url.search,
    route: outcome.route,
    status: outcome.reply.status,
    installationId: outcome.credential?.kind === "installation" ? outcome.credential.token.installationId : null,
    faultId: outcome.faultId,
    receivedMs,
    answeredMs,
  });
  deps.onHandled();
  if (outcome.hang) {
    await deps.closed;
    response.destroy();
  }
}

async function decide(
  deps: RequestDeps,
  request: IncomingMessage,
  input: { method: string; url: URL; path: string; violation: (problem: string) => void },
): Promise<Outcome> {
  const { method, url, path, violation } = input;
  const text = await readBody(request);
  const base = { route: null, credential: null, faultId: null, hang: false };
  if (!input.url.pathname.startsWith(`${API_PREFIX}/`)) {
    violation(`not under ${API_PREFIX}: set GHE_HOST=${url.host} and GHE_PROTOCOL=http so Octokit uses ${deps.urls.api}`);
    return { ...base, reply: errorReply(notFound()) };
  }
  let routedPath = path;
  const byId = BY_ID.exec(path);
  if (byId) {
    // Not in the description, but GitHub serves every repository path by id there.
    const repo = deps.state.repoById(Number(byId[1]));
    if (!repo) return { ...base, reply: errorReply(notFound()) };
    routedPath = `/repos/${encodeURIComponent(repo.owner.login)}/${encodeURIComponent(repo.name)}${byId[2] ?? ""}`;
  }
  const match = deps.check.match(method, routedPath);
  if (!match) {
    violation(deps.check.hasPath(routedPath) ? `GitHub has no ${method} operation on this path` : "no such endpoint in GitHub's REST API");
    return { ...base, reply: errorReply(notFound()) };
  }
  const route = `${method} ${match.template}`;
  const definition = deps.routes.get(route);
  if (!definition) {
    violation(`${route} exists on GitHub but the simulator does not implement it (add a route under sim/routes/)`);
    return { ...base, route, reply: errorReply(notFound()) };
  }
  for (const problem of match.problems) violation(problem);
  if (match.problems.length > 0) return { ...base, route, reply: errorReply(notFound()) };

  let body: unknown;
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      violation("request body is not valid JSON");
      return { ...base, route, reply: errorReply(new GitHubError(400, "Problems parsing JSON")) };
    }
  }
  const problems = deps.check.checkRequest(match, url.searchParams, body);
  for (const problem of problems) violation(problem);

  const fault = deps.faults.take(method, path, match.template);
  const faultId = fault?.id ?? null;
  if (fault && !fault.afterEffect) {
    const faulted = await applyFault(deps, fault);
    if (faulted) return { ...base, route, faultId, ...faulted };
  }

  let credential: Credential;
  try {
    credential = definition.auth === "none" ? { kind: "none" } : deps.auth.authenticate(request.headers.authorization, definition.auth);
  } catch (error) {
    if (error instanceof GitHubError) return { ...base, route, faultId, reply: errorReply(error) };
    throw error;
  }
  const withCredential = { ...base, route, faultId, credential };
  if (credential.kind === "installation") {
    const installation = deps.state.installations.get(credential.token.installationId);
    // Tokens of a deleted installation are revoked; a suspended installation's are refused.
    if (!installation) return { ...withCredential, reply: errorReply(new GitHubError(401, "Bad credentials")) };
    if (installation.suspendedAt !== null)
      return { ...withCredential, reply: errorReply(new GitHubError(403, SUSPENDED, { documentation_url: TOKEN_DOCS })) };
  }
  const rateKey: RateLimitKey =
    credential.kind === "app"
      ? { kind: "app" }
      : credential.kind === "installation"
        ? { kind: "installation", installationId: credential.token.installationId }
        : { kind: "anonymous" };
  const budget = deps.rateLimits.take(rateKey);
  const counted = { ...withCredential, rateLimitHeaders: budget.headers };
  if (budget.exceeded) return { ...counted, rateLimited: true, reply: rateLimitExceeded(rateKey, budget.headers) };
  if (problems.length > 0) return { ...counted, reply: errorReply(invalidRequest(problems.join("\n"))) };

  let reply: Reply;
  try {
    reply = await definition.handle({
      method,
      state: deps.state,
      urls: deps.urls,
      auth: deps.auth,
      params: match.params,
      query: url.searchParams,
      body,
      headers: request.headers,
      url,
      credential,
      violation,
    });
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    reply = errorReply(error);
  }
  if (fault?.afterEffect) {
    const faulted = await applyFault(deps, fault);
    if (faulted) return { ...counted, ...faulted };
  }
  if (deps.checkResponses) checkOwnResponse(deps.check, match, reply, violation);
  return { ...counted, reply };
}

/** GitHub's answer once a primary rate limit is spent. */
function rateLimitExceeded(key: RateLimitKey, headers: Record<string, string>): Reply {
  const who = key.kind === "installation" ? `installation ID ${key.installationId}` : "this app";
  const error = new GitHubError(403, `API rate limit exceeded for ${who}.`, { documentation_url: RATE_LIMIT_DOCS }, headers);
  return errorReply(error);
}

const noop = (): void => undefined;

/** The fault's answer; `undefined` for a delay-only or hold-only fault (the request then proceeds). */
async function applyFault(deps: RequestDeps, fault: ActiveFault): Promise<{ reply: Reply; hang: boolean } | undefined> {
  if (fault.delayMs !== undefined) await sleepUnlessClosed(fault.delayMs, deps.closed);
  if (fault.until !== undefined) await Promise.race([fault.until.then(noop, noop), deps.closed]);
  if (fault.hang) return { reply: { status: 0 }, hang: true };
  if (fault.status === undefined) return undefined;
  const defaults = defaultFaultResponse(fault.status, deps.state.clock().getTime());
  return {
    reply: { status: fault.status, body: fault.body ?? defaults.body, headers: { ...defaults.headers, ...fault.headers } },
    hang: false,
  };
}

function checkOwnResponse(check: OpenApiCheck, match: OperationMatch, reply: Reply, violation: (problem: string) => void): void {
  // Redirects (renamed repositories) can answer any repository operation; the description lists them on few.
  if (reply.raw !== undefined || (reply.status >= 300 && reply.status < 400)) return;
  for (const problem of check.checkResponse(match, reply.status, reply.body)) violation(`simulator response ${reply.status}: ${problem}`);
}

function errorReply(error: GitHubError): Reply {
  return { status: error.status, body: error.body(), headers: error.headers };
}

function send(deps: RequestDeps, request: IncomingMessage, response: ServerResponse, outcome: Outcome): void {
  // Requests answered before their credential was checked (faults, unknown endpoints, bad
  // credentials) are counted, never refused, against the budget their header names.
  const rateLimitHeaders = outcome.rateLimitHeaders ?? deps.rateLimits.count(deps.auth.rateLimitKey(request.headers.authorization));
  const id = requestId();
  const headers: Record<string, string> = {
    "x-github-request-id": id,
    "x-github-media-type": "github.v3; format=json",
    "x-github-api-version-selected": "2022-11-28",
    ...rateLimitHeaders,
    ...outcome.reply.headers,
  };
  let reply = outcome.reply;
  if (outcome.rateLimited && typeof reply.body === "object" && reply.body !== null) {
    const body = reply.body as { message: string };
    reply = {
      ...reply,
      body: { ...body, message: `${body.message} If you reach out to GitHub Support for help, please include the request ID ${id}.` },
    };
  }
  if (reply.raw !== undefined) {
    response.writeHead(reply.status, {
      ...headers,
      "content-type": reply.raw.contentType,
      "content-length": String(reply.raw.data.length),
    });
    response.end(reply.raw.data);
    return;
  }
  if (reply.body === undefined || reply.status === 204) {
    response.writeHead(reply.status, headers);
    response.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(reply.body));
  response.writeHead(reply.status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(data.length),
  });
  response.end(data);
}
