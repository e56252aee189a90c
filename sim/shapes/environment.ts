import type { SimEnvironment, SimRepo } from "../model/types.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `environment` shape. */
export function environment(urls: Urls, repo: SimRepo, value: SimEnvironment): Record<string, unknown> {
  const name = encodeURIComponent(value.name);
  return {
    id: value.id,
    node_id: nodeId("Environment", value.id),
    name: value.name,
    url: `${urls.api}/repos/${repo.fullName}/environments/${name}`,
    html_url: `${urls.web}/${repo.fullName}/deployments/activity_log?environments_filter=${name}`,
    created_at: value.createdAt,
    updated_at: value.updatedAt,
    protection_rules: [],
    deployment_branch_policy: null,
  };
}
