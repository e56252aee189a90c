import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { loadOpenApiCheck } from "../../sim/openapi-check.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

/**
 * Workflow runs and custom deployment protection rules: runs that wait for an app's rule, the
 * `deployment_protection_rule` deliveries, the review endpoint and the environment's rule
 * endpoints, every response checked against GitHub's REST description (startCheckedSimulator).
 */
let sim: GitHubSimulator;
let octokit: Octokit;
let receiver: Server;
let received: { event: string; payload: Record<string, unknown> }[] = [];
const repo = { owner: "acme", repo: "api" };

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        event: String(request.headers["x-github-event"]),
        payload: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      });
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/github/webhooks`;
  sim = await startCheckedSimulator({ webhookUrl: url });
  for (const login of ["alice", "mallory"]) sim.addUser(login);
  sim.createRepo("acme/api", {
    installationId: 42,
    environments: ["production-jit", "staging"],
    collaborators: { alice: "write", mallory: "write" },
  });
  octokit = installationOctokit(sim, 42);
});
afterAll(async () => {
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  received = [];
});
const violationsNow = () => [...sim.violations];

describe("environment protection rules", () => {
  it("lists none, then this app once an admin enables it", async () => {
    expect((await octokit.repos.getAllDeploymentProtectionRules({ ...repo, environment_name: "staging" })).data).toEqual({
      total_count: 0,
      custom_deployment_protection_rules: [],
    });
    const id = sim.enableProtectionRule("acme/api", "production-jit");
    const { data } = await octokit.repos.getAllDeploymentProtectionRules({ ...repo, environment_name: "production-jit" });
    expect(data.total_count).toBe(1);
    expect(data.custom_deployment_protection_rules).toEqual([
      expect.objectContaining({ id, enabled: true, app: expect.objectContaining({ id: sim.appId, slug: "jit-access" }) }),
    ]);
    expect(
      (await octokit.repos.getCustomDeploymentProtectionRule({ ...repo, environment_name: "production-jit", protection_rule_id: id })).data
        .id,
    ).toBe(id);
    expect(
      await statusOf(
        octokit.repos.getCustomDeploymentProtectionRule({ ...repo, environment_name: "production-jit", protection_rule_id: id + 1000 }),
      ),
    ).toBe(404);
  });

  it("enabling through the API needs the Administration permission: 403 without it, 201 with it, 422 when already enabled", async () => {
    sim.addEnvironment("acme/api", "qa");
    const enable = () => octokit.repos.createDeploymentProtectionRule({ ...repo, environment_name: "qa", integration_id: sim.appId });
    expect(await statusOf(enable())).toBe(403);
    expect(sim.protectionRules("acme/api", "qa")).toEqual([]);
    sim.setInstallationPermissions(42, { actions: "read", administration: "write", deployments: "write", metadata: "read" });
    const created = await enable();
    expect(created.status).toBe(201);
    expect(sim.protectionRules("acme/api", "qa")).toEqual([{ id: created.data.id, appId: sim.appId, appSlug: "jit-access" }]);
    expect(await statusOf(enable())).toBe(422);
    await octokit.repos.disableDeploymentProtectionRule({ ...repo, environment_name: "qa", protection_rule_id: created.data.id });
    expect(sim.protectionRules("acme/api", "qa")).toEqual([]);
    expect(await statusOf(octokit.repos.createDeploymentProtectionRule({ ...repo, environment_name: "qa", integration_id: 1 }))).toBe(422);
    expect(await statusOf(octokit.repos.getAllDeploymentProtectionRules({ ...repo, environment_name: "nope" }))).toBe(404);
  });
});

describe("workflow runs that wait for the rule", () => {
  it("a run into a gated environment waits and delivers deployment_protection_rule, valid against GitHub's schema of it", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["production-jit"] });
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({
      status: "waiting",
      runAttempt: 1,
      actor: "alice",
      triggeringActor: "alice",
      pending: ["production-jit"],
    });
    expect(received).toHaveLength(1);
    const [{ event, payload }] = received as [{ event: string; payload: Record<string, unknown> }];
    expect(event).toBe("deployment_protection_rule");
    expect(payload).toMatchObject({
      action: "requested",
      environment: "production-jit",
      event: "workflow_dispatch",
      deployment_callback_url: `${sim.apiUrl}/repos/acme/api/actions/runs/${runId}/deployment_protection_rule`,
      repository: expect.objectContaining({ full_name: "acme/api" }),
      installation: expect.objectContaining({ id: 42 }),
      sender: expect.objectContaining({ login: "alice" }),
      deployment: expect.objectContaining({
        environment: "production-jit",
        task: "deploy",
        creator: expect.objectContaining({ login: "alice" }),
      }),
      pull_requests: [],
    });
    const check = await loadOpenApiCheck();
    expect(check.checkWebhook("deployment-protection-rule-requested", payload)).toEqual([]);
    expect(check.checkWebhook("deployment-protection-rule-requested", { ...payload, environment: 7 })).not.toEqual([]);
  });

  it("a run into an environment without rules does not wait, and nothing is delivered", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["staging"] });
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({ status: "in_progress", pending: [] });
    expect(received).toEqual([]);
  });

  it("serves the run with actor, triggering actor, attempt, start time, path and head; lists waiting runs; names the environments waited on", async () => {
    const runId = await sim.startWorkflowRun("acme/api", {
      actor: "alice",
      environments: ["production-jit"],
      path: ".github/workflows/release.yml",
    });
    const { data: run } = await octokit.actions.getWorkflowRun({ ...repo, run_id: runId });
    expect(run).toMatchObject({
      id: runId,
      status: "waiting",
      run_attempt: 1,
      path: ".github/workflows/release.yml",
      head_branch: "main",
      head_sha: sim.branchSha("acme/api", "main"),
      event: "workflow_dispatch",
      actor: expect.objectContaining({ login: "alice" }),
      triggering_actor: expect.objectContaining({ login: "alice" }),
    });
    expect(Date.parse(run.run_started_at!)).not.toBeNaN();
    const { data: waiting } = await octokit.actions.listWorkflowRunsForRepo({ ...repo, status: "waiting", per_page: 100 });
    expect(waiting.workflow_runs.map((r) => r.id)).toContain(runId);
    expect(waiting.workflow_runs.every((r) => r.status === "waiting")).toBe(true);
    const { data: pending } = await octokit.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    expect(pending.map((p) => p.environment.name)).toEqual(["production-jit"]);
    expect(await statusOf(octokit.actions.getWorkflowRun({ ...repo, run_id: 1 }))).toBe(404);
  });

  it("pages the list of runs", async () => {
    const { data, headers } = await octokit.actions.listWorkflowRunsForRepo({ ...repo, per_page: 1 });
    expect(data.workflow_runs).toHaveLength(1);
    expect(data.total_count).toBeGreaterThan(1);
    expect(headers.link).toContain('rel="next"');
  });
});

describe("the review endpoint", () => {
  const review = (runId: number, body: { environment_name: string; state?: "approved" | "rejected"; comment?: string }) =>
    octokit.actions.reviewCustomGatesForRun({ ...repo, run_id: runId, ...body } as Parameters<
      Octokit["actions"]["reviewCustomGatesForRun"]
    >[0]);

  it("an approval lets the run go on, once: a second answer for the same environment is 422", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["production-jit"] });
    expect((await review(runId, { environment_name: "production-jit", state: "approved", comment: "yes" })).status).toBe(204);
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({
      status: "in_progress",
      pending: [],
      reviews: [
        expect.objectContaining({ attempt: 1, environment: "production-jit", appId: sim.appId, state: "approved", comment: "yes" }),
      ],
    });
    expect(await statusOf(review(runId, { environment_name: "production-jit", state: "rejected", comment: "no" }))).toBe(422);
    expect(sim.workflowRun("acme/api", runId).reviews).toHaveLength(1);
  });

  it("a rejection fails the run; a re-run by someone else is a new attempt that waits again and is delivered again", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["production-jit"] });
    await review(runId, { environment_name: "production-jit", state: "rejected", comment: "no grant" });
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({ status: "completed", conclusion: "failure", pending: [] });
    received = [];
    await sim.rerunWorkflowRun("acme/api", runId, { by: "mallory" });
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({
      status: "waiting",
      runAttempt: 2,
      actor: "alice",
      triggeringActor: "mallory",
    });
    expect(received.map((r) => r.payload.sender)).toEqual([expect.objectContaining({ login: "mallory" })]);
    const { data: run } = await octokit.actions.getWorkflowRun({ ...repo, run_id: runId });
    expect(run).toMatchObject({
      run_attempt: 2,
      triggering_actor: expect.objectContaining({ login: "mallory" }),
      previous_attempt_url: expect.stringContaining("/attempts/1"),
    });
  });

  it("a comment alone decides nothing; an environment the run does not wait on is 422", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["production-jit"] });
    expect((await review(runId, { environment_name: "production-jit", comment: "looking" })).status).toBe(204);
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({
      status: "waiting",
      reviews: [expect.objectContaining({ state: null, comment: "looking" })],
    });
    expect(await statusOf(review(runId, { environment_name: "staging", state: "approved" }))).toBe(422);
  });

  it("waits for every app's rule: another app's rule keeps the job waiting after this one approves", async () => {
    sim.addEnvironment("acme/api", "two-rules");
    sim.enableProtectionRule("acme/api", "two-rules");
    sim.enableProtectionRule("acme/api", "two-rules", { id: 99, slug: "other-gate" });
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["two-rules"] });
    await review(runId, { environment_name: "two-rules", state: "approved" });
    expect(sim.workflowRun("acme/api", runId)).toMatchObject({ status: "waiting", pending: ["two-rules"] });
    expect(await statusOf(review(runId, { environment_name: "two-rules", state: "approved" }))).toBe(422);
  });

  it("takes nothing that is not GitHub's documented body: a state outside approved and rejected is a violation", async () => {
    const runId = await sim.startWorkflowRun("acme/api", { actor: "alice", environments: ["production-jit"] });
    const before = violationsNow().length;
    expect(await statusOf(review(runId, { environment_name: "production-jit", state: "maybe" as "approved" }))).toBe(422);
    const found = sim.violations.slice(before);
    expect(found.map((v) => v.problem)).toContain("body/state: must be equal to one of the allowed values");
    expect(found.every((v) => v.method === "POST" && v.path.endsWith(`/actions/runs/${runId}/deployment_protection_rule`))).toBe(true);
    expect(sim.workflowRun("acme/api", runId).status).toBe("waiting");
    (sim.violations as unknown[]).splice(before);
  });

  afterAll(() => {
    expect(sim.violations).toEqual([]);
  });
});
