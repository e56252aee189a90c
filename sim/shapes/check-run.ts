import type { SimState } from "../model/state.js";
import type { SimCheckRun, SimRepo } from "../model/types.js";
import { integration } from "./installation.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `check-run` shape. */
export function checkRun(urls: Urls, state: SimState, repo: SimRepo, run: SimCheckRun): Record<string, unknown> {
  const url = `${urls.api}/repos/${repo.fullName}/check-runs/${run.id}`;
  return {
    id: run.id,
    node_id: nodeId("CheckRun", run.id),
    head_sha: run.headSha,
    external_id: run.externalId ?? "",
    url,
    html_url: `${urls.web}/${repo.fullName}/runs/${run.id}`,
    details_url: run.detailsUrl ?? `${urls.web}/apps/${state.app.slug}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: run.output.annotations.length,
      annotations_url: `${url}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.checkSuiteId },
    app: integration(urls, state, state.app),
    pull_requests: [],
  };
}
