import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { runCli } from "./helpers/cli-process.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import {
  evaluations,
  grantAudit,
  headChecks,
  latestCheck,
  ledgerGrants,
  ledgerGrantsByRepositoryId,
  reviewAndWaitForCheck,
  secretRequests,
  waitForCheck,
} from "./helpers/read-backs.js";
import { createRequestRepo, openRequest, renameRequestRepo } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml, type RequestEntry } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

/**
 * Issue 12, tried as someone with write access to a repository would try it, against the app
 * as a real process (`node dist/main.js`) and, where an operator acts, the CLI as another
 * process on the same ledger. Each attack runs in its own repository and asserts the end state:
 * what was written to the environment, what is still there, the ledger's rows, the labels and
 * the words of the check run; and that every request the app made was one GitHub serves.
 *
 * The app's periodic sweep is set far out (10 minutes), so that grants end by their exact
 * timers, by events, or by the sweep a test runs from the CLI, and never by a sweep that
 * happens to come by.
 */
let world: World;
beforeAll(async () => {
  world = await startWorld({ sweepIntervalSeconds: 600 });
  // Catalog approvers of PROD_DB_URL are @bob and @acme/dba; tests add members as they need.
  world.sim.createTeam("acme", "dba", []);
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

const WAIT = { timeoutMs: 20_000 };
const PROD_DB_URL: RequestEntry = { secret: "PROD_DB_URL", duration: "1h" };
/** The old entry: granted once, long ago, and since removed from main. */
const LEGACY: RequestEntry = { secret: "LEGACY_TOKEN", duration: "4h", reason: "INC-1001: rotate the legacy integration" };

async function expectNothingGranted(repo: string, pr: number, environments: readonly string[] = ["production"]): Promise<void> {
  expect(secretRequests(world.sim, repo, "PUT")).toEqual([]);
  for (const environment of environments) expect(world.sim.secretNames(repo, environment)).toEqual([]);
  expect(await ledgerGrants(world, repo)).toEqual([]);
  expect(world.sim.labels(repo, pr)).not.toContain("jit:granted");
}

function expectCleanWorld(): void {
  expect(world.sim.violations).toEqual([]);
  expect(secretExposures(world)).toEqual([]);
}

async function waitForSecret(repo: string, secret: keyof typeof SECRET_VALUES): Promise<void> {
  const value = await world.sim.waitFor(() => world.sim.secretValue(repo, "production", secret), {
    ...WAIT,
    description: `${secret} in ${repo}`,
  });
  expect(value).toBe(SECRET_VALUES[secret]);
}

async function waitForGone(repo: string, secret: string, description: string): Promise<void> {
  await world.sim.waitFor(() => world.sim.secretValue(repo, "production", secret) === undefined, { ...WAIT, description });
}

/** Opens a request for PROD_DB_URL, has bob approve it, and waits until the grant is active and labelled. */
async function grantedRequest(name: string, duration: string, options: { installationId?: number } = {}) {
  const { sim } = world;
  const repo = createRequestRepo(world, name, options);
  const pr = await openRequest(world, repo, {
    branch: "need-db",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration }]) },
  });
  const reviewId = await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
  await waitForSecret(repo, "PROD_DB_URL");
  await sim.waitFor(() => sim.labels(repo, pr).includes("jit:granted"), { ...WAIT, description: "the jit:granted label" });
  const [grant] = await sim.waitFor(
    async () => {
      const grants = await ledgerGrants(world, repo, pr);
      return grants.length === 1 && grants[0]!.state === "active" ? grants : null;
    },
    { ...WAIT, description: "the active grant" },
  );
  return { repo, pr, reviewId, grant: grant! };
}

describe("the request is what the pull request adds, measured from its merge base", () => {
  it("a README fix branched before main removed LEGACY_TOKEN, approved by a code owner, grants nothing", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "readme-typo");
    // LEGACY_TOKEN was requested and merged long ago; a branch is cut while main still has it.
    sim.commit(repo, "main", { [REQUESTS_FILE]: requestsYaml([LEGACY]) }, { author: "carol" });
    sim.commit(
      repo,
      "fix-readme",
      { "README.md": "# readme-typo\n\nAccess requests go in jit-requests.yml.\n" },
      { from: "main", author: "alice" },
    );
    // Then main cleans the old entry up.
    sim.commit(repo, "main", { [REQUESTS_FILE]: "requests: []\n" }, { author: "carol" });
    const pr = await sim.openPullRequest(repo, { head: "fix-readme", base: "main", author: "alice", title: "Fix a typo in the README" });
    world.pulls.push({ repo, number: pr });

    // The attack's premise: the head still carries the entry that main's tip no longer has.
    const { mergeBaseSha, headSha } = sim.pullRequest(repo, pr);
    expect(sim.fileAt(repo, headSha, REQUESTS_FILE)).toContain("LEGACY_TOKEN");
    expect(sim.fileAt(repo, "main", REQUESTS_FILE)).toBe("requests: []\n");
    expect(mergeBaseSha).not.toBe(sim.branchSha(repo, "main"));
    expect(sim.fileAt(repo, mergeBaseSha!, REQUESTS_FILE)).toBe(sim.fileAt(repo, headSha, REQUESTS_FILE));

    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    const evaluated = await sim.waitFor(() => evaluations(world, repo, pr).find((e) => e.trigger === "pull_request_review.submitted"), {
      ...WAIT,
      description: "the evaluation after bob's approval",
    });
    expect(evaluated.outcome).toBe("untouched");
    expect(headChecks(sim, repo, pr)).toEqual([]);
    await expectNothingGranted(repo, pr);
    expect(sim.secretValue(repo, "production", "LEGACY_TOKEN")).toBeUndefined();
    expectCleanWorld();
  }, 60_000);

  it("after a grant, main drops an old entry the branch still has: later events grant nothing more, and the check asks for an update", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "old-entry-after-grant");
    sim.commit(repo, "main", { [REQUESTS_FILE]: requestsYaml([LEGACY]) }, { author: "carol" });
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([LEGACY, PROD_DB_URL]) } });
    const waiting = await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    expect(waiting.output.summary).toContain("`PROD_DB_URL`");
    expect(waiting.output.summary).not.toContain("LEGACY_TOKEN");

    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    const granted = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "success", "the success check");
    expect(granted.output.title).toBe("Access granted: PROD_DB_URL");
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({
      state: "active",
      secret: "PROD_DB_URL",
      headSha: sim.pullRequest(repo, pr).headSha,
      mergeBaseSha: sim.pullRequest(repo, pr).mergeBaseSha,
      requestDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    // Main drops the old entry; the branch still has it, and the approval still stands.
    sim.commit(repo, "main", { [REQUESTS_FILE]: "requests: []\n" }, { author: "carol" });

    // Events that cannot change the decision: a new title, a comment-only review. Answered, and
    // nothing more is written.
    await sim.editPullRequest(repo, pr, { title: "Access to PROD_DB_URL (INC-4211)" });
    expect(sim.lastDelivery?.status).toBeLessThan(300);
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "COMMENTED", body: "Still fine by me." });
    expect(sim.lastDelivery?.status).toBeLessThan(300);
    expect(secretRequests(sim, repo, "PUT")).toHaveLength(1);

    // The owner approves the same head again. The approval stands, but the request set is no
    // longer what merging would leave on main: the check asks for an update, nothing more is granted.
    const approvalsBefore = evaluations(world, repo, pr).filter((e) => e.trigger === "pull_request_review.submitted").length;
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED", body: "LGTM again." });
    const evaluated = await sim.waitFor(
      () => evaluations(world, repo, pr).filter((e) => e.trigger === "pull_request_review.submitted")[approvalsBefore],
      { ...WAIT, description: "the evaluation after bob's second approval" },
    );
    expect(evaluated.outcome).toBe("invalid");
    const check = latestCheck(sim, repo, pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain(`${REQUESTS_FILE} changed on main since this branch was cut`);
    expect(check.output.summary).toContain("update the branch (merge or rebase main)");

    expect(secretRequests(sim, repo, "PUT", "LEGACY_TOKEN")).toEqual([]);
    expect(secretRequests(sim, repo, "PUT")).toHaveLength(1);
    expect(sim.secretNames(repo, "production")).toEqual(["PROD_DB_URL"]);
    expect((await ledgerGrants(world, repo)).map((g) => [g.secret, g.state])).toEqual([["PROD_DB_URL", "active"]]);
    expectCleanWorld();
  }, 60_000);
});

describe("only people entitled to approve can approve", () => {
  it("a code owner demoted to read approves: nothing is granted, and the check says why", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "demoted-owner");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    sim.setCollaborator(repo, "bob", "read");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain("`@bob`: `has read access to the repository; a code owner needs write access`");
    await expectNothingGranted(repo, pr);

    // The demotion was the only reason: back at write, the same owner's approval grants.
    sim.setCollaborator(repo, "bob", "write");
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    expect(await ledgerGrants(world, repo, pr)).toEqual([
      expect.objectContaining({ state: "active", approvers: [expect.objectContaining({ login: "bob" })] }),
    ]);
    expectCleanWorld();
  }, 60_000);

  it("a member of an owning team whose team has only read access approves: nothing is granted", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "read-only-team", { codeowners: `${REQUESTS_FILE} @acme/dba\n` });
    // mallory can write to the repository herself, and is in a team the catalog names as approvers.
    sim.setTeamMember("acme", "dba", "mallory", "member");
    sim.setTeamRepoPermission("acme", "dba", repo, "read");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "mallory", state: "APPROVED" });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(check.output.summary).toContain(
      "`@mallory`: `is a code owner only through @acme/dba, which has no write access to the repository`",
    );
    await expectNothingGranted(repo, pr);

    // Once the team may write, the same member's approval grants; the grant records that she
    // owned the file through the team, and her own permission then.
    sim.setTeamRepoPermission("acme", "dba", repo, "write");
    await sim.submitReview(repo, pr, { reviewer: "mallory", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    const mallory = sim.addUser("mallory");
    expect(await ledgerGrants(world, repo, pr)).toEqual([
      expect.objectContaining({
        state: "active",
        approvers: [mallory],
        approverPermissions: [{ ...mallory, permission: "write", via: "@acme/dba" }],
      }),
    ]);
    expectCleanWorld();
  }, 60_000);

  it("the catalog names approvers: a code owner outside them grants nothing, an approver who is not a code owner neither, one inside grants", async () => {
    const { sim } = world;
    // PROD_DB_URL may be approved by @bob and @acme/dba; this repository's CODEOWNERS names carol and dave.
    const repo = createRequestRepo(world, "catalog-approvers", { codeowners: `${REQUESTS_FILE} @carol @dave\n` });
    sim.setTeamMember("acme", "dba", "dave", "member");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    const afterCarol = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "carol", state: "APPROVED" });
    expect(afterCarol.output.title).toBe("Waiting for approval: 0 of 1");
    expect(afterCarol.output.summary).toContain("`@carol`: `is not among the catalog's approvers for this secret (@bob, @acme/dba)`");
    const afterBob = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(afterBob.output.title).toBe("Waiting for approval: 0 of 1");
    expect(afterBob.output.summary).toContain(`\`@bob\`: \`is not a code owner of ${REQUESTS_FILE}\``);
    await expectNothingGranted(repo, pr);

    await sim.submitReview(repo, pr, { reviewer: "dave", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    const granted = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "success", "the success check");
    expect(granted.output.summary).toMatch(/\| `PROD_DB_URL` \| `production` \| .+ \| `@dave` \|/);
    expect(await ledgerGrants(world, repo, pr)).toEqual([
      expect.objectContaining({ state: "active", approvers: [expect.objectContaining({ login: "dave" })] }),
    ]);
    expectCleanWorld();
  }, 60_000);
});

describe("a grant's records carry the evidence of its approval", () => {
  it("the row and the grant's own audit records name the head, the merge base and each approver by id, with their permission then", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "approval-evidence");
    sim.setCollaborator(repo, "bob", "maintain");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");
    const { headSha, mergeBaseSha } = sim.pullRequest(repo, pr);

    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    const [grant] = await sim.waitFor(
      async () => {
        const grants = await ledgerGrants(world, repo, pr);
        return grants[0]?.state === "active" ? grants : null;
      },
      { ...WAIT, description: "the active grant" },
    );
    const bob = sim.addUser("bob");
    const approver = { ...bob, permission: "maintain", via: "@bob" };
    expect(grant).toMatchObject({ headSha, mergeBaseSha, approvers: [bob], approverPermissions: [approver] });

    // Demoting bob afterwards changes nothing recorded: it is the permission at the time.
    sim.setCollaborator(repo, "bob", "read");
    const records = await grantAudit(world, grant!.id);
    const evidence = { headSha, mergeBaseSha, requestDigest: grant!.requestDigest, approvers: [approver] };
    expect(records.find((r) => r.action === "granting")?.details).toMatchObject(evidence);
    expect(records.find((r) => r.action === "granted")?.details).toMatchObject(evidence);
    expect((await ledgerGrants(world, repo, pr))[0]?.approverPermissions).toEqual([approver]);
    expectCleanWorld();
  }, 60_000);
});

describe("an approval that is withdrawn ends the access it gave", () => {
  it("the only counted approval is dismissed: the live grant ends at once, the secret is deleted, and the PR is told why", async () => {
    const { sim } = world;
    const { repo, pr, reviewId, grant } = await grantedRequest("dismissed-approval", "1h");

    await sim.dismissReview(repo, pr, reviewId, { by: "carol" });
    await waitForGone(repo, "PROD_DB_URL", "the deletion after the dismissal");
    const [ended] = await ledgerGrants(world, repo, pr);
    expect(ended).toMatchObject({ id: grant.id, state: "revoked", endReason: expect.stringMatching(/dismiss/i) });
    expect(ended!.endedAt!.getTime()).toBeLessThan(grant.expiresAt.getTime());
    const comment = await sim.waitFor(() => sim.comments(repo, pr).find((c) => c.body.startsWith("**Access revoked:**")), {
      ...WAIT,
      description: "the revocation comment",
    });
    expect(comment.body).toMatch(/dismiss/i);
    expect(comment.body).toContain("The secret has been deleted.");
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:revoked"), { ...WAIT, description: "the jit:revoked label" });
    expect(sim.labels(repo, pr)).not.toContain("jit:granted");
    expectCleanWorld();
  }, 60_000);

  it("the requester reverts the requests file after the grant, then the approval is dismissed: the grant still ends at once", async () => {
    const { sim } = world;
    const { repo, pr, reviewId, grant } = await grantedRequest("reverted-then-dismissed", "1h");

    // The head no longer asks for anything: the PR leaves jit-requests.yml as main has it.
    await sim.pushToPullRequest(repo, pr, { [REQUESTS_FILE]: "requests: []\n" });
    const { headSha, mergeBaseSha } = sim.pullRequest(repo, pr);
    expect(sim.fileAt(repo, headSha, REQUESTS_FILE)).toBe(sim.fileAt(repo, mergeBaseSha!, REQUESTS_FILE));
    const pushed = await sim.waitFor(() => evaluations(world, repo, pr).find((e) => e.trigger === "pull_request.synchronize"), {
      ...WAIT,
      description: "the evaluation of the push",
    });
    expect(pushed.outcome).toBe("untouched");
    // Nothing about the grant's approval changed yet: the access stays.
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);

    await sim.dismissReview(repo, pr, reviewId, { by: "carol" });
    await waitForGone(repo, "PROD_DB_URL", "the deletion after the dismissal");
    const [ended] = await ledgerGrants(world, repo, pr);
    expect(ended).toMatchObject({
      id: grant.id,
      state: "revoked",
      endReason: "the approval by @bob was dismissed, and 0 of the 1 required approval remain",
    });
    expect((await grantAudit(world, grant.id)).map((a) => a.action)).toContain("revoked");
    expect(secretRequests(sim, repo, "DELETE").map((r) => r.status)).toEqual([204]);
    await sim.waitFor(() => sim.labels(repo, pr).includes("jit:revoked"), { ...WAIT, description: "the jit:revoked label" });
    expectCleanWorld();
  }, 60_000);

  it("the repository config on main stops parsing after the grant, then the approval is dismissed: the grant still ends at once", async () => {
    const { sim } = world;
    const { repo, pr, reviewId, grant } = await grantedRequest("unreadable-config-dismissed", "1h");
    sim.commit(repo, "main", { ".github/jit-access.yml": "approvals: [2\n" }, { author: "carol" });

    await sim.dismissReview(repo, pr, reviewId, { by: "carol" });
    await waitForGone(repo, "PROD_DB_URL", "the deletion after the dismissal");
    const [ended] = await ledgerGrants(world, repo, pr);
    expect(ended).toMatchObject({
      id: grant.id,
      state: "revoked",
      endReason: "the approval by @bob was dismissed, and the repository config cannot be read to count the approvals that remain",
    });
    // The PR is also told that the config cannot be read.
    const check = await waitForCheck(sim, repo, pr, (c) => c.conclusion === "failure", "the policy-error check");
    expect(check.output.title).toBe("Repository configuration is invalid");
    expectCleanWorld();
  }, 60_000);

  it("a dismissed approval while another valid approval still meets the threshold: the grant stays", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "dismissed-one-of-two", { codeowners: `${REQUESTS_FILE} @bob @dave\n` });
    sim.setTeamMember("acme", "dba", "dave", "member");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    const bobsReview = await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    await waitForSecret(repo, "PROD_DB_URL");
    await sim.submitReview(repo, pr, { reviewer: "dave", state: "APPROVED" });

    await sim.dismissReview(repo, pr, bobsReview, { by: "carol" });
    await sim.waitFor(() => evaluations(world, repo, pr).some((e) => e.trigger === "pull_request_review.dismissed"), {
      ...WAIT,
      description: "the evaluation of the dismissal",
    });
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
    expect(secretRequests(sim, repo, "DELETE")).toEqual([]);
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "active" })]);
    expectCleanWorld();
  }, 60_000);
});

describe("races end with no secret", () => {
  it("the PR is closed while its approval is being evaluated (the reviews read held): nothing stays in the environment", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "closed-mid-evaluation");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    let release!: () => void;
    const held = sim.faults.add({
      method: "GET",
      path: new RegExp(`^/repos/${repo}/pulls/${pr}/reviews$`),
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const approval = sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    try {
      await sim.waitFor(() => sim.faults.fired(held) === 1, { ...WAIT, description: "the app reading the reviews" });
      await sim.closePullRequest(repo, pr, { merged: false, by: "alice" });
    } finally {
      release();
    }
    // The approval's delivery is answered once its evaluation has run to the end.
    await approval;

    const grants = await ledgerGrants(world, repo, pr);
    expect(grants.filter((g) => g.state === "granting" || g.state === "active")).toEqual([]);
    expect(sim.secretNames(repo, "production")).toEqual([]);
    expect(sim.labels(repo, pr)).not.toContain("jit:granted");
    expectCleanWorld();
  }, 60_000);

  it("an operator's `jit-access revoke` from another process while the grant's PUT is in flight: it waits for the secret's lock, then deletes what landed", async () => {
    const { sim } = world;
    const repo = createRequestRepo(world, "revoked-mid-write");
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: requestsYaml([PROD_DB_URL]) } });
    await waitForCheck(sim, repo, pr, (c) => c.status === "in_progress", "the waiting check");

    let release!: () => void;
    const held = sim.faults.add({
      method: "PUT",
      path: new RegExp(`^/repos/${repo}/environments/production/secrets/PROD_DB_URL$`),
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const approval = sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    let revoke: Awaited<ReturnType<typeof runCli>>;
    let grantId: string;
    try {
      await sim.waitFor(() => sim.faults.fired(held) === 1, { ...WAIT, description: "the PUT on its way" });
      const [writing] = await ledgerGrants(world, repo, pr);
      expect(writing).toMatchObject({ state: "granting" });
      grantId = writing!.id;
      // The server holds the secret's lock (README, "Several replicas") from before its PUT until
      // GitHub answers it, so the revoke waits for the write to land, then deletes it.
      const revoking = runCli(world, ["revoke", grantId, "--reason", "INC-4211 closed; access no longer needed"]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      release();
      revoke = await revoking;
    } finally {
      release();
    }
    await approval;
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain(`revoked grant ${grantId}`);

    expect(secretRequests(sim, repo, "PUT")).toHaveLength(1);
    expect(secretRequests(sim, repo, "PUT")[0]!.status).toBe(201);
    await waitForGone(repo, "PROD_DB_URL", "the revoke's DELETE");
    const [grant] = await ledgerGrants(world, repo, pr);
    expect(grant).toMatchObject({ id: grantId, state: "revoked", endReason: "INC-4211 closed; access no longer needed" });
    const audit = (await grantAudit(world, grantId)).map((a) => a.action);
    // The write's outcome and the revocation never interleave: one comes wholly before the other.
    expect(audit).toEqual(expect.arrayContaining(["granting", "revoked"]));
    expect(audit.indexOf("revoked")).toBe(audit.length - 1);
    await sim.waitFor(() => !sim.labels(repo, pr).includes("jit:granted"), { ...WAIT, description: "the granted label removed" });
    // Nothing is left for a later sweep: no live grant, and the secret is gone for good.
    const sweep = await runCli(world, ["sweep"]);
    expect(sweep.stderr).not.toContain(grantId);
    expect(sim.secretNames(repo, "production")).toEqual([]);
    expectCleanWorld();
  }, 90_000);
});

describe('"already gone" must be true: a grant whose repository the app lost stays due', () => {
  async function lostAccessThenRestored(
    name: string,
    options: { installationId?: number },
    lose: () => void,
    restore: () => void,
    why: RegExp,
  ) {
    const { sim } = world;
    const { repo, pr, grant } = await grantedRequest(name, "15s", options);
    lose();

    // At expiry the exact timer tries, cannot reach the repository, and keeps the grant due.
    const failed = await sim.waitFor(async () => (await grantAudit(world, grant.id)).find((a) => a.action === "revoke_failed"), {
      timeoutMs: 40_000,
      intervalMs: 100,
      description: "the failed revocation at expiry",
    });
    expect(String(failed.details?.error)).toMatch(why);
    const [due] = await ledgerGrants(world, repo, pr);
    expect(due).toMatchObject({ id: grant.id, state: "active", endedAt: null });
    expect(due!.revokeAttempts).toBeGreaterThanOrEqual(1);
    expect(due!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBe(SECRET_VALUES.PROD_DB_URL);
    expect((await grantAudit(world, grant.id)).map((a) => a.action)).not.toContain("expired");

    const stuck = await runCli(world, ["sweep"]);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain(`still due: grant ${grant.id} ${repo} production PROD_DB_URL`);
    expect(stuck.stderr).toMatch(why);

    // Access comes back: once the backoff is over, the server's own retry timer for the grant
    // (or a sweep, whichever runs first) deletes the secret and ends the grant.
    restore();
    const backoff = (await ledgerGrants(world, repo, pr))[0]!.nextAttemptAt!.getTime();
    await sim.waitFor(async () => ((await ledgerGrants(world, repo, pr))[0]?.state === "expired" ? true : null), {
      timeoutMs: Math.max(0, backoff - Date.now()) + 30_000,
      intervalMs: 200,
      description: "the revocation after the backoff",
    });
    const swept = await runCli(world, ["sweep"]);
    expect(swept.stderr).not.toContain(`still due: grant ${grant.id}`);
    expect(swept.code).toBe(0);
    expect(swept.stdout).toContain("0 still due");
    expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBeUndefined();
    expect(await ledgerGrants(world, repo, pr)).toEqual([expect.objectContaining({ state: "expired", endReason: "expired" })]);
    expectCleanWorld();
    return { repo, grant };
  }

  it('removed from the installation: revoke_failed "cannot reach", `jit-access sweep` exits 1 naming it; restored, the secret is deleted once the backoff is over', async () => {
    const { sim } = world;
    let installationId = 0;
    const { repo, grant } = await lostAccessThenRestored(
      "removed-from-installation",
      {},
      () => {
        installationId = sim.repository("acme/removed-from-installation")!.installationId!;
        sim.removeRepoFromInstallation("acme/removed-from-installation");
      },
      () => sim.setInstallation("acme/removed-from-installation", installationId),
      /the app cannot reach acme\/removed-from-installation/,
    );
    expect(world.app.output()).toContain(`"grant":"${grant.id}"`);
    expect(appErrorLines(repo).some((line) => line.includes("cannot reach"))).toBe(true);
  }, 120_000);

  it("the installation suspended: the grant stays due, `jit-access sweep` exits 1 naming it; unsuspended, the secret is deleted once the backoff is over", async () => {
    const { sim } = world;
    // An installation of its own, so suspending it leaves the other tests' repositories alone.
    const installationId = 9_101;
    await lostAccessThenRestored(
      "suspended-installation",
      { installationId },
      () => sim.suspendInstallation(installationId, { by: "acme-admin" }),
      () => sim.unsuspendInstallation(installationId),
      /cannot reach|suspended/,
    );
  }, 120_000);
});

/** The app's error-level log lines that name a repository. */
function appErrorLines(repo: string): string[] {
  return world
    .outputs()
    .join("\n")
    .split("\n")
    .filter((line) => line.includes('"level":50') && line.includes(repo));
}

describe("a renamed repository's grants still end", () => {
  it("at expiry, under the name GitHub's redirect from the old one leads to", async () => {
    const { sim } = world;
    const { repo, pr, grant } = await grantedRequest("before-rename", "15s");
    const { id } = sim.repository(repo)!;
    const renamed = renameRequestRepo(world, repo, "after-rename");

    await sim.waitFor(() => sim.secretValue(renamed, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 40_000,
      description: "the deletion at expiry after the rename",
    });
    const deletes = sim.requests.filter((r) => r.method === "DELETE" && /\/environments\/production\/secrets\/PROD_DB_URL$/.test(r.path));
    expect(deletes.map((r) => [r.path, r.status])).toEqual(
      expect.arrayContaining([[`/repos/${renamed}/environments/production/secrets/PROD_DB_URL`, 204]]),
    );
    // The repository was found by its id: the old name, read once, led there through the redirect.
    expect(sim.requests.filter((r) => r.method === "GET" && r.path === `/repos/${repo}`).map((r) => r.status)).toContain(301);
    const [ended] = await sim.waitFor(
      async () => {
        const grants = await ledgerGrantsByRepositoryId(world, id, pr);
        return grants[0]?.state === "expired" ? grants : null;
      },
      { ...WAIT, intervalMs: 100, description: "the grant to end" },
    );
    expect(ended).toMatchObject({ id: grant.id, endReason: "expired" });
    await sim.waitFor(() => sim.comments(renamed, pr).find((c) => c.body.startsWith("**Access expired:**")), {
      ...WAIT,
      description: "the expiry comment",
    });
    expectCleanWorld();
  }, 90_000);

  it("closing the PR after the rename (the webhook names the new repository) revokes at once", async () => {
    const { sim } = world;
    const { repo, pr, grant } = await grantedRequest("close-after-rename", "1h");
    const { id } = sim.repository(repo)!;
    const renamed = renameRequestRepo(world, repo, "closed-after-rename");

    await sim.closePullRequest(renamed, pr, { merged: false, by: "alice" });
    expect((JSON.parse(sim.lastDelivery!.body) as { repository: { full_name: string } }).repository.full_name).toBe(renamed);
    await sim.waitFor(() => sim.secretValue(renamed, "production", "PROD_DB_URL") === undefined, {
      ...WAIT,
      description: "the deletion on close",
    });
    const [ended] = await sim.waitFor(
      async () => {
        const grants = await ledgerGrantsByRepositoryId(world, id, pr);
        return grants[0]?.state === "revoked" ? grants : null;
      },
      { ...WAIT, intervalMs: 100, description: "the grant to end" },
    );
    expect(ended).toMatchObject({ id: grant.id, endReason: "pull request closed without merging" });
    expectCleanWorld();
  }, 60_000);
  it("dismissing the approval after the rename ends the grant at once", async () => {
    const { sim } = world;
    const { repo, pr, reviewId, grant } = await grantedRequest("dismiss-after-rename", "1h");
    const renamed = renameRequestRepo(world, repo, "dismissed-after-rename");

    await sim.dismissReview(renamed, pr, reviewId, { by: "carol" });
    await sim.waitFor(() => sim.secretValue(renamed, "production", "PROD_DB_URL") === undefined, {
      ...WAIT,
      description: "the deletion after the dismissal",
    });
    const [ended] = await ledgerGrantsByRepositoryId(world, sim.repository(renamed)!.id, pr);
    expect(ended).toMatchObject({ id: grant.id, state: "revoked", endReason: expect.stringMatching(/dismiss/i) });
    expectCleanWorld();
  }, 60_000);
});

describe("names are matched as GitHub matches them: ASCII case only", () => {
  it("environments that differ from allowed ones only by a non-ASCII look-alike are refused at their lines, even once approved", async () => {
    const { sim } = world;
    // U+0130 (İ) and U+0131 (ı) stand in for "i"; the Kelvin sign U+212A stands in for "k".
    // Each environment exists in the repository, so only the catalog's rule can refuse it.
    const lookAlikes = ["product\u0130on", "product\u0131on", "bac\u212Aoffice"];
    const repo = createRequestRepo(world, "look-alikes", { environments: ["production", ...lookAlikes] });
    const text = requestsYaml([
      { secret: "PROD_DB_URL", environment: lookAlikes[0], duration: "1h" },
      { secret: "PROD_DB_URL", environment: lookAlikes[1], duration: "1h" },
      { secret: "LEGACY_TOKEN", environment: lookAlikes[2], duration: "1h" },
    ]);
    const pr = await openRequest(world, repo, { branch: "need-db", files: { [REQUESTS_FILE]: text } });
    const failed = await waitForCheck(sim, repo, pr, (c) => c.status === "completed", "the failing check");
    expect(failed.conclusion).toBe("failure");
    const lines = text.split("\n");
    const messages = failed.output.annotations.map((a) => [lines[a.start_line - 1]!.trim(), a.message]);
    expect(messages).toEqual([
      [
        `environment: ${lookAlikes[0]}`,
        expect.stringContaining(`PROD_DB_URL cannot be granted to environment "${lookAlikes[0]}" ("\u0130" is U+0130, not ASCII)`),
      ],
      [
        `environment: ${lookAlikes[1]}`,
        expect.stringContaining(`PROD_DB_URL cannot be granted to environment "${lookAlikes[1]}" ("\u0131" is U+0131, not ASCII)`),
      ],
      [
        `environment: ${lookAlikes[2]}`,
        expect.stringContaining(`LEGACY_TOKEN cannot be granted to environment "${lookAlikes[2]}" ("\u212A" is U+212A, not ASCII)`),
      ],
    ]);

    const check = await reviewAndWaitForCheck(sim, repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(check.conclusion).toBe("failure");
    await expectNothingGranted(repo, pr, ["production", ...lookAlikes]);
    expect(latestCheck(sim, repo, pr)?.conclusion).toBe("failure");
    expectCleanWorld();
  }, 60_000);
});
