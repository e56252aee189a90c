import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { loadOpenApiCheck, type OpenApiCheck } from "../../sim/openapi-check.js";
import { appOctokit, installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

describe("OpenApiCheck", () => {
  let check: OpenApiCheck;
  beforeAll(async () => {
    check = await loadOpenApiCheck();
  });

  it.each([
    ["GET", "/repos/acme/api/pulls/7", "/repos/{owner}/{repo}/pulls/{pull_number}", { owner: "acme", repo: "api", pull_number: "7" }],
    ["GET", "/repos/acme/api/issues/comments/5", "/repos/{owner}/{repo}/issues/comments/{comment_id}", { comment_id: "5" }],
    ["GET", "/repos/acme/api/contents/.github%2FCODEOWNERS", "/repos/{owner}/{repo}/contents/{path}", { path: ".github/CODEOWNERS" }],
    ["GET", "/repos/acme/api/contents/.github/CODEOWNERS", "/repos/{owner}/{repo}/contents/{path}", { path: ".github/CODEOWNERS" }],
    [
      "PUT",
      "/repos/acme/api/environments/staging%20eu/secrets/X",
      "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
      { environment_name: "staging eu" },
    ],
    [
      "GET",
      "/repos/acme/api/environments/prod/secrets/public-key",
      "/repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key",
      {},
    ],
  ])("matches %s %s to the most specific template", (method, path, template, params) => {
    const match = check.match(method, path);
    expect(match?.template).toBe(template);
    expect(match?.params).toMatchObject(params);
  });

  it("finds no operation for unknown paths or methods", () => {
    expect(check.match("GET", "/repos/acme/api/nonsense")).toBeUndefined();
    expect(check.match("POST", "/repos/acme/api/pulls/1/files")).toBeUndefined();
    expect(check.hasPath("/repos/acme/api/pulls/1/files")).toBe(true);
  });

  it("reports a non-integer path parameter", () => {
    expect(check.match("GET", "/repos/acme/api/pulls/abc")?.problems).toEqual([
      expect.stringContaining('"pull_number" must be an integer'),
    ]);
  });

  it("validates request bodies against the operation's schema", () => {
    const match = check.match("POST", "/repos/acme/api/check-runs");
    if (!match) throw new Error("no match");
    expect(check.checkRequest(match, new URLSearchParams(), { head_sha: "abc" })).toEqual(['body: "name" wasn\'t supplied']);
    expect(check.checkRequest(match, new URLSearchParams(), { name: "n", head_sha: "abc", status: "done" })).toEqual([
      expect.stringContaining("body/status"),
    ]);
    expect(check.checkRequest(match, new URLSearchParams(), undefined)).toEqual(["a JSON request body is required"]);
    expect(check.checkRequest(match, new URLSearchParams(), { name: "n", head_sha: "abc" })).toEqual([]);
  });

  it("validates query parameters", () => {
    const match = check.match("GET", "/repos/acme/api/pulls/1/reviews");
    if (!match) throw new Error("no match");
    expect(check.checkRequest(match, new URLSearchParams("per_page=lots"), undefined)).toEqual([
      expect.stringContaining('"per_page" must be an integer'),
    ]);
  });

  it("validates responses", () => {
    const match = check.match("GET", "/repos/acme/api/environments/prod/secrets/public-key");
    if (!match) throw new Error("no match");
    expect(check.checkResponse(match, 200, { key_id: "1", key: "k" })).toEqual([]);
    expect(check.checkResponse(match, 200, { key: "k" })).toEqual(['response: "key_id" wasn\'t supplied']);
    expect(check.checkResponse(match, 299, {})).toEqual([expect.stringContaining("not documented")]);
  });
});

describe("violations recorded by the simulator", () => {
  let sim: GitHubSimulator;
  let octokit: Octokit;
  beforeAll(async () => {
    sim = await startCheckedSimulator();
    sim.createRepo("acme/api", { installationId: 42 });
    octokit = installationOctokit(sim, 42);
    await octokit.repos.get({ owner: "acme", repo: "api" });
  });
  afterAll(() => sim.close());

  const last = () => sim.violations[sim.violations.length - 1];

  it("answers 422 and records an invalid body (a check run without a name)", async () => {
    const head = sim.branchSha("acme/api", "main");
    expect(await statusOf(octokit.request("POST /repos/acme/api/check-runs", { head_sha: head }))).toBe(422);
    expect(last()).toEqual({ method: "POST", path: "/repos/acme/api/check-runs", problem: 'body: "name" wasn\'t supplied' });
    expect(sim.checkRuns("acme/api")).toEqual([]);
  });

  it.each([
    ["an endpoint GitHub does not have", "GET /repos/acme/api/nonsense", "no such endpoint in GitHub's REST API"],
    ["a method GitHub does not have on the path", "DELETE /repos/acme/api/pulls/1/files", "GitHub has no DELETE operation on this path"],
    [
      "a GitHub endpoint the simulator does not serve",
      "GET /repos/acme/api/branches",
      "exists on GitHub but the simulator does not implement it",
    ],
    ["a malformed path parameter", "GET /repos/acme/api/pulls/abc", '"pull_number" must be an integer'],
  ])("answers 404 and records %s", async (_label, route, problem) => {
    const before = sim.violations.length;
    expect(await statusOf(octokit.request(route))).toBe(404);
    expect(sim.violations.slice(before)).toEqual([expect.objectContaining({ problem: expect.stringContaining(problem) })]);
  });

  it("records requests that bypass /api/v3", async () => {
    const response = await fetch(`${sim.baseUrl}/repos/acme/api`);
    expect(response.status).toBe(404);
    expect(last()?.problem).toContain(`GHE_HOST=${sim.host}`);
  });

  it("answers 400 and records a body that is not JSON", async () => {
    const { data } = await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 42 });
    const response = await fetch(`${sim.apiUrl}/repos/acme/api/check-runs`, {
      method: "POST",
      headers: { authorization: `token ${data.token}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(last()?.problem).toBe("request body is not valid JSON");
  });
});
