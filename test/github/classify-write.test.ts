import { describe, expect, it } from "@jest/globals";
import { classifyWrite } from "../../src/github/classify-write.js";
import { rateLimitWait } from "../../src/github/rate-limit-wait.js";

describe("classifyWrite", () => {
  it.each([
    ["DELETE", "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}", "secret-delete"],
    ["DELETE", "/api/v3/repos/acme/api/environments/production/secrets/PROD_DB_URL", "secret-delete"],
    ["PUT", "/repos/acme/api/environments/my%20env/secrets/PROD_DB_URL", "secret-put"],
    ["GET", "/repos/acme/api/environments/production/secrets/public-key", null],
    ["POST", "/repos/{owner}/{repo}/check-runs", "check-run"],
    ["PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "check-run"],
    ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "comment"],
    ["PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "comment"],
    ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "label"],
    ["DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "label"],
    ["POST", "/app/installations/{installation_id}/access_tokens", null],
    ["POST", "/api/v3/app/installations/42/access_tokens", null],
    ["GET", "/repos/acme/api/pulls/1", null],
    ["POST", "/repos/acme/api/labels", "other"],
  ])("%s %s → %s", (method, url, kind) => {
    expect(classifyWrite(method, url)).toBe(kind);
  });
});

describe("rateLimitWait", () => {
  const now = 1_700_000_000_000;
  const error = (status: number, headers: Record<string, string>, message = "") => ({
    status,
    message,
    response: { headers },
  });
  it.each([
    ["retry-after", error(403, { "retry-after": "30" }), 30_000],
    ["retry-after on 429", error(429, { "retry-after": "2" }), 2_000],
    ["primary quota spent", error(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 10) }), 11_000],
    [
      "primary quota spent, reckoned from GitHub's Date header (the app's clock is an hour behind)",
      error(403, {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(now / 1000 + 3600 + 10),
        date: new Date(now + 3600_000).toUTCString(),
      }),
      11_000,
    ],
    ["secondary without retry-after", error(403, {}, "You have exceeded a secondary rate limit"), 60_000],
    ["429 without headers", error(429, {}), 60_000],
    ["a plain 403 (permissions)", error(403, { "x-ratelimit-remaining": "4000" }, "Resource not accessible by integration"), null],
    ["a 500", error(500, { "retry-after": "5" }), null],
    ["not an HTTP error", new Error("socket hang up"), null],
  ])("%s", (_name, err, expected) => {
    expect(rateLimitWait(err, now)).toBe(expected);
  });
});
