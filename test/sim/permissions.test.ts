import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: 42, collaborators: { alice: "write", bob: "admin" } });
  sim.createRepo("acme/hidden", { installationId: null });
  sim.createRepo("acme/public-docs", { installationId: null, private: false });
  sim.createRepo("other/lib", { installationId: 77 });
  sim.createTeam("acme", "dba", { carol: "maintainer", dave: "member" });
  sim.createTeam("acme", "readers", ["erin"]);
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

const permissionOf = async (username: string) => (await octokit.repos.getCollaboratorPermissionLevel({ ...repo, username })).data;

describe("team repository permissions", () => {
  it("answers 404 while the team has no access, 204 once it has", async () => {
    const check = () => octokit.teams.checkPermissionsForRepoInOrg({ org: "acme", team_slug: "dba", owner: "acme", repo: "api" });
    expect(await statusOf(check())).toBe(404);
    sim.setTeamRepoPermission("acme", "dba", "acme/api", "write");
    const response = await check();
    expect(response.status).toBe(204);
    expect(response.data).toBe("");
    sim.setTeamRepoPermission("acme", "dba", "acme/api", null);
    expect(await statusOf(check())).toBe(404);
  });

  it.each([
    ["read", { admin: false, maintain: false, push: false, triage: false, pull: true }],
    ["triage", { admin: false, maintain: false, push: false, triage: true, pull: true }],
    ["write", { admin: false, maintain: false, push: true, triage: true, pull: true }],
    ["maintain", { admin: false, maintain: true, push: true, triage: true, pull: true }],
    ["admin", { admin: true, maintain: true, push: true, triage: true, pull: true }],
  ] as const)("answers the repository with %s permissions for the repository media type", async (role, permissions) => {
    sim.setTeamRepoPermission("acme", "readers", "acme/api", role);
    const { status, data } = await octokit.teams.checkPermissionsForRepoInOrg({
      org: "acme",
      team_slug: "readers",
      owner: "acme",
      repo: "api",
      mediaType: { format: "repository" },
    });
    expect(status).toBe(200);
    expect(data).toMatchObject({ full_name: "acme/api", id: sim.repository("acme/api")?.id, permissions, role_name: role });
  });

  it("answers 404 for an unknown team, an unknown repository, or a private repository the token cannot see", async () => {
    const check = (team_slug: string, name: string) =>
      octokit.teams.checkPermissionsForRepoInOrg({ org: "acme", team_slug, owner: "acme", repo: name });
    sim.setTeamRepoPermission("acme", "dba", "acme/hidden", "admin");
    sim.setTeamRepoPermission("acme", "dba", "acme/public-docs", "read");
    expect(await statusOf(check("nope", "api"))).toBe(404);
    expect(await statusOf(check("dba", "nope"))).toBe(404);
    expect(await statusOf(check("dba", "hidden"))).toBe(404);
    expect((await check("dba", "public-docs")).status).toBe(204);
  });

  it("answers 404 to an installation of another organisation", async () => {
    sim.setTeamRepoPermission("acme", "dba", "acme/api", "write");
    const other = installationOctokit(sim, 77);
    expect(await statusOf(other.teams.checkPermissionsForRepoInOrg({ org: "acme", team_slug: "dba", owner: "acme", repo: "api" }))).toBe(
      404,
    );
  });

  it("refuses, clearly, a team of another organisation, an unknown team and an unknown role", () => {
    sim.createTeam("other", "devs", ["frank"]);
    expect(() => sim.setTeamRepoPermission("other", "devs", "acme/api", "write")).toThrow(/only gets repositories of its own organisation/);
    expect(() => sim.setTeamRepoPermission("acme", "ghosts", "acme/api", "write")).toThrow(/Unknown team @acme\/ghosts/);
    expect(() => sim.setTeamRepoPermission("acme", "dba", "acme/api", "push" as never)).toThrow(/Invalid role "push"/);
  });
});

describe("collaborator permission", () => {
  it("reflects a demotion and a removal at once", async () => {
    expect(await permissionOf("alice")).toMatchObject({ permission: "write", role_name: "write", user: { permissions: { push: true } } });
    sim.setCollaborator("acme/api", "alice", "read");
    expect(await permissionOf("alice")).toMatchObject({
      permission: "read",
      role_name: "read",
      user: { permissions: { push: false, pull: true } },
    });
    sim.setCollaborator("acme/api", "alice", null);
    expect(await permissionOf("alice")).toMatchObject({ permission: "none", role_name: "none", user: { permissions: { pull: false } } });
    sim.setCollaborator("acme/api", "alice", "write");
  });

  it("gives team members the team's permission, and takes it away with the membership or the grant", async () => {
    sim.setTeamRepoPermission("acme", "dba", "acme/api", "write");
    expect(await permissionOf("dave")).toMatchObject({ permission: "write", role_name: "write" });
    sim.setTeamMember("acme", "dba", "dave", null);
    expect(await permissionOf("dave")).toMatchObject({ permission: "none" });
    sim.setTeamMember("acme", "dba", "dave", "member");
    sim.setTeamRepoPermission("acme", "dba", "acme/api", "read");
    expect(await permissionOf("dave")).toMatchObject({ permission: "read", role_name: "read" });
  });

  it("takes the highest of the direct role and every team's role", async () => {
    sim.setTeamRepoPermission("acme", "dba", "acme/api", "maintain");
    sim.setTeamRepoPermission("acme", "readers", "acme/api", "triage");
    sim.setTeamMember("acme", "readers", "carol", "member");
    sim.setCollaborator("acme/api", "carol", "read");
    expect(await permissionOf("carol")).toMatchObject({
      permission: "write",
      role_name: "maintain",
      user: { permissions: { maintain: true, admin: false } },
    });
    sim.setTeamRepoPermission("acme", "dba", "acme/api", null);
    expect(await permissionOf("carol")).toMatchObject({ permission: "read", role_name: "triage" });
    sim.setCollaborator("acme/api", "carol", "admin");
    expect(await permissionOf("carol")).toMatchObject({ permission: "admin", role_name: "admin" });
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
