import { describe, expect, it } from "@jest/globals";
import { runFromCallbackUrl } from "../../src/gate/callback-url.js";

const repository = { owner: "acme", name: "api" };

describe("runFromCallbackUrl", () => {
  it.each<[string, string, number]>([
    ["api.github.com", "https://api.github.com/repos/acme/api/actions/runs/30433642/deployment_protection_rule", 30433642],
    [
      "GitHub Enterprise Server (and the simulator), under /api/v3",
      "http://127.0.0.1:3001/api/v3/repos/acme/api/actions/runs/7/deployment_protection_rule",
      7,
    ],
    ["owner and repository in another case", "https://api.github.com/repos/ACME/Api/actions/runs/12/deployment_protection_rule", 12],
    ["percent-encoded letters", "https://api.github.com/repos/%61cme/api/actions/runs/12/deployment_protection_rule", 12],
  ])("takes the run from %s", (_name, url, runId) => {
    expect(runFromCallbackUrl(url, repository)).toEqual({ ok: true, runId });
  });

  it.each<[string, unknown, string]>([
    [
      "another repository of the same owner",
      "https://api.github.com/repos/acme/web/actions/runs/12/deployment_protection_rule",
      "names another repository than the delivery's (acme/api)",
    ],
    [
      "a repository of another owner",
      "https://api.github.com/repos/evil/api/actions/runs/12/deployment_protection_rule",
      "names another repository",
    ],
    [
      "a look-alike owner beyond ASCII",
      "https://api.github.com/repos/\u212Acme/api/actions/runs/12/deployment_protection_rule",
      "names another repository",
    ],
    [
      "a slash smuggled into the owner",
      "https://api.github.com/repos/acme%2Fapi/x/actions/runs/12/deployment_protection_rule",
      "names another repository",
    ],
    ["no URL", undefined, "has no deployment_callback_url"],
    ["not a URL", "repos/acme/api/actions/runs/12/deployment_protection_rule", "is not a URL"],
    ["another scheme", "file:///repos/acme/api/actions/runs/12/deployment_protection_rule", "not an http(s) URL"],
    ["another endpoint", "https://api.github.com/repos/acme/api/actions/runs/12/pending_deployments", "is not …/repos/OWNER/REPO"],
    ["a longer path", "https://api.github.com/repos/acme/api/actions/runs/12/deployment_protection_rule/x", "is not …/repos/OWNER/REPO"],
    [
      "a prefix other than /api/v3",
      "https://ghe.example/evil/repos/acme/api/actions/runs/12/deployment_protection_rule",
      "is not …/repos/OWNER/REPO",
    ],
    [
      "a run that is not a number",
      "https://api.github.com/repos/acme/api/actions/runs/12a/deployment_protection_rule",
      "does not name a workflow run",
    ],
    [
      "a run number with a leading zero",
      "https://api.github.com/repos/acme/api/actions/runs/012/deployment_protection_rule",
      "does not name a workflow run",
    ],
    [
      "a run number beyond safe integers",
      "https://api.github.com/repos/acme/api/actions/runs/9999999999999999/deployment_protection_rule",
      "does not name a workflow run",
    ],
    ["a query", "https://api.github.com/repos/acme/api/actions/runs/12/deployment_protection_rule?repo=web", "a query or a fragment"],
    ["credentials", "https://x:y@api.github.com/repos/acme/api/actions/runs/12/deployment_protection_rule", "carries credentials"],
  ])("refuses %s", (_name, url, why) => {
    const result = runFromCallbackUrl(url, repository);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.why).toContain(why);
  });
});
