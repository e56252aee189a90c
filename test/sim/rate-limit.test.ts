import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sealForPublicKey, type GitHubSimulator } from "../../sim/index.js";
import { appOctokit, startCheckedSimulator, tokenOctokit } from "./helpers.js";

let sim: GitHubSimulator;
/** The simulator's manual clock; it starts at the real time because app JWTs are signed with it. */
let nowMs = Date.now();
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  sim = await startCheckedSimulator({ clock: () => new Date(nowMs) });
  sim.createRepo("acme/api", { installationId: 42, environments: ["production"] });
  sim.createRepo("beta/site", { installationId: 77 });
});
afterAll(() => sim.close());

async function token(installationId: number): Promise<string> {
  return (await appOctokit(sim).apps.createInstallationAccessToken({ installation_id: installationId })).data.token;
}

const failure = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error("Expected the request to fail, but it succeeded.");
    },
    (error: unknown) => error as { status: number; response: { data: { message: string }; headers: Record<string, string> } },
  );

describe("primary rate limit", () => {
  it("is one budget per installation, shared by its tokens, reported on every answer", async () => {
    const first = tokenOctokit(sim, await token(42));
    const second = tokenOctokit(sim, await token(42));
    const a = (await first.repos.get(repo)).headers;
    const b = (await second.repos.get(repo)).headers;
    expect(a["x-ratelimit-limit"]).toBe("5000");
    expect(a["x-ratelimit-resource"]).toBe("core");
    expect(Number(b["x-ratelimit-used"])).toBe(Number(a["x-ratelimit-used"]) + 1);
    expect(Number(b["x-ratelimit-remaining"])).toBe(Number(a["x-ratelimit-remaining"]) - 1);
    expect(Number(a["x-ratelimit-reset"])).toBe(Math.ceil(sim.rateLimit(42).resetAt.getTime() / 1000));
    expect(sim.rateLimit(42)).toMatchObject({
      limit: 5000,
      used: Number(b["x-ratelimit-used"]),
      remaining: Number(b["x-ratelimit-remaining"]),
    });

    const other = (await tokenOctokit(sim, await token(77)).repos.get({ owner: "beta", repo: "site" })).headers;
    expect(other["x-ratelimit-used"]).toBe("1");
  });

  it("counts down from where a test puts it, then answers 403 without handling the request", async () => {
    const octokit = tokenOctokit(sim, await token(42));
    const resetAt = new Date(nowMs + 90_000);
    expect(sim.setRateLimit(42, { limit: 100, remaining: 2, resetAt })).toEqual({ limit: 100, remaining: 2, used: 98, resetAt });
    expect((await octokit.repos.get(repo)).headers["x-ratelimit-remaining"]).toBe("1");
    const { data: key } = await octokit.actions.getEnvironmentPublicKey({ ...repo, environment_name: "production" });

    const error = await failure(
      octokit.actions.createOrUpdateEnvironmentSecret({
        ...repo,
        environment_name: "production",
        secret_name: "A",
        encrypted_value: sealForPublicKey("v", key.key),
        key_id: key.key_id,
      }),
    );
    expect(error.status).toBe(403);
    expect(error.response.data.message).toMatch(
      /^API rate limit exceeded for installation ID 42\. If you reach out to GitHub Support for help, please include the request ID [0-9A-F:]+\.$/,
    );
    expect(error.response.data.message).toContain(error.response.headers["x-github-request-id"]);
    expect(error.response.headers).toMatchObject({
      "x-ratelimit-limit": "100",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-used": "100",
      "x-ratelimit-reset": String(Math.ceil(resetAt.getTime() / 1000)),
      "x-ratelimit-resource": "core",
    });
    expect(sim.secretValue("acme/api", "production", "A")).toBeUndefined();
    expect(sim.rateLimit(42)).toMatchObject({ remaining: 0, used: 100 });
  });

  it("spares other installations and the app's own budget", async () => {
    expect((await tokenOctokit(sim, await token(77)).repos.get({ owner: "beta", repo: "site" })).status).toBe(200);
  });

  it("is renewed at the reset time, keeping the limit", async () => {
    const octokit = tokenOctokit(sim, await token(42));
    nowMs += 91_000;
    const { headers } = await octokit.repos.get(repo);
    expect(headers).toMatchObject({ "x-ratelimit-limit": "100", "x-ratelimit-remaining": "99", "x-ratelimit-used": "1" });
    expect(Number(headers["x-ratelimit-reset"])).toBe(Math.ceil((nowMs + 3_600_000) / 1000));
  });

  it("refuses settings that cannot be", () => {
    expect(() => sim.setRateLimit(42, { limit: 10, remaining: 11 })).toThrow(/from 0 to the limit \(10\)/);
    expect(() => sim.setRateLimit(42, { limit: 0 })).toThrow(/positive integer/);
    expect(() => sim.setRateLimit(42, { resetAt: nowMs - 1 })).toThrow(/in the future/);
    expect(sim.rateLimit(42).limit).toBe(100);
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
