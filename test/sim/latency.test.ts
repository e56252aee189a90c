import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as wait } from "node:timers/promises";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { parseSimulatorArgs } from "../../sim/cli.js";
import { Latency } from "../../sim/server/latency.js";
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

describe("seeded jitter and the command line", () => {
  it("draws the same delays from the same seed, and others from another", () => {
    const draw = (seed: number) => {
      const latency = new Latency({ latencyMs: 50, jitterMs: 10, seed });
      return Array.from({ length: 20 }, () => latency.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const delay of draw(7)) expect(delay >= 40 && delay <= 60).toBe(true);
  });

  it("reads --latency, --jitter and --seed (jitter defaults to a fifth of the latency)", () => {
    expect(parseSimulatorArgs(["--latency", "50"])).toEqual({ latencyMs: 50, jitterMs: 10 });
    expect(parseSimulatorArgs(["--latency", "50", "--jitter", "0", "--seed", "3", "--port", "0"])).toEqual({
      latencyMs: 50,
      jitterMs: 0,
      latencySeed: 3,
      port: 0,
    });
    expect(() => parseSimulatorArgs(["--latency", "-5"])).toThrow(/--latency/);
    expect(() => parseSimulatorArgs(["--latency"])).toThrow(/needs a value/);
    expect(() => parseSimulatorArgs(["--fast"])).toThrow(/unknown option/);
  });

  it("records when each request arrived and was answered, on real time", async () => {
    const before = sim.requests.length;
    const started = Date.now();
    await installationOctokit(sim, 42).repos.get(repo);
    const [logged] = sim.requests.slice(before).filter((request) => request.route === "GET /repos/{owner}/{repo}");
    expect(logged!.receivedMs).toBeGreaterThanOrEqual(started - 1);
    expect(logged!.answeredMs).toBeGreaterThanOrEqual(logged!.receivedMs);
  });
});
