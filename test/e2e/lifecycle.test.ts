import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { deletionTimes, latestCheck, ledgerGrants, secretRequests, waitForCheck } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { positionOf, REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

describe("an access request from a mistake to expiry, over HTTP against the real app process", () => {
  it("fails the check at the mistake, waits for the code owner, grants a sealed secret, and deletes it at expiry", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "api");
    const withMistake = requestsYaml([{ secret: "PROD_DB_URL", duration: "9h" }], "# Access requests, one entry per need.\n");
    const fixed = withMistake.replace("duration: 9h", "duration: 10s");

    // 1. The mistake is reported at its line and column, and nothing else happens.
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: withMistake } });
    const failed = await waitForCheck(sim, repo, pr, (c) => c.status === "completed", "the failing check");
    const at = positionOf(withMistake, "9h");
    expect(failed.conclusion).toBe("failure");
    expect(failed.output.annotations).toEqual([
      expect.objectContaining({
        path: REQUESTS_FILE,
        start_line: at.line,
        end_line: at.line,
        start_column: at.column,
        annotation_level: "failure",
      }),
    ]);
    expect(failed.output.annotations[0]!.message).toMatch(/9h is over the limit of 4h for PROD_DB_URL/);

    // 2. The fix passes validation and waits for the code owner, who is named.
    await sim.pushToPullRequest(repo, pr, { [REQUESTS_FILE]: fixed });
    const waiting = await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    expect(waiting.conclusion).toBeNull();
    expect(waiting.output.title).toBe("Waiting for approval: 0 of 1");
    expect(waiting.output.summary).toContain("waiting for a code owner: @bob");
    expect(secretRequests(sim, repo, "PUT")).toEqual([]);

    // 3. The code owner approves: the secret arrives sealed and opens to the catalog value.
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    const value = await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" });
    expect(value).toBe(SECRET_VALUES.PROD_DB_URL);
    expect(secretRequests(sim, repo, "PUT", "PROD_DB_URL")).toHaveLength(1);
    const granted = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "success", "the success check");
    expect(granted.output.title).toBe("Access granted: PROD_DB_URL");
    const grantComment = await sim.waitFor(() => sim.comments(repo, pr).find((c) => c.body.includes("**Access granted.**")), {
      timeoutMs: 10_000,
      description: "the grant comment",
    });
    expect(grantComment.body).toMatch(/\| `PROD_DB_URL` \| `production` \| .+ UTC .*\| `@bob` \|/);
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:granted"), { timeoutMs: 10_000, description: "the jit:granted label" });
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({
      state: "active",
      secret: "PROD_DB_URL",
      environment: "production",
      requester: { login: "alice" },
      approvers: [{ login: "bob" }],
      durationMs: 10_000,
    });

    // 4. At expiry the secret is deleted, the PR is told and labelled.
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 20_000,
      description: "the deletion at expiry",
    });
    const [deletedAt] = deletionTimes(sim, repo, "PROD_DB_URL");
    expect(deletedAt).toBeGreaterThanOrEqual(grant!.expiresAt.getTime());
    const expiredComment = await sim.waitFor(() => sim.comments(repo, pr).find((c) => c.body.startsWith("**Access expired:**")), {
      timeoutMs: 10_000,
      description: "the expiry comment",
    });
    expect(expiredComment.body).toContain("`PROD_DB_URL` in environment `production`. The secret has been deleted.");
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:expired"), { timeoutMs: 10_000, description: "the jit:expired label" });
    expect(sim.labels(repo, pr)).toEqual(["jit:expired"]);
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "expired", endReason: "expired" })]);
    expect(latestCheck(sim, repo, pr)?.conclusion).toBe("success");

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 60_000);
});
