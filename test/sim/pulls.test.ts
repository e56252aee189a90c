import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", {
    installationId: 42,
    collaborators: { alice: "write", bob: "admin", carol: "write" },
    files: { "jit-requests.yml": "requests: []\n", "README.md": "hello\n" },
  });
  sim.createTeam("acme", "dba", { carol: "maintainer", dave: "member" });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

describe("pull requests", () => {
  let number: number;
  let firstHead: string;

  beforeAll(async () => {
    firstHead = sim.commit("acme/api", "feature-x", { "jit-requests.yml": "requests:\n  - secret: A\n" });
    number = await sim.openPullRequest("acme/api", { head: "feature-x", author: "alice", title: "Need A", deliver: false });
  });

  it("has GitHub's shape", async () => {
    const { data } = await octokit.pulls.get({ ...repo, pull_number: number });
    expect(data).toMatchObject({
      number,
      state: "open",
      merged: false,
      title: "Need A",
      user: { login: "alice", type: "User", id: sim.addUser("alice").id },
      head: { ref: "feature-x", sha: firstHead, repo: { full_name: "acme/api", fork: false } },
      base: { ref: "main", sha: sim.branchSha("acme/api", "main"), repo: { full_name: "acme/api" } },
      labels: [],
      changed_files: 1,
      additions: 2,
      deletions: 1,
      author_association: "COLLABORATOR",
    });
  });

  it("lists changed files with a patch", async () => {
    const { data } = await octokit.pulls.listFiles({ ...repo, pull_number: number });
    expect(data).toEqual([
      expect.objectContaining({
        filename: "jit-requests.yml",
        status: "modified",
        additions: 2,
        deletions: 1,
        changes: 3,
        patch: "@@ -1,1 +1,2 @@\n-requests: []\n+requests:\n+  - secret: A",
      }),
    ]);
  });

  it("lists reviews chronologically with upper-case states, commit ids and dismissals", async () => {
    const approval = await sim.submitReview("acme/api", number, { reviewer: "bob", state: "APPROVED", deliver: false });
    const newHead = await sim.pushToPullRequest(
      "acme/api",
      number,
      { "jit-requests.yml": "requests:\n  - secret: B\n" },
      { deliver: false },
    );
    await sim.submitReview("acme/api", number, { reviewer: "carol", state: "CHANGES_REQUESTED", deliver: false });
    await sim.submitReview("acme/api", number, { reviewer: "dave", state: "COMMENTED", deliver: false });
    await sim.dismissReview("acme/api", number, approval, { deliver: false });

    const { data } = await octokit.pulls.listReviews({ ...repo, pull_number: number });
    expect(data.map((review) => [review.user?.login, review.state, review.commit_id])).toEqual([
      ["bob", "DISMISSED", firstHead],
      ["carol", "CHANGES_REQUESTED", newHead],
      ["dave", "COMMENTED", newHead],
    ]);
    expect(data[1]?.author_association).toBe("MEMBER");
    expect(data.every((review) => typeof review.submitted_at === "string")).toBe(true);
    expect((await octokit.pulls.get({ ...repo, pull_number: number })).data.head.sha).toBe(newHead);
  });

  it("refuses an approval by the author unless asked to simulate it", async () => {
    await expect(sim.submitReview("acme/api", number, { reviewer: "alice", state: "APPROVED", deliver: false })).rejects.toThrow(
      /own pull request/,
    );
    await expect(
      sim.submitReview("acme/api", number, { reviewer: "alice", state: "APPROVED", allowAuthor: true, deliver: false }),
    ).resolves.toEqual(expect.any(Number));
  });

  it("paginates reviews with Link headers", async () => {
    for (let index = 0; index < 4; index += 1) {
      await sim.submitReview("acme/api", number, { reviewer: "dave", state: "COMMENTED", deliver: false });
    }
    const first = await octokit.pulls.listReviews({ ...repo, pull_number: number, per_page: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.headers.link).toMatch(/<[^>]*[?&]page=2[^>]*>; rel="next"/);
    expect(first.headers.link).toMatch(/<[^>]*[?&]page=4[^>]*>; rel="last"/);
    const all = await octokit.paginate(octokit.pulls.listReviews, { ...repo, pull_number: number, per_page: 2 });
    expect(all).toHaveLength(8);
    expect(new Set(all.map((review) => review.id)).size).toBe(8);
  });

  it("answers 404 for an unknown pull request", async () => {
    expect(await statusOf(octokit.pulls.get({ ...repo, pull_number: 999 }))).toBe(404);
  });
});

describe("fork, merge and close", () => {
  it("opens a pull request from the author's fork", async () => {
    sim.commit("acme/api", "fork-branch", { "jit-requests.yml": "requests:\n  - secret: F\n" });
    const number = await sim.openPullRequest("acme/api", { head: "fork-branch", author: "mallory", fromFork: true, deliver: false });
    const { data } = await octokit.pulls.get({ ...repo, pull_number: number });
    expect(data.head.repo).toMatchObject({ full_name: "mallory/api", fork: true });
    expect(data.author_association).toBe("NONE");
    // The base repository serves fork commits by sha, as GitHub does.
    const content = await octokit.repos.getContent({ ...repo, path: "jit-requests.yml", ref: data.head.sha, mediaType: { format: "raw" } });
    expect(content.data).toBe("requests:\n  - secret: F\n");
  });

  it("merges into the base branch and freezes the head", async () => {
    sim.commit("acme/api", "to-merge", { "jit-requests.yml": "requests:\n  - secret: M\n" });
    const number = await sim.openPullRequest("acme/api", { head: "to-merge", author: "alice", deliver: false });
    await sim.closePullRequest("acme/api", number, { merged: true, by: "bob", deliver: false });
    const { data } = await octokit.pulls.get({ ...repo, pull_number: number });
    expect(data).toMatchObject({
      state: "closed",
      merged: true,
      merged_by: { login: "bob" },
      merge_commit_sha: sim.branchSha("acme/api", "main"),
    });
    expect(sim.fileAt("acme/api", "main", "jit-requests.yml")).toBe("requests:\n  - secret: M\n");
    expect(sim.fileAt("acme/api", "main", "README.md")).toBe("hello\n");
    expect((await octokit.pulls.listFiles({ ...repo, pull_number: number })).data.map((file) => file.filename)).toEqual([
      "jit-requests.yml",
    ]);
  });

  it("closes without merging and reopens", async () => {
    sim.commit("acme/api", "to-close", { "other.txt": "x\n" });
    const number = await sim.openPullRequest("acme/api", { head: "to-close", author: "alice", deliver: false });
    await sim.closePullRequest("acme/api", number, { merged: false, deliver: false });
    expect(sim.pullRequest("acme/api", number)).toMatchObject({ state: "closed", merged: false });
    await sim.reopenPullRequest("acme/api", number, { deliver: false });
    expect(sim.pullRequest("acme/api", number).state).toBe("open");
  });
});

describe("permissions and teams", () => {
  it.each([
    ["bob", "admin", "admin"],
    ["alice", "write", "write"],
    ["mallory", "none", "none"],
  ])("reports %s as %s", async (username, permission, roleName) => {
    const { data } = await octokit.repos.getCollaboratorPermissionLevel({ ...repo, username });
    expect(data).toMatchObject({ permission, role_name: roleName, user: { login: username } });
  });

  it("folds maintain into write and triage into read, keeping the role name", async () => {
    sim.setCollaborator("acme/api", "erin", "maintain");
    sim.setCollaborator("acme/api", "frank", "triage");
    expect((await octokit.repos.getCollaboratorPermissionLevel({ ...repo, username: "erin" })).data).toMatchObject({
      permission: "write",
      role_name: "maintain",
    });
    expect((await octokit.repos.getCollaboratorPermissionLevel({ ...repo, username: "frank" })).data).toMatchObject({
      permission: "read",
      role_name: "triage",
    });
  });

  it("answers team memberships and members", async () => {
    const membership = await octokit.teams.getMembershipForUserInOrg({ org: "acme", team_slug: "dba", username: "carol" });
    expect(membership.data).toMatchObject({ state: "active", role: "maintainer" });
    expect(await statusOf(octokit.teams.getMembershipForUserInOrg({ org: "acme", team_slug: "dba", username: "alice" }))).toBe(404);
    expect(await statusOf(octokit.teams.getMembershipForUserInOrg({ org: "acme", team_slug: "nope", username: "carol" }))).toBe(404);
    const members = await octokit.teams.listMembersInOrg({ org: "acme", team_slug: "dba" });
    expect(members.data.map((member) => member.login)).toEqual(["carol", "dave"]);
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
