/** Every implemented operation, keyed "METHOD /openapi/template". */
import type { RouteDefinition } from "../server/route.js";
import { actionsRoutes } from "./actions.js";
import { appRoutes } from "./app.js";
import { appManifestRoutes } from "./app-manifests.js";
import { checkRunRoutes } from "./check-runs.js";
import { compareRoutes } from "./compare.js";
import { contentRoutes } from "./contents.js";
import { environmentRoutes } from "./environments.js";
import { hookDeliveryRoutes } from "./hook-deliveries.js";
import { issueCommentRoutes } from "./issue-comments.js";
import { labelRoutes } from "./labels.js";
import { pullRoutes } from "./pulls.js";
import { repoRoutes } from "./repos.js";
import { teamRoutes } from "./teams.js";

export function routeTable(): Map<string, RouteDefinition> {
  const table = new Map<string, RouteDefinition>();
  for (const route of [
    ...appRoutes,
    ...appManifestRoutes,
    ...hookDeliveryRoutes,
    ...repoRoutes,
    ...contentRoutes,
    ...pullRoutes,
    ...compareRoutes,
    ...teamRoutes,
    ...environmentRoutes,
    ...checkRunRoutes,
    ...issueCommentRoutes,
    ...labelRoutes,
    ...actionsRoutes,
  ]) {
    const key = `${route.method} ${route.path}`;
    if (table.has(key)) throw new Error(`Route ${key} is defined twice.`);
    table.set(key, route);
  }
  return table;
}
