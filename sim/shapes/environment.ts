import type { SimEnvironment, SimRepo } from "../model/types.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `environment` shape. */
export function environment(urls: Urls, repo: SimRepo, value: SimEnvironment): Record<string, unknown> {
  const name = encodeURIComponent(value.name);
  const protection = value.protection;
  // A rule's id is stable: derived from the environment's id and the rule's kind.
  const rule = (kind: number) => ({ id: value.id * 10 + kind, node_id: nodeId("ProtectionRule", value.id * 10 + kind) });
  return {
    id: value.id,
    node_id: nodeId("Environment", value.id),
    name: value.name,
    url: `${urls.api}/repos/${repo.fullName}/environments/${name}`,
    html_url: `${urls.web}/${repo.fullName}/deployments/activity_log?environments_filter=${name}`,
    created_at: value.createdAt,
    updated_at: value.updatedAt,
    protection_rules: [
      ...(protection.waitTimer === null ? [] : [{ ...rule(1), type: "wait_timer", wait_timer: protection.waitTimer }]),
      ...(protection.branchPolicy === null ? [] : [{ ...rule(2), type: "branch_policy" }]),
    ],
    deployment_branch_policy:
      protection.branchPolicy === null
        ? null
        : {
            protected_branches: protection.branchPolicy === "protected_branches",
            custom_branch_policies: protection.branchPolicy === "custom_branch_policies",
          },
  };
}
