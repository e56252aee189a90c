import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as wait } from "node:timers/promises";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator } from "./helpers.js";

let sim: GitHubSimulator;
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  sim = await startCheckedSimulator({ latencyMs: 0 });
  sim.createRepo("acme/api", { installationId: 42 });
});
afterAll(() => sim.close());

describe("latency", () => {
  it("holds a request back: it neither takes effect nor is answered until its delay has passed", async () => {
    const octokit = installationOctokit(sim, 42);
    await octokit.repos.get(repo); // the installation token, before the delay applies
    sim.setLatency({ latencyMs: 3_600_000 });
    const controller = new AbortController();
    const held = octokit.issues
      .createComment({ ...repo, issue_number: 1, body: "late", request: { signal: controller.signal } })
      .catch((error: unknown) => error);
    const before = sim.requests.length;
    await wait(200);
    expect(sim.requests.length).toBe(before);

    sim.setLatency({});
    expect((await octokit.repos.get(repo)).status).toBe(200);
    controller.abort();
    await held;
    // The held request never reached the simulated GitHub.
    expect(sim.requests.slice(before).map((request) => request.route)).toEqual(["GET /repos/{owner}/{repo}"]);
  });

  it("answers after the delay", async () => {
    sim.setLatency({ latencyMs: 30, jitterMs: 20 });
    expect((await installationOctokit(sim, 42).repos.get(repo)).status).toBe(200);
    sim.setLatency({});
  });

  it("refuses a negative or non-numeric setting", () => {
    expect(() => sim.setLatency({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => sim.setLatency({ latencyMs: 10, jitterMs: Number.NaN })).toThrow(/jitterMs/);
  });

  it("drops a request still on its way when the simulator closes", async () => {
    const other = await startSimulator({ latencyMs: 3_600_000, jitterMs: 10 });
    other.createRepo("acme/api", { installationId: 42 });
    const pending = installationOctokit(other, 42)
      .repos.get(repo)
      .then(
        () => "answered",
        () => "dropped",
      );
    await wait(50);
    await other.close();
    expect(await pending).toBe("dropped");
    expect(other.requests).toEqual([]);
  });
});
