import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { appLogLines, ledgerGrants, secretRequests } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

const REDELIVERY = "POST /app/hook/deliveries/{delivery_id}/attempts";

describe("a delivery that failed while the app was down", () => {
  it("is redelivered by the catch-up at start-up and acted on; a later catch-up does not ask for it again", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "approved-while-down");
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10m" }]) },
    });

    let approvalGuid = "";
    await world.restartApp("SIGTERM", {
      whileDown: async () => {
        // GitHub tries to deliver the approval; nothing listens, and its log records the failure.
        await expect(sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" })).rejects.toThrow(/is the app listening/);
        const failed = sim.deliveries.at(-1)!;
        approvalGuid = failed.id;
        expect(failed).toMatchObject({ event: "pull_request_review", status: null, attempts: 1 });
      },
    });

    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_DB_URL,
    );
    const asked = sim.requests.filter((request) => request.route === REDELIVERY);
    expect(asked).toHaveLength(1);
    expect(sim.deliveries.find((delivery) => delivery.id === approvalGuid)).toMatchObject({ attempts: 2, status: 202 });
    await sim.waitFor(async () => (await ledgerGrants(world, repo, pr))[0]?.state === "active", { description: "the active grant" });

    // Another start-up catch-up: the delivery log still shows the failed attempt, and nothing is asked again.
    await world.restartApp("SIGTERM");
    const passes = await sim.waitFor(
      () => {
        const done = appLogLines(world).filter((line) => line.msg === "delivery catch-up done");
        return done.length >= 3 ? done : undefined;
      },
      { timeoutMs: 15_000, description: "the third process's catch-up" },
    );
    // The first process saw nothing; the second asked for the failed delivery; the third finds it
    // delivered by that redelivery, and asks for nothing.
    expect(passes.map((line) => [line.failed, line.redelivered])).toEqual([
      [0, 0],
      [1, 1],
      [0, 0],
    ]);
    expect(sim.requests.filter((request) => request.route === REDELIVERY)).toHaveLength(1);
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);
    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 90_000);
});
