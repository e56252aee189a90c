import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import { sealForPublicKey, type GitHubSimulator } from "../../sim/index.js";
import { appOctokit, installationOctokit, startCheckedSimulator, statusOf, tokenOctokit } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: 42, environments: ["production"] });
  octokit = installationOctokit(sim, 42);
  await octokit.repos.get(repo);
});
afterAll(() => sim.close());
afterEach(() => sim.faults.clear());

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error as { status: number; response: { data: unknown; headers: Record<string, string> } },
  );

async function putSecret(name: string, value: string) {
  const { data: key } = await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "production" });
  return octokit.actions.createOrUpdateEnvironmentSecret({
    ...repo,
    environment_name: "production",
    secret_name: name,
    encrypted_value: sealForPublicKey(value, key.key),
    key_id: key.key_id,
  });
}

describe("fault switches", () => {
  it("fire the configured number of times, then let requests through", async () => {
    const id = sim.faults.add({ method: "GET", path: "/repos/acme/api", status: 502, times: 2 });
    expect(await statusOf(octokit.repos.get(repo))).toBe(502);
    expect(await statusOf(octokit.repos.get(repo))).toBe(502);
    expect((await octokit.repos.get(repo)).status).toBe(200);
    expect(sim.faults.fired(id)).toBe(2);
    expect(sim.faults.list()).toEqual([]);
    expect(sim.requests.filter((request) => request.faultId === id).map((request) => request.status)).toEqual([502, 502]);
  });

  it("answer a 403 with GitHub's secondary rate limit body and retry-after", async () => {
    sim.faults.add({ method: "PUT", path: /\/secrets\//, status: 403, times: 1 });
    const error = await failure(putSecret("A", "v"));
    expect(error?.status).toBe(403);
    expect(error?.response.data).toMatchObject({ message: expect.stringMatching(/^You have exceeded a secondary rate limit/) });
    expect(error?.response.headers["retry-after"]).toBe("1");
    expect(sim.secretValue("acme/api", "production", "A")).toBeUndefined();
  });

  it("answer a 429 as an exhausted primary rate limit", async () => {
    sim.faults.add({ path: "/repos/{owner}/{repo}", status: 429, times: 1 });
    const error = await failure(octokit.repos.get(repo));
    expect(error?.status).toBe(429);
    expect(error?.response.headers["x-ratelimit-remaining"]).toBe("0");
  });

  it("match the method, the path template, and use a given body and headers", async () => {
    sim.faults.add({
      method: "DELETE",
      path: "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
      status: 500,
      body: { message: "boom" },
      headers: { "x-custom": "1" },
    });
    await putSecret("B", "v");
    const error = await failure(octokit.actions.deleteEnvironmentSecret({ ...repo, environment_name: "production", secret_name: "B" }));
    expect(error).toMatchObject({ status: 500, response: { data: { message: "boom" }, headers: { "x-custom": "1" } } });
    expect(sim.secretValue("acme/api", "production", "B")).toBe("v");
  });

  it("can let the write happen and lose the response (afterEffect)", async () => {
    sim.faults.add({ method: "PUT", path: /\/secrets\/C$/, status: 502, times: 1, afterEffect: true });
    expect(await statusOf(putSecret("C", "value-c"))).toBe(502);
    expect(sim.secretValue("acme/api", "production", "C")).toBe("value-c");
  });

  it("can delay without failing", async () => {
    const id = sim.faults.add({ path: "/repos/acme/api", delayMs: 20, times: 1 });
    expect((await octokit.repos.get(repo)).status).toBe(200);
    expect(sim.faults.fired(id)).toBe(1);
  });

  it("can hang a request until the caller gives up", async () => {
    const id = sim.faults.add({ path: "/repos/acme/api", hang: true, times: 1 });
    const controller = new AbortController();
    const pending = octokit.repos.get({ ...repo, request: { signal: controller.signal } });
    await sim.waitFor(() => sim.requests.some((request) => request.faultId === id), { description: "the hanging request" });
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect((await octokit.repos.get(repo)).status).toBe(200);
  });

  it("can hold a request until the test lets it go; it then takes effect", async () => {
    let release!: () => void;
    const id = sim.faults.add({
      method: "PUT",
      path: /\/secrets\/HELD$/,
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const pending = putSecret("HELD", "value-held");
    await sim.waitFor(() => sim.faults.fired(id) === 1, { description: "the held request" });
    expect(sim.secretValue("acme/api", "production", "HELD")).toBeUndefined();
    expect(sim.requests.some((request) => request.faultId === id)).toBe(false);
    release();
    expect((await pending).status).toBe(201);
    expect(sim.secretValue("acme/api", "production", "HELD")).toBe("value-held");
  });

  it("expire installation tokens (401), after which a new token works", async () => {
    const token = (await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 42 })).data.token;
    sim.faults.expireTokens();
    const stale = tokenOctokit(sim, token);
    expect(await statusOf(stale.repos.get(repo))).toBe(401);
    const fresh = (await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: 42 })).data.token;
    expect((await tokenOctokit(sim, fresh).repos.get(repo)).status).toBe(200);
  });

  it("reject a fault without an effect", () => {
    expect(() => sim.faults.add({ path: "/x" })).toThrow(/status, hang: true, delayMs, or until/);
    expect(() => sim.faults.add({ path: "/x", status: 500, times: 0 })).toThrow(/positive integer/);
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
