import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator, SimAnnotation } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
let number: number;
let head: string;
const repo = { owner: "acme", repo: "api" };

const annotation = (line: number): SimAnnotation => ({
  path: "jit-requests.yml",
  start_line: line,
  end_line: line,
  annotation_level: "failure",
  message: `problem ${line}`,
});

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: 42, collaborators: { alice: "write" } });
  head = sim.commit("acme/api", "feature", { "jit-requests.yml": "requests: []\n" });
  number = await sim.openPullRequest("acme/api", { head: "feature", author: "alice", deliver: false });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

describe("check runs", () => {
  it("creates, accumulates annotations across updates, and completes", async () => {
    const created = await octokit.checks.create({
      ...repo,
      name: "jit-access",
      head_sha: head,
      status: "in_progress",
      output: { title: "Checking", summary: "first", annotations: [annotation(1), annotation(2)] },
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name: "jit-access", head_sha: head, status: "in_progress", conclusion: null });

    const updated = await octokit.checks.update({
      ...repo,
      check_run_id: created.data.id,
      conclusion: "failure",
      output: { title: "2 problems", summary: "second", annotations: [annotation(3)] },
    });
    expect(updated.data).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { title: "2 problems", summary: "second", annotations_count: 3 },
    });
    expect(updated.data.completed_at).toEqual(expect.any(String));

    const [run] = sim.checkRuns("acme/api", { headSha: head });
    expect(run?.output.annotations.map((a) => a.start_line)).toEqual([1, 2, 3]);
    const listed = await octokit.checks.listAnnotations({ ...repo, check_run_id: created.data.id });
    expect(listed.data.map((a) => a.message)).toEqual(["problem 1", "problem 2", "problem 3"]);
  });

  it("answers 422 for more than 50 annotations in one request, and records the violation", async () => {
    const before = sim.violations.length;
    const annotations = Array.from({ length: 51 }, (_, index) => annotation(index + 1));
    expect(
      await statusOf(
        octokit.checks.create({ ...repo, name: "too-many", head_sha: head, output: { title: "t", summary: "s", annotations } }),
      ),
    ).toBe(422);
    expect(sim.violations.slice(before)).toEqual([
      expect.objectContaining({ method: "POST", path: "/repos/acme/api/check-runs", problem: expect.stringContaining("annotations") }),
    ]);
    expect(sim.checkRuns("acme/api", { name: "too-many" })).toEqual([]);
  });

  it("answers 422 for a head_sha the repository does not have", async () => {
    expect(await statusOf(octokit.checks.create({ ...repo, name: "x", head_sha: "0".repeat(40) }))).toBe(422);
  });

  it("lists the latest run per name for a ref (branch or sha)", async () => {
    await octokit.checks.create({ ...repo, name: "jit-access", head_sha: head, conclusion: "success" });
    await octokit.checks.create({ ...repo, name: "other", head_sha: head, status: "queued" });
    const bySha = await octokit.checks.listForRef({ ...repo, ref: head });
    expect(bySha.data.check_runs.map((run) => [run.name, run.conclusion])).toEqual([
      ["other", null],
      ["jit-access", "success"],
    ]);
    const byBranch = await octokit.checks.listForRef({ ...repo, ref: "feature", check_name: "jit-access", filter: "all" });
    expect(byBranch.data.total_count).toBe(2);
  });
});

describe("comments and labels", () => {
  it("posts, lists and edits comments as the app's bot", async () => {
    const created = await octokit.issues.createComment({ ...repo, issue_number: number, body: "Granted PROD_DB_URL" });
    expect(created.data.user).toMatchObject({ login: "jit-access[bot]", type: "Bot" });
    await octokit.issues.updateComment({ ...repo, comment_id: created.data.id, body: "Revoked PROD_DB_URL" });
    const listed = await octokit.issues.listComments({ ...repo, issue_number: number });
    expect(listed.data.map((comment) => comment.body)).toEqual(["Revoked PROD_DB_URL"]);
    expect(sim.comments("acme/api", number)).toEqual([expect.objectContaining({ body: "Revoked PROD_DB_URL", author: "jit-access[bot]" })]);
  });

  it("adds labels (creating unknown ones), replaces them, and removes one", async () => {
    const added = await octokit.issues.addLabels({ ...repo, issue_number: number, labels: ["jit:pending", "jit:granted"] });
    expect(added.data.map((label) => label.name)).toEqual(["jit:pending", "jit:granted"]);
    await octokit.issues.setLabels({ ...repo, issue_number: number, labels: ["jit:granted", "jit:active"] });
    const removed = await octokit.issues.removeLabel({ ...repo, issue_number: number, name: "jit:granted" });
    expect(removed.data.map((label) => label.name)).toEqual(["jit:active"]);
    expect(sim.labels("acme/api", number)).toEqual(["jit:active"]);
    expect((await octokit.issues.listLabelsOnIssue({ ...repo, issue_number: number })).data.map((label) => label.name)).toEqual([
      "jit:active",
    ]);
  });

  it("sets labels: the PUT replaces every label of the pull request, those it does not name included", async () => {
    await octokit.issues.addLabels({ ...repo, issue_number: number, labels: ["needs-review", "jit:granted"] });
    expect(sim.labels("acme/api", number)).toEqual(["jit:active", "needs-review", "jit:granted"]);
    const set = await octokit.issues.setLabels({ ...repo, issue_number: number, labels: ["needs-review", "jit:expired"] });
    expect(set.data.map((label) => label.name)).toEqual(["needs-review", "jit:expired"]);
    expect(sim.labels("acme/api", number)).toEqual(["needs-review", "jit:expired"]);
  });

  it("takes reactions to a comment as the app's bot: 201, then 200 for the same content again", async () => {
    const created = await octokit.issues.createComment({ ...repo, issue_number: number, body: "hello" });
    const first = await octokit.reactions.createForIssueComment({ ...repo, comment_id: created.data.id, content: "eyes" });
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ content: "eyes", user: { login: "jit-access[bot]" } });
    const again = await octokit.reactions.createForIssueComment({ ...repo, comment_id: created.data.id, content: "eyes" });
    expect(again).toMatchObject({ status: 200, data: { id: first.data.id } });
    expect(sim.comments("acme/api", number).find((c) => c.id === created.data.id)?.reactions).toEqual(["eyes by jit-access[bot]"]);
    expect(await statusOf(octokit.reactions.createForIssueComment({ ...repo, comment_id: 1, content: "eyes" }))).toBe(404);
  });

  it("answers 404 when removing a label that is not on the pull request", async () => {
    expect(await statusOf(octokit.issues.removeLabel({ ...repo, issue_number: number, name: "jit:granted" }))).toBe(404);
  });

  it("has seen no other violation", () => {
    expect(sim.violations.filter((violation) => !violation.problem.includes("annotations"))).toEqual([]);
  });
});
