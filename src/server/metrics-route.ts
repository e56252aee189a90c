/**
 * `GET /metrics`: the app's Prometheus metrics (see metrics/app-metrics.ts), next to `/healthz`
 * and `/readyz`. Counts, durations and installation ids only: nothing a secret, a repository or a
 * person could be read from; still, expose the port only where Prometheus can reach it.
 */
import type { Log } from "../app/deps.js";
import type { AppMetrics } from "../metrics/app-metrics.js";
import { errorSummary } from "../util/error-message.js";
import type { RouteHandler } from "./webhook-endpoint.js";

export function metricsRoute(metrics: AppMetrics, log: Log): RouteHandler {
  return (request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") return false;
    metrics.scrape().then(
      ({ contentType, body }) => response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(body),
      (error: unknown) => {
        log.error({ error: errorSummary(error) }, "collecting the metrics failed");
        if (!response.headersSent) response.writeHead(500).end();
      },
    );
    return true;
  };
}
