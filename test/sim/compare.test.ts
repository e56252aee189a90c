import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
const repo = { owner: "acme", repo: "api" };
const LEGACY = "requests:\n  - secret: LEGACY_TOKEN\n";
const LEGACY_AND_DB = "requests:\n  - secret: LEGACY_TOKEN\n  - secret: PROD_DB_URL\n";

/** Commit shas of a comparison, oldest first. */
const shas = (commits: Array<{ sha: string }>) => commits.map((commit) => commit.sha);

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", {
    installationId: 42,
    collaborators: { alice: "write", bob: "admin" },
    files: { "jit-requests.yml": LEGACY, "README.md": "hello\n" },
  });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

describe("compare BASE...HEAD", () => {
  // main: C0 (LEGACY) - M1 (LEGACY removed); feature from C0: F1 (PROD_DB_URL added).
  let c0: string;
  let m1: string;
  let f1: string;

  beforeAll(() => {
    c0 = sim.branchSha("acme/api", "main") as string;
    f1 = sim.commit("acme/api", "feature", { "jit-requests.yml": LEGACY_AND_DB }, { message: "Need the database" });
    m1 = sim.commit("acme/api", "main", { "jit-requests.yml": "requests: []\n" }, { message: "Drop the legacy token" });
  });

  it("reports a diverged branch against its merge base, not the base's tip", async () => {
    const { data } = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...feature" });
    expect(data).toMatchObject({
      status: "diverged",
      ahead_by: 1,
      behind_by: 1,
      total_commits: 1,
      base_commit: { sha: m1 },
      merge_base_commit: { sha: c0, commit: { message: "Initial commit" } },
    });
    expect(shas(data.commits)).toEqual([f1]);
    expect(data.commits[0]).toMatchObject({ commit: { message: "Need the database" }, parents: [{ sha: c0 }] });
    // Only what the branch adds: the entry main removed since is not part of the diff.
    expect(data.files).toEqual([
      expect.objectContaining({
        filename: "jit-requests.yml",
        status: "modified",
        additions: 1,
        deletions: 0,
        patch: expect.stringContaining("+  - secret: PROD_DB_URL"),
      }),
    ]);
    expect(data.files?.[0]?.patch).not.toContain("-  - secret: LEGACY_TOKEN");
  });

  it("swaps the counts the other way round", async () => {
    const { data } = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "feature...main" });
    expect(data).toMatchObject({ status: "diverged", ahead_by: 1, behind_by: 1, base_commit: { sha: f1 }, merge_base_commit: { sha: c0 } });
    expect(shas(data.commits)).toEqual([m1]);
  });

  it("reports ahead, behind and identical, with shas as well as branch names", async () => {
    const ahead = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: `${c0}...feature` });
    expect(ahead.data).toMatchObject({ status: "ahead", ahead_by: 1, behind_by: 0, merge_base_commit: { sha: c0 } });
    const behind = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: `feature...${c0.slice(0, 7)}` });
    expect(behind.data).toMatchObject({ status: "behind", ahead_by: 0, behind_by: 1, total_commits: 0, commits: [], files: [] });
    const identical = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...main" });
    expect(identical.data).toMatchObject({
      status: "identical",
      ahead_by: 0,
      behind_by: 0,
      commits: [],
      files: [],
      merge_base_commit: { sha: m1 },
    });
  });

  it("answers 404 for an unknown ref", async () => {
    expect(await statusOf(octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...nope" }))).toBe(404);
    expect(await statusOf(octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "nope...main" }))).toBe(404);
  });

  it("lists commits oldest first and pages them, files on the first page only", async () => {
    const long = [1, 2, 3, 4, 5].map((n) => sim.commit("acme/api", "long", { [`file-${n}.txt`]: `${n}\n` }, { from: "main" }));
    const all = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...long" });
    expect(shas(all.data.commits)).toEqual(long);
    expect(all.data.files?.map((file) => file.filename)).toEqual(["file-1.txt", "file-2.txt", "file-3.txt", "file-4.txt", "file-5.txt"]);

    const first = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...long", per_page: 2, page: 1 });
    expect(shas(first.data.commits)).toEqual(long.slice(0, 2));
    expect(first.data.total_commits).toBe(5);
    expect(first.data.files).toHaveLength(5);
    expect(first.headers.link).toMatch(/rel="next"/);
    const last = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...long", per_page: 2, page: 3 });
    expect(shas(last.data.commits)).toEqual(long.slice(4));
    expect(last.data.files).toBeUndefined();
  });

  it("answers the diff media type with a unified diff", async () => {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/compare/{basehead}", {
      ...repo,
      basehead: "main...feature",
      mediaType: { format: "diff" },
    });
    expect(data).toBe(
      "diff --git a/jit-requests.yml b/jit-requests.yml\n--- a/jit-requests.yml\n+++ b/jit-requests.yml\n" +
        "@@ -1,2 +1,3 @@\n requests:\n   - secret: LEGACY_TOKEN\n+  - secret: PROD_DB_URL\n",
    );
  });

  it("takes the best common ancestor, not the one fewest steps away", async () => {
    // side from C0 (S1); h from main (H1); h merged into side: merge commit with parents [S1, H1].
    // From the merge, C0 is two steps away through S1 and main's tip two steps through H1, but
    // C0 is an ancestor of main's tip: the merge base is main's tip.
    sim.commit("acme/api", "side", { "side.txt": "s\n" }, { from: c0 });
    const h1 = sim.commit("acme/api", "h", { "h.txt": "h\n" }, { from: "main" });
    const number = await sim.openPullRequest("acme/api", { head: "h", base: "side", author: "alice", deliver: false });
    await sim.closePullRequest("acme/api", number, { merged: true, by: "bob", deliver: false });
    const mainTip = sim.branchSha("acme/api", "main") as string;
    const { data } = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...side" });
    expect(data.merge_base_commit.sha).toBe(mainTip);
    expect(data.status).toBe("ahead");
    expect(shas(data.commits)).toContain(h1);
    expect(data.files?.map((file) => file.filename)).toEqual(["h.txt", "side.txt"]);
    expect(sim.mergeBase("acme/api", "main", "side")).toBe(mainTip);
  });

  it("compares against a fork's branch with OWNER:ref", async () => {
    sim.commit("acme/api", "fork-work", { "fork.txt": "f\n" }, { from: "main" });
    const number = await sim.openPullRequest("acme/api", { head: "fork-work", author: "mallory", fromFork: true, deliver: false });
    const head = sim.pullRequest("acme/api", number).headSha;
    const { data } = await octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "acme:main...mallory:fork-work" });
    expect(data).toMatchObject({ status: "ahead", ahead_by: 1 });
    expect(shas(data.commits)).toEqual([head]);
    expect(data.permalink_url).toMatch(/\/compare\/acme:[0-9a-f]{40}\.\.\.mallory:[0-9a-f]{40}$/);
    expect(await statusOf(octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main...nobody:fork-work" }))).toBe(404);
  });

  it("answers 404 when the histories share no commit", async () => {
    sim.commit("acme/api", "pages", { "index.html": "<p>hi</p>\n" }, { orphan: true });
    const error = await octokit.repos
      .compareCommitsWithBasehead({ ...repo, basehead: "main...pages" })
      .catch((caught: unknown) => caught as { status: number; response: { data: { message: string } } });
    expect(error).toMatchObject({ status: 404, response: { data: { message: "No common ancestor between main and pages." } } });
  });
});

describe("pull requests and merge bases", () => {
  it("lists files against the merge base with the base branch, as 'Files changed' does", async () => {
    sim.createRepo("acme/web", { installationId: 42, files: { "jit-requests.yml": LEGACY, "README.md": "hello\n" } });
    sim.commit("acme/web", "typo", { "README.md": "Hello\n" });
    sim.commit("acme/web", "main", { "jit-requests.yml": "requests: []\n" });
    const number = await sim.openPullRequest("acme/web", { head: "typo", author: "alice", deliver: false });
    const files = await octokit.pulls.listFiles({ owner: "acme", repo: "web", pull_number: number });
    expect(files.data.map((file) => file.filename)).toEqual(["README.md"]);
    const pull = await octokit.pulls.get({ owner: "acme", repo: "web", pull_number: number });
    expect(pull.data).toMatchObject({ changed_files: 1, commits: 1 });
    const compare = await octokit.repos.compareCommitsWithBasehead({
      owner: "acme",
      repo: "web",
      basehead: `main...${pull.data.head.sha}`,
    });
    expect(compare.data.merge_base_commit.sha).toBe(sim.pullRequest("acme/web", number).mergeBaseSha);
    expect(compare.data.files?.map((file) => file.filename)).toEqual(["README.md"]);
  });

  it("reports base.sha as the base tip when the head was last pushed, not after the base moves on", async () => {
    sim.createRepo("acme/svc", { installationId: 42, files: { "jit-requests.yml": LEGACY } });
    sim.commit("acme/svc", "work", { "a.txt": "a\n" });
    const atOpen = sim.branchSha("acme/svc", "main");
    const number = await sim.openPullRequest("acme/svc", { head: "work", author: "alice", deliver: false });
    const read = async () => (await octokit.pulls.get({ owner: "acme", repo: "svc", pull_number: number })).data;
    expect((await read()).base.sha).toBe(atOpen);

    const moved = sim.commit("acme/svc", "main", { "jit-requests.yml": "requests: []\n" });
    expect((await read()).base.sha).toBe(atOpen);
    expect(sim.pullRequest("acme/svc", number)).toMatchObject({ baseSha: atOpen, mergeBaseSha: atOpen });

    await sim.pushToPullRequest("acme/svc", number, { "b.txt": "b\n" }, { deliver: false });
    expect((await read()).base.sha).toBe(moved);
    // The merge base only moves when the head contains more of main.
    expect(sim.pullRequest("acme/svc", number).mergeBaseSha).toBe(atOpen);
  });

  it("moves base.sha to the new base when the pull request is retargeted", async () => {
    const release = sim.commit("acme/svc", "release", { "r.txt": "r\n" }, { from: "main" });
    sim.commit("acme/svc", "work2", { "c.txt": "c\n" });
    const number = await sim.openPullRequest("acme/svc", { head: "work2", author: "alice", deliver: false });
    const before = sim.pullRequest("acme/svc", number).baseSha;
    await sim.editPullRequest("acme/svc", number, { base: "release", deliver: false });
    expect(sim.pullRequest("acme/svc", number).baseSha).toBe(release);
    const delivered = JSON.parse(sim.lastDelivery?.body ?? "{}") as { changes?: { base?: { sha?: { from?: string } } } };
    expect(delivered.changes?.base?.sha?.from).toBe(before);
  });

  it("counts a pull request's commits through merges", async () => {
    sim.createRepo("acme/merges", { installationId: 42 });
    sim.commit("acme/merges", "topic", { "t1.txt": "1\n" });
    sim.commit("acme/merges", "topic", { "t2.txt": "2\n" });
    sim.commit("acme/merges", "other", { "o.txt": "o\n" });
    const inner = await sim.openPullRequest("acme/merges", { head: "other", base: "topic", author: "alice", deliver: false });
    await sim.closePullRequest("acme/merges", inner, { merged: true, by: "alice", deliver: false });
    const number = await sim.openPullRequest("acme/merges", { head: "topic", author: "alice", deliver: false });
    // t1, t2, o and the merge commit.
    expect((await octokit.pulls.get({ owner: "acme", repo: "merges", pull_number: number })).data.commits).toBe(4);
  });
});

describe("request checks", () => {
  it("records a basehead that is not BASE...HEAD as a violation", async () => {
    const before = sim.violations.length;
    expect(await statusOf(octokit.repos.compareCommitsWithBasehead({ ...repo, basehead: "main..feature" }))).toBe(404);
    expect(sim.violations.slice(before)).toEqual([expect.objectContaining({ problem: expect.stringMatching(/BASE\.\.\.HEAD/) })]);
  });

  it("has seen no other violation", () => {
    expect(sim.violations.filter((violation) => !/BASE\.\.\.HEAD/.test(violation.problem))).toEqual([]);
  });
});
