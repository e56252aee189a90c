import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import type { GitHubSimulator } from "../../sim/index.js";
import {
  anonymousOctokit,
  appOctokit,
  installationOctokit,
  nowSeconds,
  signJwt,
  startCheckedSimulator,
  statusOf,
  tokenOctokit,
} from "./helpers.js";

let sim: GitHubSimulator;

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: 42 });
  sim.createRepo("acme/web", { installationId: 42 });
  sim.createRepo("other/lib", { installationId: 77 });
});
afterAll(() => sim.close());

describe("installation token exchange", () => {
  it("issues a token for a valid app JWT and accepts it on repository endpoints", async () => {
    const jwt = signJwt(sim.privateKeyPem, { iss: sim.appId, iat: nowSeconds() - 30, exp: nowSeconds() + 540 });
    const { status, data } = await tokenOctokit(sim, jwt).apps.createInstallationAccessToken({ installation_id: 42 });
    expect(status).toBe(201);
    expect(data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(data.expires_at)).toBeGreaterThan(Date.now());
    expect(data.repository_selection).toBe("selected");
    expect(data.permissions).toMatchObject({ pull_requests: "write", checks: "write" });

    const repo = await tokenOctokit(sim, data.token).repos.get({ owner: "acme", repo: "api" });
    expect(repo.data).toMatchObject({ full_name: "acme/api", default_branch: "main", private: true, owner: { login: "acme" } });
  });

  it("issues distinct random tokens", async () => {
    const jwt = signJwt(sim.privateKeyPem, { iss: sim.appId, iat: nowSeconds() - 30, exp: nowSeconds() + 540 });
    const octokit = tokenOctokit(sim, jwt);
    const first = await octokit.apps.createInstallationAccessToken({ installation_id: 42 });
    const second = await octokit.apps.createInstallationAccessToken({ installation_id: 42 });
    expect(first.data.token).not.toBe(second.data.token);
  });

  const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  it.each([
    ["signed with another key", () => signJwt(otherKey, { iss: sim.appId, iat: nowSeconds() - 30, exp: nowSeconds() + 540 })],
    ["expired", () => signJwt(sim.privateKeyPem, { iss: sim.appId, iat: nowSeconds() - 700, exp: nowSeconds() - 60 })],
    ["expiring too far ahead", () => signJwt(sim.privateKeyPem, { iss: sim.appId, iat: nowSeconds(), exp: nowSeconds() + 3600 })],
    ["issued by another app", () => signJwt(sim.privateKeyPem, { iss: sim.appId + 1, iat: nowSeconds() - 30, exp: nowSeconds() + 540 })],
    ["not a JWT", () => "not-a-jwt"],
  ])("rejects a JWT %s with 401", async (_label, makeJwt) => {
    expect(await statusOf(tokenOctokit(sim, makeJwt()).apps.createInstallationAccessToken({ installation_id: 42 }))).toBe(401);
  });

  it("answers 404 for an unknown installation", async () => {
    expect(await statusOf(appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 999 }))).toBe(404);
  });

  it("works through @octokit/auth-app as Probot uses it", async () => {
    const { data } = await installationOctokit(sim, 42).apps.listReposAccessibleToInstallation();
    expect(data.repositories.map((repo) => repo.full_name)).toEqual(["acme/api", "acme/web"]);
    expect(data.total_count).toBe(2);
  });

  it("paginates installations with a Link header", async () => {
    const first = await appOctokit(sim).apps.listInstallations({ per_page: 1 });
    expect(first.data.map((installation) => installation.id)).toEqual([42]);
    expect(first.headers.link).toMatch(/<[^>]*page=2[^>]*>; rel="next", <[^>]*page=2[^>]*>; rel="last"/);
    const all = await appOctokit(sim).paginate(appOctokit(sim).apps.listInstallations, { per_page: 1 });
    expect(all.map((installation) => [installation.id, installation.account?.login])).toEqual([
      [42, "acme"],
      [77, "other"],
    ]);
  });

  it("narrows a token to the requested repositories", async () => {
    const { data } = await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 42, repositories: ["api"] });
    const narrowed = tokenOctokit(sim, data.token);
    expect((await narrowed.repos.get({ owner: "acme", repo: "api" })).status).toBe(200);
    expect(await statusOf(narrowed.repos.get({ owner: "acme", repo: "web" }))).toBe(404);
  });
});

describe("credentials on API endpoints", () => {
  it("answers 401 with GitHub's body for a missing or unknown token", async () => {
    const error = await tokenOctokit(sim, "ghs_doesnotexist")
      .repos.get({ owner: "acme", repo: "api" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, response: { data: { message: "Bad credentials", documentation_url: expect.any(String) } } });
    expect(await statusOf(anonymousOctokit(sim).repos.get({ owner: "acme", repo: "api" }))).toBe(401);
  });

  it("answers 401 for an app JWT on an installation endpoint, and for a token on an app endpoint", async () => {
    const jwt = signJwt(sim.privateKeyPem, { iss: sim.appId, iat: nowSeconds() - 30, exp: nowSeconds() + 540 });
    expect(await statusOf(tokenOctokit(sim, jwt).repos.get({ owner: "acme", repo: "api" }))).toBe(401);
    const { token } = (await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 42 })).data;
    expect(await statusOf(tokenOctokit(sim, token).apps.listInstallations())).toBe(401);
  });

  it("answers 404 for a repository outside the token's installation", async () => {
    expect(await statusOf(installationOctokit(sim, 42).repos.get({ owner: "other", repo: "lib" }))).toBe(404);
  });

  it("finds the installation of a repository with the app JWT", async () => {
    const { data } = await appOctokit(sim).apps.getRepoInstallation({ owner: "other", repo: "lib" });
    expect(data).toMatchObject({ id: 77, account: { login: "other" }, app_id: sim.appId });
  });

  it("answers 401 once tokens are expired by the fault switch", async () => {
    const { token } = (await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 77 })).data;
    expect((await tokenOctokit(sim, token).repos.get({ owner: "other", repo: "lib" })).status).toBe(200);
    expect(sim.faults.expireTokens(77)).toBeGreaterThan(0);
    expect(await statusOf(tokenOctokit(sim, token).repos.get({ owner: "other", repo: "lib" }))).toBe(401);
  });

  it("records the installation of each request", () => {
    const repoGets = sim.requests.filter((request) => request.route === "GET /repos/{owner}/{repo}" && request.status === 200);
    expect(new Set(repoGets.map((request) => request.installationId))).toEqual(new Set([42, 77]));
    expect(
      sim.requests
        .filter((request) => request.route === "POST /app/installations/{installation_id}/access_tokens")
        .every((request) => request.installationId === null),
    ).toBe(true);
  });

  it("sends GitHub's headers", async () => {
    const response = await installationOctokit(sim, 42).repos.get({ owner: "acme", repo: "api" });
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    for (const name of [
      "x-ratelimit-limit",
      "x-ratelimit-remaining",
      "x-ratelimit-reset",
      "x-ratelimit-used",
      "x-ratelimit-resource",
      "x-github-request-id",
    ]) {
      expect(response.headers[name]).toBeDefined();
    }
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
