import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import { sealForPublicKey, type GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
const repo = { owner: "acme", repo: "api" };

async function putSealed(environment: string, name: string, value: string, keyOverride?: string): Promise<number> {
  const { data: key } = await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: environment });
  const response = await octokit.actions.createOrUpdateEnvironmentSecret({
    ...repo,
    environment_name: environment,
    secret_name: name,
    encrypted_value: sealForPublicKey(value, key.key),
    key_id: keyOverride ?? key.key_id,
  });
  return response.status;
}

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: 42, environments: ["production", "staging eu"] });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

describe("environment secrets", () => {
  it("lists environments", async () => {
    const { data } = await octokit.repos.getAllEnvironments(repo);
    expect(data.total_count).toBe(2);
    expect(data.environments?.map((environment) => environment.name)).toEqual(["production", "staging eu"]);
  });

  it("shows an environment's wait timer and branch policy as protection rules, as GitHub does; none by default", async () => {
    const shown = async () => (await octokit.repos.getEnvironment({ ...repo, environment_name: "staging eu" })).data;
    expect(await shown()).toMatchObject({ protection_rules: [], deployment_branch_policy: null });
    sim.protectEnvironment("acme/api", "staging eu", { waitTimer: 5, branchPolicy: "custom_branch_policies" });
    const protectedNow = await shown();
    expect(protectedNow.protection_rules?.map((rule) => rule.type)).toEqual(["wait_timer", "branch_policy"]);
    expect(protectedNow.protection_rules?.[0]).toMatchObject({ wait_timer: 5 });
    expect(protectedNow.deployment_branch_policy).toEqual({ protected_branches: false, custom_branch_policies: true });
    const { data: list } = await octokit.repos.getAllEnvironments(repo);
    expect(list.environments?.find((e) => e.name === "staging eu")?.protection_rules).toEqual(protectedNow.protection_rules);
    sim.protectEnvironment("acme/api", "staging eu", { waitTimer: null, branchPolicy: null });
    expect(await shown()).toMatchObject({ protection_rules: [], deployment_branch_policy: null });
  });

  it("serves a distinct real key pair per environment", async () => {
    const production = (await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "production" })).data;
    const staging = (await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "staging eu" })).data;
    expect(Buffer.from(production.key, "base64")).toHaveLength(32);
    expect(production.key).not.toBe(staging.key);
    expect(production.key_id).not.toBe(staging.key_id);
    expect(sim.environment("acme/api", "production")).toMatchObject({ keyId: production.key_id, publicKey: production.key });
  });

  it("opens a sealed PUT and stores the plaintext under the upper-cased name: 201, then 204", async () => {
    expect(await putSealed("production", "prod_db_url", "postgres://u:p@db/prod")).toBe(201);
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe("postgres://u:p@db/prod");
    expect(await putSealed("production", "PROD_DB_URL", "postgres://u:p2@db/prod")).toBe(204);
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe("postgres://u:p2@db/prod");
    expect(sim.secretNames("acme/api", "production")).toEqual(["PROD_DB_URL"]);
  });

  it("handles environment names with spaces (URL-encoded)", async () => {
    expect(await putSealed("staging eu", "TOKEN", "t0k3n")).toBe(201);
    expect(sim.secretValue("acme/api", "staging eu", "TOKEN")).toBe("t0k3n");
    expect(sim.requests.some((request) => request.path.includes("/environments/staging%20eu/"))).toBe(true);
  });

  it("lists secret names with timestamps, without values", async () => {
    const { data } = await octokit.actions.listEnvironmentSecrets({ ...repo, environment_name: "production" });
    expect(data).toEqual({
      total_count: 1,
      secrets: [{ name: "PROD_DB_URL", created_at: expect.any(String), updated_at: expect.any(String) }],
    });
  });

  it("serves one secret's metadata as GitHub does: created_at kept, updated_at moved by each write, 404 when absent", async () => {
    const get = () => octokit.actions.getEnvironmentSecret({ ...repo, environment_name: "production", secret_name: "META_TOKEN" });
    expect(await statusOf(get())).toBe(404);
    // The simulator's clock also checks the app's JWT: it stays near real time, moved on by hand.
    const start = Math.floor(Date.now() / 1000) * 1000;
    let shift = 0;
    const clocked = await startCheckedSimulator({ clock: () => new Date(start + shift) });
    const at = (ms: number) => new Date(start + ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      clocked.createRepo("acme/api", { installationId: 42, environments: ["production"] });
      const client = installationOctokit(clocked, 42);
      const put = async (value: string) => {
        const { data: key } = await client.actions.getEnvironmentPublicKey({ ...repo, environment_name: "production" });
        await client.actions.createOrUpdateEnvironmentSecret({
          ...repo,
          environment_name: "production",
          secret_name: "META_TOKEN",
          encrypted_value: sealForPublicKey(value, key.key),
          key_id: key.key_id,
        });
      };
      const read = async () =>
        (await client.actions.getEnvironmentSecret({ ...repo, environment_name: "production", secret_name: "meta_token" })).data;
      await put("one");
      expect(await read()).toEqual({ name: "META_TOKEN", created_at: at(0), updated_at: at(0) });
      shift = 67_250;
      await put("two");
      expect(await read()).toEqual({ name: "META_TOKEN", created_at: at(0), updated_at: at(67_000) });
      // A secret set by hand (an administrator, in the settings page) has metadata like any other.
      shift = 300_000;
      clocked.setSecret("acme/api", "production", "META_TOKEN", "three");
      expect(await read()).toEqual({ name: "META_TOKEN", created_at: at(0), updated_at: at(300_000) });
      expect(clocked.violations).toEqual([]);
    } finally {
      await clocked.close();
    }
  });

  it("answers 422 for a key_id that is not the environment's current key", async () => {
    expect(await statusOf(putSealed("production", "OTHER", "v", "123456789012345678"))).toBe(422);
    expect(sim.secretValue("acme/api", "production", "OTHER")).toBeUndefined();
  });

  it("answers 422 after the key was rotated, for a value sealed with the old key", async () => {
    const { data: oldKey } = await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "staging eu" });
    const newKeyId = sim.rotateEnvironmentKey("acme/api", "staging eu");
    expect(newKeyId).not.toBe(oldKey.key_id);
    const sealedForOld = sealForPublicKey("v", oldKey.key);
    const put = (keyId: string) =>
      octokit.actions.createOrUpdateEnvironmentSecret({
        ...repo,
        environment_name: "staging eu",
        secret_name: "ROTATED",
        encrypted_value: sealedForOld,
        key_id: keyId,
      });
    expect(await statusOf(put(oldKey.key_id))).toBe(422);
    expect(await statusOf(put(newKeyId))).toBe(422);
    expect(sim.secretValue("acme/api", "staging eu", "ROTATED")).toBeUndefined();
  });

  it.each([
    ["GITHUB_TOKEN", "a reserved prefix"],
    ["1ABC", "a leading digit"],
  ])("answers 422 for the name %s (%s)", async (name) => {
    expect(await statusOf(putSealed("production", name, "v"))).toBe(422);
  });

  it("deletes: 204, then 404", async () => {
    const remove = () => octokit.actions.deleteEnvironmentSecret({ ...repo, environment_name: "production", secret_name: "prod_db_url" });
    expect((await remove()).status).toBe(204);
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBeUndefined();
    expect(await statusOf(remove())).toBe(404);
  });

  it("answers 404 for an unknown or deleted environment", async () => {
    expect(await statusOf(octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "nope" }))).toBe(404);
    sim.addEnvironment("acme/api", "doomed");
    sim.deleteEnvironment("acme/api", "doomed");
    expect(await statusOf(octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "doomed" }))).toBe(404);
  });

  it("paginates secrets", async () => {
    for (const name of ["A1", "A2", "A3"]) sim.setSecret("acme/api", "production", name, "seeded");
    const first = await octokit.actions.listEnvironmentSecrets({ ...repo, environment_name: "production", per_page: 2 });
    expect(first.data).toMatchObject({ total_count: 3, secrets: [{ name: "A1" }, { name: "A2" }] });
    expect(first.headers.link).toContain('rel="next"');
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
