/**
 * The run a `deployment_protection_rule` delivery is about, from its `deployment_callback_url`:
 * `…/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`. The URL must name
 * the delivery's own repository; otherwise the delivery is refused before any call, so that
 * nothing in a payload can point the gate at another repository's run. Pure.
 */
import { sameName } from "../util/ascii-case.js";

export type CallbackRun = { ok: true; runId: number } | { ok: false; why: string };

/** `owner/name` of the repository the delivery is for (`payload.repository`). */
export interface CallbackRepository {
  owner: string;
  name: string;
}

const RUN_ID = /^[1-9]\d{0,15}$/u;

export function runFromCallbackUrl(callbackUrl: unknown, repository: CallbackRepository): CallbackRun {
  if (typeof callbackUrl !== "string" || callbackUrl === "") return { ok: false, why: "the delivery has no deployment_callback_url" };
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return { ok: false, why: "the deployment_callback_url is not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, why: "the deployment_callback_url is not an http(s) URL" };
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    return { ok: false, why: "the deployment_callback_url carries credentials, a query or a fragment" };
  }
  const segments = url.pathname.split("/").slice(1);
  // api.github.com has the REST API at the root; GitHub Enterprise Server (and the simulator) under /api/v3.
  const rest = segments[0] === "api" && segments[1] === "v3" ? segments.slice(2) : segments;
  const [repos, owner, repo, actions, runs, runId, endpoint, ...extra] = rest.map(decodeSegment);
  if (
    repos !== "repos" ||
    actions !== "actions" ||
    runs !== "runs" ||
    endpoint !== "deployment_protection_rule" ||
    extra.length > 0 ||
    owner === undefined ||
    repo === undefined
  ) {
    return { ok: false, why: "the deployment_callback_url is not …/repos/OWNER/REPO/actions/runs/RUN_ID/deployment_protection_rule" };
  }
  if (!sameName(owner, repository.owner) || !sameName(repo, repository.name)) {
    return {
      ok: false,
      why: `the deployment_callback_url names another repository than the delivery's (${repository.owner}/${repository.name})`,
    };
  }
  if (runId === undefined || !RUN_ID.test(runId) || !Number.isSafeInteger(Number(runId))) {
    return { ok: false, why: "the deployment_callback_url does not name a workflow run by its number" };
  }
  return { ok: true, runId: Number(runId) };
}

/** A path segment, percent-decoded; one that does not decode is kept as is (and then names nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
