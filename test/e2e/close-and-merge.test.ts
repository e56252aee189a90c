import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { deletionTimes, ledgerGrants, secretRequests } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

/** Opens a request for PROD_DB_URL, has bob approve it, and waits for the secret and the grant comment. */
async function grantedRequest(name: string, duration: string): Promise<{ repo: string; pr: number }> {
  const { sim } = world;
  const repo = createRequestRepo(world, name);
  const pr = await openRequest(world, repo, {
    branch: "need-db",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration }]) },
  });
  await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
  expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
    SECRET_VALUES.PROD_DB_URL,
  );
  await sim.waitFor(() => sim.labels(repo, pr).includes("jit:granted"), { timeoutMs: 10_000, description: "the jit:granted label" });
  return { repo, pr };
}

describe("when a request pull request closes", () => {
  it("closing it without merging deletes the secret at once and labels it jit:revoked", async () => {
    const { sim } = world;
    const { repo, pr } = await grantedRequest("closed-unmerged", "1h");

    await sim.closePullRequest(repo, pr, { merged: false, by: "alice" });
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, { description: "the deletion on close" });
    expect(secretRequests(sim, repo, "DELETE", "PROD_DB_URL")).toHaveLength(1);
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ state: "revoked", endReason: "pull request closed without merging" });
    expect(grant!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const comment = await sim.waitFor(() => sim.comments(repo, pr).find((c) => c.body.startsWith("**Access revoked:**")), {
      timeoutMs: 10_000,
      description: "the revocation comment",
    });
    expect(comment.body).toContain("(`pull request closed without merging`). The secret has been deleted.");
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:revoked"), { timeoutMs: 10_000, description: "the jit:revoked label" });
    expect(sim.labels(repo, pr)).toEqual(["jit:revoked"]);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 40_000);

  it("merging it keeps the secret until the grant expires", async () => {
    const { sim } = world;
    const { repo, pr } = await grantedRequest("merged", "10s");

    // The app has answered the closed delivery when this returns: it revoked nothing.
    await sim.closePullRequest(repo, pr, { merged: true, by: "bob" });
    expect(sim.pullRequest(repo, pr).merged).toBe(true);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
    expect(secretRequests(sim, repo, "DELETE")).toEqual([]);
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ state: "active" });

    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 20_000,
      description: "the deletion at expiry",
    });
    expect(deletionTimes(sim, repo, "PROD_DB_URL")[0]).toBeGreaterThanOrEqual(grant!.expiresAt.getTime());
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:expired"), { timeoutMs: 10_000, description: "the jit:expired label" });
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "expired" })]);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 40_000);
});
