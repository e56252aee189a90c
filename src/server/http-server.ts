/**
 * The app's HTTP server, in place of Probot's: the routes it is given — `GET /ping` (`PONG`),
 * `GET /healthz` and `GET /readyz` (health.ts), the webhook endpoint — and `404` for everything
 * else. Node's own limits bound what reaches the routes: headers must
 * arrive within `headersTimeoutMs` (10 s) and be at most 16 KiB, and a whole request within
 * `requestTimeoutMs` (40 s, a backstop behind the webhook endpoint's own 30 s body limit).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Log } from "../app/deps.js";
import type { RouteHandler } from "./webhook-endpoint.js";
import { errorMessage } from "../util/error-message.js";

export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 40_000;
export const STOP_GRACE_MS = 10_000;

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Log;
  /** Tried in order; the first to return true has taken the request. */
  routes: RouteHandler[];
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface RunningServer {
  server: Server;
  /** `http://HOST:PORT`, with the port actually bound. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const pingRoute: RouteHandler = (request, response) => {
  if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/ping") return false;
  response.writeHead(200, { "content-type": "text/plain" }).end("PONG");
  return true;
};

export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, headersTimeout),
      // How often Node checks the two timeouts above (default 30 s, which would let them slip).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      maxHeaderSize: 16 * 1024,
    },
    (request: IncomingMessage, response: ServerResponse) => {
      try {
        for (const route of options.routes) if (route(request, response)) return;
        options.log.debug({ method: request.method, status: 404 }, "no such route");
        response.writeHead(404).end();
      } catch (error) {
        options.log.error({ error: errorMessage(error) }, "request failed");
        if (!response.headersSent) response.writeHead(500).end();
      }
    },
  );
  // Malformed requests, header timeouts and oversized headers get Node's own 400, 408 and 431.

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new Error(`port ${options.port} is already in use; set PORT to a free one`) : error);
    });
    server.listen({ port: options.port, host: options.host }, resolve);
  });
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === "IPv6" ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    port,
    // Stops accepting, lets requests in flight finish, and cuts whatever is still open after
    // `STOP_GRACE_MS` (a stalled upload would otherwise hold the stop for its 30 s).
    stop: () =>
      new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        cut.unref();
        server.close((error) => {
          clearTimeout(cut);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
