import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { ledgerGrants, reviewAndWaitForCheck, secretRequests, waitForCheck } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

describe("who can approve", () => {
  it("a team that owns the requests file: a non-member's approval does not count, a member's grants", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "team-owned", { codeowners: `${REQUESTS_FILE} @acme/dba\n` });
    sim.createTeam("acme", "dba", { carol: "member" });
    // GitHub counts a team as a code owner only while the team can write to the repository.
    sim.setTeamRepoPermission("acme", "dba", repo, "write");
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "1h" }]) },
    });
    const waiting = await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    expect(waiting.output.summary).toContain("waiting for a code owner: @acme/dba");

    const afterNonMember = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "dave", state: "APPROVED" });
    expect(afterNonMember.output.title).toBe("Waiting for approval: 0 of 1");
    expect(afterNonMember.output.summary).toContain(`\`@dave\`: \`is not a code owner of ${REQUESTS_FILE}\``);
    expect(secretRequests(sim, repo, "PUT")).toEqual([]);

    await sim.submitReview(repo, pr, { reviewer: "carol", state: "APPROVED" });
    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_DB_URL,
    );
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ state: "active", approvers: [{ login: "carol" }] });

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 30_000);

  it("two approvals required: one owner's approval, even given twice, waits at 1 of 2; a second owner's grants", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "two-approvals", { codeowners: `${REQUESTS_FILE} @bob @carol\n` });
    const pr = await openRequest(world, repo, {
      branch: "need-admin",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_ADMIN_TOKEN", duration: "15m" }]) },
    });
    const waiting = await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    expect(waiting.output.title).toBe("Waiting for approval: 0 of 2");

    const afterFirst = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(afterFirst.output.title).toBe("Waiting for approval: 1 of 2");
    expect(afterFirst.output.summary).toContain("1 of 2 approvals: @bob; waiting for another code owner: @carol");
    const afterAgain = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(afterAgain.output.title).toBe("Waiting for approval: 1 of 2");
    expect(secretRequests(sim, repo, "PUT")).toEqual([]);

    await sim.submitReview(repo, pr, { reviewer: "carol", state: "APPROVED" });
    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_ADMIN_TOKEN"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_ADMIN_TOKEN,
    );
    const granted = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "success", "the success check");
    expect(granted.output.summary).toMatch(/\| `PROD_ADMIN_TOKEN` \| `production` \| .+ \| `@bob`, `@carol` \|/);
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ state: "active", approvers: [{ login: "bob" }, { login: "carol" }] });

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 30_000);
});
