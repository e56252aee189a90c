/**
 * The app's webhook delivery log (JWT), as GitHub keeps it: one entry per attempt, newest first,
 * paged by an opaque cursor, filterable by `status=success|failure`. Every attempt of one
 * delivery has the same `guid` (X-GitHub-Delivery) and its own `id`; a redelivery is flagged.
 * `POST …/{delivery_id}/attempts` asks for the delivery to be sent again: answered 202, then the
 * original payload is re-sent under the same guid, which logs a new attempt with `redelivery: true`.
 * As on GitHub, only attempts of the last three days can be redelivered (older: 422).
 */
import { GitHubError, notFound } from "../server/github-error.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { appRoute } from "../server/scoped-routes.js";
import type { HookDeliveryAttempt } from "../model/state.js";

/** GitHub redelivers attempts of the last three days only. */
const REDELIVERY_WINDOW_MS = 3 * 24 * 60 * 60_000;

const succeeded = (attempt: HookDeliveryAttempt): boolean => attempt.statusCode >= 200 && attempt.statusCode < 300;

function item(attempt: HookDeliveryAttempt): Record<string, unknown> {
  return {
    id: attempt.id,
    guid: attempt.guid,
    delivered_at: attempt.deliveredAt,
    redelivery: attempt.redelivery,
    duration: attempt.duration,
    status: succeeded(attempt)
      ? "OK"
      : attempt.statusCode === 0
        ? "failed to connect to host"
        : `Invalid HTTP Response: ${attempt.statusCode}`,
    status_code: attempt.statusCode,
    event: attempt.event,
    action: attempt.action,
    installation_id: attempt.installationId,
    repository_id: attempt.repositoryId,
  };
}

function list(context: RouteContext): ReturnType<typeof json> {
  const perPage = Math.min(100, Math.max(1, Number(context.query.get("per_page") ?? 30) || 30));
  const status = context.query.get("status");
  const cursor = context.query.get("cursor");
  const before = cursor === null ? Number.POSITIVE_INFINITY : Number(cursor);
  const matching = [...context.state.hookDeliveries]
    .reverse()
    .filter((attempt) => attempt.id < before)
    .filter((attempt) => status === null || (status === "success") === succeeded(attempt));
  const items = matching.slice(0, perPage);
  const headers: Record<string, string> = {};
  if (matching.length > perPage) {
    const next = new URL(context.url);
    next.searchParams.set("per_page", String(perPage));
    next.searchParams.set("cursor", String(items.at(-1)!.id));
    headers.link = `<${next.toString()}>; rel="next"`;
  }
  return json(200, items.map(item), headers);
}

export const hookDeliveryRoutes: RouteDefinition[] = [
  appRoute("GET", "/app/hook/deliveries", list),
  appRoute("POST", "/app/hook/deliveries/{delivery_id}/attempts", (context) => {
    const found = context.state.hookDeliveries.find((attempt) => String(attempt.id) === param(context, "delivery_id"));
    if (!found) throw notFound();
    if (context.state.clock().getTime() - Date.parse(found.deliveredAt) > REDELIVERY_WINDOW_MS) {
      throw new GitHubError(422, "Validation Failed: the delivery is older than 3 days and cannot be redelivered");
    }
    context.state.onRedeliveryRequested(found.guid);
    return json(202, {});
  }),
  appRoute("GET", "/app/hook/deliveries/{delivery_id}", (context) => {
    const found = context.state.hookDeliveries.find((attempt) => String(attempt.id) === param(context, "delivery_id"));
    if (!found) throw notFound();
    return json(200, { ...item(found), url: "", request: { headers: {}, payload: {} }, response: { headers: {}, payload: null } });
  }),
];
