import type { AppIdentity, SimState } from "../model/state.js";
import type { SimInstallation } from "../model/types.js";
import { simpleUser } from "./user.js";
import { nodeId, type Urls } from "./urls.js";

const EVENTS = ["pull_request", "pull_request_review"];

/** GitHub's `installation` shape. */
export function installation(urls: Urls, state: SimState, value: SimInstallation): Record<string, unknown> {
  return {
    id: value.id,
    account: simpleUser(urls, value.account),
    repository_selection: "selected",
    access_tokens_url: `${urls.api}/app/installations/${value.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/${value.account.type === "Organization" ? "organizations/" + value.account.login + "/" : ""}settings/installations/${value.id}`,
    app_id: state.app.id,
    app_slug: state.app.slug,
    target_id: value.account.id,
    target_type: value.account.type,
    permissions: value.permissions,
    events: EVENTS,
    created_at: value.createdAt,
    updated_at: value.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: value.suspendedByLogin === null ? null : simpleUser(urls, state.ensureAccount(value.suspendedByLogin)),
    suspended_at: value.suspendedAt,
  };
}

/** GitHub's `integration` shape for `GET /app`. */
export function integration(urls: Urls, state: SimState, app: AppIdentity): Record<string, unknown> {
  const owner = state.ensureAccount(app.ownerLogin, "Organization");
  return {
    id: app.id,
    slug: app.slug,
    client_id: `Iv1.${app.id.toString(16).padStart(16, "0")}`,
    node_id: nodeId("Integration", app.id),
    owner: simpleUser(urls, owner),
    name: app.name,
    description: app.description ?? "",
    external_url: urls.web,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    permissions: app.permissions ?? {
      checks: "write",
      contents: "read",
      environments: "read",
      issues: "write",
      members: "read",
      metadata: "read",
      pull_requests: "write",
      secrets: "write",
    },
    events: app.events ?? EVENTS,
    installations_count: state.installations.size,
  };
}
