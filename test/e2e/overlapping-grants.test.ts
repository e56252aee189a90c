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

describe("two live grants of the same secret", () => {
  it("the later grant keeps the value the earlier one wrote; the first expiry leaves the secret for the other; the last one deletes it", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "shared-secret");
    const request = (duration: string) => ({ [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration }]) });
    const first = await openRequest(world, repo, { branch: "first", files: request("10s") });
    const second = await openRequest(world, repo, { branch: "second", files: request("15s") });

    // A delivery resolves once the app has processed it, paced comments included (the grant's,
    // and the reminder halfway through a short grant): both grants are live well before that.
    const reviews = Promise.all([
      sim.submitReview(repo, first, { reviewer: "bob", state: "APPROVED" }),
      sim.submitReview(repo, second, { reviewer: "bob", state: "APPROVED" }),
    ]);
    await sim.waitFor(async () => (await ledgerGrants(world, repo)).filter((g) => g.state === "active").length === 2, {
      timeoutMs: 10_000,
      description: "two active grants",
    });
    // One PUT: whichever approval was handled second found the secret held by a written grant and
    // kept its value, so a grantee's workflow never sees the value change under it.
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);
    const [firstGrant] = await ledgerGrants(world, repo, first);
    const [secondGrant] = await ledgerGrants(world, repo, second);
    expect(secondGrant!.expiresAt.getTime()).toBeGreaterThan(firstGrant!.expiresAt.getTime());
    const [writer, keeper] = firstGrant!.secretUpdatedAt !== null ? [firstGrant!, secondGrant!] : [secondGrant!, firstGrant!];
    expect(writer.secretUpdatedAt).toEqual(expect.any(Date));
    expect(keeper.secretUpdatedAt).toBeNull();
    const kept = await sim.waitFor(() => sim.comments(repo, keeper.prNumber).find((c) => c.body.startsWith("**Access granted.**")), {
      timeoutMs: 10_000,
      description: "the later grant's comment",
    });
    expect(kept.body).toContain(`already held the value written for a live grant of pull request #${writer.prNumber}.`);
    const wrote = await sim.waitFor(() => sim.comments(repo, writer.prNumber).find((c) => c.body.startsWith("**Access granted.**")), {
      timeoutMs: 10_000,
      description: "the earlier grant's comment",
    });
    expect(wrote.body).not.toContain("already held the value");

    // The first one ends; the secret stays because the second still needs it.
    await sim.waitFor(async () => (await ledgerGrants(world, repo, first))[0]?.state === "expired", {
      timeoutMs: 20_000,
      description: "the first grant's expiry",
    });
    expect(await ledgerGrants(world, repo, second)).toEqual([expect.objectContaining({ state: "active" })]);
    expect(secretRequests(sim, repo, "DELETE")).toEqual([]);
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
    const firstEnded = await sim.waitFor(() => sim.comments(repo, first).find((c) => c.body.startsWith("**Access expired:**")), {
      timeoutMs: 10_000,
      description: "the first grant's expiry comment",
    });
    expect(firstEnded.body).toContain("Another live grant still uses this secret, so it stays until that one ends.");

    // The second one ends: now it is deleted, not before the second grant's expiry.
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 20_000,
      description: "the deletion",
    });
    expect(deletionTimes(sim, repo, "PROD_DB_URL")).toEqual([expect.any(Number)]);
    expect(deletionTimes(sim, repo, "PROD_DB_URL")[0]).toBeGreaterThanOrEqual(secondGrant!.expiresAt.getTime());
    const secondEnded = await sim.waitFor(() => sim.comments(repo, second).find((c) => c.body.startsWith("**Access expired:**")), {
      timeoutMs: 10_000,
      description: "the second grant's expiry comment",
    });
    expect(secondEnded.body).toContain("The secret has been deleted.");
    await reviews;
    expect(await ledgerGrants(world, repo)).toEqual([
      expect.objectContaining({ state: "expired" }),
      expect.objectContaining({ state: "expired" }),
    ]);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);
});
