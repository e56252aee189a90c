import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { GitHubSimulator } from "../../sim/index.js";
import { appOctokit, installationOctokit, startCheckedSimulator, statusOf, tokenOctokit } from "./helpers.js";

let sim: GitHubSimulator;
let receiver: Server;
let received = 0;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received += 1;
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  sim = await startCheckedSimulator({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` });
  for (const name of ["api", "web", "ops"]) sim.createRepo(`acme/${name}`, { installationId: 42, environments: ["production"] });
  sim.createRepo("beta/site", { installationId: 77 });
  sim.createRepo("gamma/tool", { installationId: 88 });
});
afterAll(async () => {
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
});

async function tokenFor(installationId: number, repositories?: string[]): Promise<string> {
  return (
    await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: installationId, ...(repositories ? { repositories } : {}) })
  ).data.token;
}

const failure = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error("Expected the request to fail, but it succeeded.");
    },
    (error: unknown) => error as { status: number; response: { data: { message: string }; headers: Record<string, string> } },
  );

describe("a repository removed from the installation", () => {
  it("answers 404 to the installation's tokens, old and new, and leaves its other repositories alone", async () => {
    const old = tokenOctokit(sim, await tokenFor(42));
    expect((await old.repos.get({ owner: "acme", repo: "web" })).status).toBe(200);
    sim.removeRepoFromInstallation("acme/web");
    expect(await statusOf(old.repos.get({ owner: "acme", repo: "web" }))).toBe(404);
    expect(
      await statusOf(old.actions.deleteEnvironmentSecret({ owner: "acme", repo: "web", environment_name: "production", secret_name: "X" })),
    ).toBe(404);
    expect(await statusOf(installationOctokit(sim, 42).repos.get({ owner: "acme", repo: "web" }))).toBe(404);
    expect((await old.repos.get({ owner: "acme", repo: "api" })).status).toBe(200);
    expect(sim.installation(42)).toMatchObject({ repositories: ["acme/api", "acme/ops"], suspended: false });
    expect(sim.repository("acme/web")?.installationId).toBeNull();
  });

  it("can no longer be named in a scoped token (422)", async () => {
    const error = await failure(tokenFor(42, ["web"]));
    expect(error.status).toBe(422);
    expect(error.response.data.message).toMatch(/not accessible to the parent installation/);
    expect((await tokenFor(42, ["api"])).length).toBeGreaterThan(0);
  });

  it("is missing from the installation's repository list", async () => {
    const { data } = await installationOctokit(sim, 42).apps.listReposAccessibleToInstallation();
    expect(data.repositories.map((repo) => repo.full_name).sort()).toEqual(["acme/api", "acme/ops"]);
  });

  it("refuses to remove a repository that is in no installation", () => {
    expect(() => sim.removeRepoFromInstallation("acme/web")).toThrow(/not in any installation/);
  });
});

describe("a suspended installation", () => {
  let before: string;

  beforeAll(async () => {
    before = await tokenFor(77);
    sim.suspendInstallation(77, { by: "beta-admin" });
  });

  it("refuses new tokens with 403 and GitHub's message", async () => {
    const error = await failure(tokenFor(77));
    expect(error.status).toBe(403);
    expect(error.response.data.message).toBe("This installation has been suspended");
  });

  it("refuses requests with tokens created before the suspension (403)", async () => {
    const error = await failure(tokenOctokit(sim, before).repos.get({ owner: "beta", repo: "site" }));
    expect(error.status).toBe(403);
    expect(error.response.data.message).toBe("This installation has been suspended");
  });

  it("is still listed, with suspended_at and suspended_by", async () => {
    const { data } = await appOctokit(sim).apps.getInstallation({ installation_id: 77 });
    expect(data).toMatchObject({ id: 77, suspended_by: { login: "beta-admin" }, suspended_at: expect.any(String) });
    expect(sim.installation(77)).toMatchObject({ suspended: true, repositories: ["beta/site"] });
  });

  it("gets no webhooks: they are recorded, not sent", async () => {
    sim.commit("beta/site", "change", { "a.txt": "a\n" });
    const sent = received;
    await sim.openPullRequest("beta/site", { head: "change", author: "alice" });
    expect(sim.lastDelivery).toMatchObject({ event: "pull_request", action: "opened", attempts: 0, status: null });
    expect(received).toBe(sent);
  });

  it("works again once unsuspended, with its old tokens too", async () => {
    sim.unsuspendInstallation(77);
    expect((await tokenOctokit(sim, before).repos.get({ owner: "beta", repo: "site" })).status).toBe(200);
    expect((await tokenFor(77)).length).toBeGreaterThan(0);
    const sent = received;
    await sim.pushToPullRequest("beta/site", 1, { "b.txt": "b\n" });
    expect(sim.lastDelivery).toMatchObject({ attempts: 1, status: 202 });
    expect(received).toBe(sent + 1);
  });
});

describe("a deleted installation", () => {
  let before: string;

  beforeAll(async () => {
    before = await tokenFor(88);
    sim.deleteInstallation(88);
  });

  it("revokes its tokens (401)", async () => {
    const error = await failure(tokenOctokit(sim, before).repos.get({ owner: "gamma", repo: "tool" }));
    expect(error.status).toBe(401);
    expect(error.response.data.message).toBe("Bad credentials");
  });

  it("answers 404 to token creation and look-ups", async () => {
    expect(await statusOf(tokenFor(88))).toBe(404);
    expect(await statusOf(appOctokit(sim).apps.getInstallation({ installation_id: 88 }))).toBe(404);
    expect(await statusOf(appOctokit(sim).apps.getRepoInstallation({ owner: "gamma", repo: "tool" }))).toBe(404);
    expect(sim.installation(88)).toBeUndefined();
    expect(sim.repository("gamma/tool")?.installationId).toBeNull();
  });

  it("refuses to act on an unknown installation", () => {
    expect(() => sim.deleteInstallation(88)).toThrow(/Unknown installation 88/);
    expect(() => sim.suspendInstallation(88)).toThrow(/Unknown installation 88/);
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
