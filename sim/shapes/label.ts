import type { SimLabel, SimRepo } from "../model/types.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `label` shape. */
export function label(urls: Urls, repo: SimRepo, value: SimLabel): Record<string, unknown> {
  return {
    id: value.id,
    node_id: nodeId("Label", value.id),
    url: `${urls.api}/repos/${repo.fullName}/labels/${encodeURIComponent(value.name)}`,
    name: value.name,
    description: value.description,
    color: value.color,
    default: false,
  };
}

export function labelsOf(urls: Urls, repo: SimRepo, keys: string[]): Array<Record<string, unknown>> {
  return keys.flatMap((key) => {
    const value = repo.labels.get(key);
    return value ? [label(urls, repo, value)] : [];
  });
}
