import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import { sealForPublicKey, type GitHubSimulator } from "../../sim/index.js";
import { appOctokit, installationOctokit, startCheckedSimulator, statusOf, tokenOctokit } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
let repoId: number;
let number: number;

beforeAll(async () => {
  sim = await startCheckedSimulator();
  repoId = sim.createRepo("acme/api", {
    installationId: 42,
    environments: ["production"],
    collaborators: { alice: "write", bob: "admin" },
    files: { "jit-requests.yml": "requests: []\n" },
  }).id;
  sim.createTeam("acme", "dba", ["carol"]);
  sim.setTeamRepoPermission("acme", "dba", "acme/api", "write");
  sim.commit("acme/api", "feature", { "jit-requests.yml": "requests:\n  - secret: A\n" });
  number = await sim.openPullRequest("acme/api", { head: "feature", author: "alice", deliver: false });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

async function installationToken(installationId: number, repositories?: string[]): Promise<string> {
  return (
    await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: installationId, ...(repositories ? { repositories } : {}) })
  ).data.token;
}

describe("a renamed repository", () => {
  let scopedToken: string;

  beforeAll(async () => {
    scopedToken = await installationToken(42, ["api"]);
    expect(sim.renameRepo("acme/api", "acme/api2")).toMatchObject({
      id: repoId,
      fullName: "acme/api2",
      owner: "acme",
      name: "api2",
      installationId: 42,
    });
  });

  it("keeps its id and answers under the new name", async () => {
    const { data } = await octokit.repos.get({ owner: "acme", repo: "api2" });
    expect(data).toMatchObject({ id: repoId, full_name: "acme/api2", name: "api2" });
    expect(sim.repository(repoId)?.fullName).toBe("acme/api2");
    expect(sim.repository("acme/api")).toBeUndefined();
  });

  it("answers the old name with 301 and a Location on /repositories/{id}", async () => {
    const token = await installationToken(42);
    const response = await fetch(`${sim.apiUrl}/repos/acme/api/pulls/${number}?per_page=5`, {
      redirect: "manual",
      headers: { authorization: `token ${token}` },
    });
    expect(response.status).toBe(301);
    expect(response.headers.get("location")).toBe(`${sim.apiUrl}/repositories/${repoId}/pulls/${number}?per_page=5`);
    expect(await response.json()).toMatchObject({
      message: "Moved Permanently",
      url: `${sim.apiUrl}/repositories/${repoId}/pulls/${number}?per_page=5`,
    });
  });

  it("is followed transparently by Octokit for reads", async () => {
    const { data, url } = await octokit.pulls.get({ owner: "acme", repo: "api", pull_number: number });
    expect(data).toMatchObject({ number, base: { repo: { full_name: "acme/api2", id: repoId } } });
    expect(url).toBe(`${sim.apiUrl}/repositories/${repoId}/pulls/${number}`);
    const statuses = sim.requests.filter((request) => request.route === "GET /repos/{owner}/{repo}/pulls/{pull_number}").slice(-2);
    expect(statuses.map((request) => [request.path, request.status])).toEqual([
      [`/repos/acme/api/pulls/${number}`, 301],
      [`/repositories/${repoId}/pulls/${number}`, 200],
    ]);
  });

  it("redirects writes with 307, which keep their method and body", async () => {
    const environment = { owner: "acme", repo: "api", environment_name: "production" };
    const { data: key } = await octokit.actions.getEnvironmentPublicKey(environment);
    const put = await octokit.actions.createOrUpdateEnvironmentSecret({
      ...environment,
      secret_name: "MOVED",
      encrypted_value: sealForPublicKey("v", key.key),
      key_id: key.key_id,
    });
    expect(put.status).toBe(201);
    expect(sim.secretValue("acme/api2", "production", "MOVED")).toBe("v");
    expect(sim.requests.filter((request) => request.method === "PUT").map((request) => request.status)).toEqual([307, 201]);
    await octokit.actions.deleteEnvironmentSecret({ ...environment, secret_name: "MOVED" });
    expect(sim.secretValue("acme/api2", "production", "MOVED")).toBeUndefined();
  });

  it("serves /repositories/{id} and paths under it", async () => {
    const repo = await octokit.request("GET /repositories/{repository_id}", { repository_id: repoId });
    expect(repo.data).toMatchObject({ id: repoId, full_name: "acme/api2" });
    const files = await octokit.request("GET /repositories/{repository_id}/pulls/{pull_number}/files", {
      repository_id: repoId,
      pull_number: number,
    });
    expect((files.data as Array<{ filename: string }>).map((file) => file.filename)).toEqual(["jit-requests.yml"]);
    expect(await statusOf(octokit.request("GET /repositories/{repository_id}", { repository_id: 999_999 }))).toBe(404);
  });

  it("still covers the repository with a token scoped to it before the rename", async () => {
    expect((await tokenOctokit(sim, scopedToken).repos.get({ owner: "acme", repo: "api2" })).data.id).toBe(repoId);
  });

  it("carries the new name in later webhooks", async () => {
    await sim.pushToPullRequest("acme/api2", number, { "b.txt": "b\n" }, { deliver: false });
    const payload = JSON.parse(sim.lastDelivery?.body ?? "{}") as {
      repository: { id: number; full_name: string; url: string };
      pull_request: { base: { repo: { full_name: string } }; head: { repo: { full_name: string } } };
    };
    expect(payload.repository).toMatchObject({ id: repoId, full_name: "acme/api2", url: `${sim.apiUrl}/repos/acme/api2` });
    expect(payload.pull_request.base.repo.full_name).toBe("acme/api2");
    expect(payload.pull_request.head.repo.full_name).toBe("acme/api2");
  });

  it("points scripting calls that use the old name at the new one", () => {
    expect(() => sim.commit("acme/api", "main", { x: "1" })).toThrow(/renamed or transferred; it is now acme\/api2/);
  });

  it("refuses a rename onto another owner or an existing name", () => {
    sim.createRepo("acme/taken", { installationId: 42 });
    expect(() => sim.renameRepo("acme/api2", "other/api2")).toThrow(/sim\.transferRepo/);
    expect(() => sim.renameRepo("acme/api2", "taken")).toThrow(/already exists/);
    expect(() => sim.renameRepo("acme/api2", "bad name")).toThrow(/Invalid repository name/);
    expect(sim.repository(repoId)?.fullName).toBe("acme/api2");
  });

  it("stops redirecting once a new repository takes the old name", async () => {
    const fresh = sim.createRepo("acme/api", { installationId: 42 });
    const { data } = await octokit.repos.get({ owner: "acme", repo: "api" });
    expect(data.id).toBe(fresh.id);
    expect(data.id).not.toBe(repoId);
  });
});

describe("a transferred repository", () => {
  it("leaves an installation that is not on the new owner: every name answers 404", async () => {
    sim.createRepo("acme/billing", { installationId: 42, environments: ["production"] });
    const id = sim.repository("acme/billing")?.id as number;
    sim.setTeamRepoPermission("acme", "dba", "acme/billing", "write");
    expect(sim.transferRepo("acme/billing", "other-org")).toMatchObject({ id, fullName: "other-org/billing", installationId: null });
    expect(await statusOf(octokit.repos.get({ owner: "other-org", repo: "billing" }))).toBe(404);
    expect(await statusOf(octokit.repos.get({ owner: "acme", repo: "billing" }))).toBe(404);
    expect(await statusOf(octokit.request("GET /repositories/{repository_id}", { repository_id: id }))).toBe(404);
    expect(
      await statusOf(
        octokit.actions.deleteEnvironmentSecret({ owner: "acme", repo: "billing", environment_name: "production", secret_name: "X" }),
      ),
    ).toBe(404);
    // The app JWT finds no installation for it either.
    expect(await statusOf(appOctokit(sim).apps.getRepoInstallation({ owner: "other-org", repo: "billing" }))).toBe(404);
  });

  it("drops the former organisation's team grants", async () => {
    sim.transferRepo("other-org/billing", "acme", { installationId: 42 });
    expect(
      await statusOf(octokit.teams.checkPermissionsForRepoInOrg({ org: "acme", team_slug: "dba", owner: "acme", repo: "billing" })),
    ).toBe(404);
    expect(
      (await octokit.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "billing", username: "carol" })).data.permission,
    ).toBe("none");
  });

  it("joins the new owner's installation when there is one, redirecting the old name for it", async () => {
    sim.createRepo("beta/site", { installationId: 77 });
    const moved = sim.transferRepo("acme/billing", "beta", { name: "payments" });
    expect(moved).toMatchObject({ fullName: "beta/payments", installationId: 77 });
    const beta = installationOctokit(sim, 77);
    expect((await beta.repos.get({ owner: "beta", repo: "payments" })).data).toMatchObject({ id: moved.id, owner: { login: "beta" } });
    expect((await beta.repos.get({ owner: "acme", repo: "billing" })).data.full_name).toBe("beta/payments");
    expect(await statusOf(octokit.repos.get({ owner: "beta", repo: "payments" }))).toBe(404);
    const { data } = await appOctokit(sim).apps.getRepoInstallation({ owner: "acme", repo: "billing" });
    expect(data.id).toBe(77);
  });

  it("refuses a transfer to the same owner", () => {
    expect(() => sim.transferRepo("beta/payments", "beta")).toThrow(/already belongs to beta/);
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
