/**
 * The app's webhook delivery log (JWT), as GitHub keeps it: one entry per attempt, newest first,
 * paged by an opaque cursor, filterable by `status=success|failure`.
 */
import { notFound } from "../server/github-error.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { appRoute } from "../server/scoped-routes.js";
import type { HookDeliveryAttempt } from "../model/state.js";

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
  appRoute("GET", "/app/hook/deliveries/{delivery_id}", (context) => {
    const found = context.state.hookDeliveries.find((attempt) => String(attempt.id) === param(context, "delivery_id"));
    if (!found) throw notFound();
    return json(200, { ...item(found), url: "", request: { headers: {}, payload: {} }, response: { headers: {}, payload: null } });
  }),
];
