import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { headChecks, ledgerGrants, reviewAndWaitForCheck, secretRequests, waitForCheck } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

/**
 * Ways to get a secret without the approval policy allows. Each runs in its own repository
 * against one app process, and each must end with nothing written: no PUT, no secret in the
 * environment, no grant in the ledger, no jit:granted label.
 */
let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

const REQUEST = { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10s" }]) };

async function expectNothingGranted(repo: string, pr: number): Promise<void> {
  expect(secretRequests(world.sim, repo, "PUT")).toEqual([]);
  expect(world.sim.secretNames(repo, "production")).toEqual([]);
  expect(await ledgerGrants(world, repo)).toEqual([]);
  expect(world.sim.labels(repo, pr)).not.toContain("jit:granted");
  expect(world.sim.violations).toEqual([]);
  expect(secretExposures(world)).toEqual([]);
}

describe("attacks on the approval policy grant nothing", () => {
  it("the author approving their own request", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "self-approval");
    const pr = await openRequest(world, repo, { branch: "need-db", files: REQUEST });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "alice", state: "APPROVED", allowAuthor: true });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain("`@alice`: `is the author of the pull request, who cannot approve their own request`");
    await expectNothingGranted(repo, pr);
  }, 30_000);

  it("CODEOWNERS edited in the pull request to make an accomplice the owner: the default branch's rules apply", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "codeowners-edit");
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { ...REQUEST, ".github/CODEOWNERS": `${REQUESTS_FILE} @alice @mallory\n` },
    });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "mallory", state: "APPROVED" });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain("waiting for a code owner: @bob");
    expect(check.output.summary).toContain(`\`@mallory\`: \`is not a code owner of ${REQUESTS_FILE}\``);
    await expectNothingGranted(repo, pr);
  }, 30_000);

  it("an approval of an older commit, after the author pushed", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "stale-approval");
    const pr = await openRequest(world, repo, { branch: "need-db", files: REQUEST });
    const reviewed = sim.pullRequest(repo, pr).headSha;
    await sim.pushToPullRequest(repo, pr, { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "4h" }]) });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check on the new head");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED", commitId: reviewed });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain(`\`@bob\`: \`approved an older commit (${reviewed.slice(0, 7)}), not the current head\``);
    await expectNothingGranted(repo, pr);
  }, 30_000);

  it("a pull request from a fork fails the check, even once a code owner approves", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "from-fork");
    const pr = await openRequest(world, repo, { branch: "need-db", files: REQUEST, fromFork: true });
    const failed = await waitForCheck(sim, repo, pr, (c) => c.status === "completed", "the failing check");
    expect(failed.conclusion).toBe("failure");
    expect(failed.output.summary).toContain(
      `requests from forks are refused: push the branch to ${repo} and open the pull request from there`,
    );

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(check.conclusion).toBe("failure");
    await expectNothingGranted(repo, pr);
  }, 30_000);

  it("a pull request into a branch other than the default fails the check, even once a code owner approves", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "other-base");
    sim.commit(repo, "release", { "RELEASE.md": "release branch\n" }, { from: "main" });
    const pr = await openRequest(world, repo, { branch: "need-db", files: REQUEST, base: "release" });
    const failed = await waitForCheck(sim, repo, pr, (c) => c.status === "completed", "the failing check");
    expect(failed.conclusion).toBe("failure");
    expect(failed.output.summary).toContain("only read from pull requests into the default branch main, and this one targets release");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(check.conclusion).toBe("failure");
    await expectNothingGranted(repo, pr);
  }, 30_000);

  it("an approval from someone who can write to the repository but is not a code owner", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "not-an-owner");
    const pr = await openRequest(world, repo, { branch: "need-db", files: REQUEST });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "carol", state: "APPROVED" });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain(`\`@carol\`: \`is not a code owner of ${REQUESTS_FILE}\``);
    expect(headChecks(sim, repo, pr).every((c) => c.conclusion !== "success")).toBe(true);
    await expectNothingGranted(repo, pr);
  }, 30_000);
});
