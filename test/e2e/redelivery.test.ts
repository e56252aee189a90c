import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { ledgerGrants, secretRequests } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

describe("a redelivered approval", () => {
  it("writes the secret no second time, neither while the grant is live nor after it expired", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "redelivered");
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10s" }]) },
    });
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    const approval = sim.lastDelivery!;
    expect(approval).toMatchObject({ event: "pull_request_review", action: "submitted", status: 202 });
    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_DB_URL,
    );
    await sim.waitFor(() => sim.comments(repo, pr).some((c) => c.body.startsWith("**Access granted.**")), {
      timeoutMs: 10_000,
      description: "the grant comment",
    });

    // While live: the app answers (the inbox holds the delivery already: dropped) and writes nothing.
    const live = await sim.redeliver(approval.id);
    expect(live.status).toBe(202);
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);
    expect(sim.comments(repo, pr).filter((c) => c.body.startsWith("**Access granted.**"))).toHaveLength(1);
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "active" })]);

    // After expiry: the same approval does not bring the secret back.
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 20_000,
      description: "the deletion at expiry",
    });
    await sim.waitFor(async () => (await ledgerGrants(world, repo, pr))[0]?.state === "expired", {
      description: "the grant to be expired",
    });
    const late = await sim.redeliver(approval.id);
    expect(late.status).toBe(202);
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBeUndefined();
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "expired" })]);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);
});
