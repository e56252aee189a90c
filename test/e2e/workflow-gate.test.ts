import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { WorkflowRunView } from "../../sim/index.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { AuditEvent, Grant } from "../../src/ledger/store.js";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { appLogLines, ledgerGrants } from "./helpers/read-backs.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";

/**
 * jit-access as the custom deployment protection rule of production-jit, end to end: the app as
 * a real process, the simulator as GitHub (workflow runs that wait for the rule, signed
 * deployment_protection_rule deliveries, the review endpoint), every request checked against
 * GitHub's REST description. DEPLOY_KEY is bound to its requester in the catalog; alice holds a
 * live grant of it; mallory can write to the repository too.
 */
const ENV = "production-jit";
const REVIEW = "POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";

let world: World;
let repo: string;
let grant: Grant;
let deliveryOfFirstRun: string;

beforeAll(async () => {
  world = await startWorld();
  repo = await grantedRepo("gate", "30m");
  [grant] = (await ledgerGrants(world, repo)) as [Grant];
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

/** A repository whose production-jit has jit-access as its rule, and a grant of DEPLOY_KEY to alice there; returns its name. */
async function grantedRepo(name: string, duration: string): Promise<string> {
  const { sim } = world;
  const full = createRequestRepo(world, name, { environments: [ENV] });
  sim.enableProtectionRule(full, ENV);
  const pr = await openRequest(world, full, {
    branch: "need-deploy-key",
    files: { [REQUESTS_FILE]: requestsYaml([{ secret: "DEPLOY_KEY", environment: ENV, duration }]) },
  });
  await sim.submitReview(full, pr, { reviewer: "bob", state: "APPROVED" });
  expect(await sim.waitFor(() => sim.secretValue(full, ENV, "DEPLOY_KEY"), { timeoutMs: 15_000, description: "the secret" })).toBe(
    SECRET_VALUES.DEPLOY_KEY,
  );
  const comment = await sim.waitFor(() => sim.comments(full, pr).find((c) => c.body.includes("**Access granted.**")), {
    timeoutMs: 15_000,
    description: "the grant comment",
  });
  expect(comment.body).toContain(
    "**Bound to `@alice`:** only workflow runs that `@alice` starts (and re-runs) pass jit-access's deployment protection rule",
  );
  return full;
}

/** Waits until the run has `count` answers from jit-access; returns the run. */
function answered(name: string, runId: number, count = 1): Promise<WorkflowRunView> {
  const { sim } = world;
  return sim.waitFor(
    () => {
      const run = sim.workflowRun(name, runId);
      return run.reviews.length >= count ? run : null;
    },
    { timeoutMs: 15_000, description: `answer ${count} for run ${runId}` },
  );
}

const reviewCalls = (runId: number) => world.sim.requests.filter((r) => r.route === REVIEW && r.path.includes(`/runs/${runId}/`));

async function gateAudit(): Promise<AuditEvent[]> {
  const store = await openLedger(world.app.databaseUrl, { readonly: true });
  try {
    return (await store.listAudit()).filter((event) => event.action.startsWith("gate_"));
  } finally {
    await store.close();
  }
}

describe("the workflow gate: only the requester's own workflow runs can use a grant", () => {
  let approvedRun: number;
  let rejectedRun: number;

  it("approves the requester's run", async () => {
    const { sim } = world;
    approvedRun = await sim.startWorkflowRun(repo, { actor: "alice", environments: [ENV] });
    deliveryOfFirstRun = sim.lastDelivery!.id;
    const run = await answered(repo, approvedRun);
    expect(run).toMatchObject({
      status: "in_progress",
      pending: [],
      reviews: [expect.objectContaining({ attempt: 1, environment: ENV, appId: sim.appId, state: "approved" })],
    });
    expect(run.reviews[0]!.comment).toMatch(
      /^\*\*Approved by jit-access:\*\* `@alice` started this run and holds a live grant in `production-jit` \(`DEPLOY_KEY`, until .+ UTC/u,
    );
  }, 30_000);

  it("refuses a delivery whose callback URL names another repository, without any call", async () => {
    const { sim } = world;
    const runId = await sim.startWorkflowRun(repo, { actor: "alice", environments: [ENV], deliver: false });
    const payload = sim.deploymentProtectionRulePayload(repo, runId, ENV);
    payload.deployment_callback_url = String(payload.deployment_callback_url).replace(`/repos/${repo}/`, "/repos/acme/api/");
    const before = sim.requests.length;
    const delivery = await sim.deliver("deployment_protection_rule", payload);
    expect(delivery.status).toBe(202);
    // The inbox processes the delivery after the answer: wait for its outcome.
    const refused = await sim.waitFor(
      async () => {
        const found = (await gateAudit()).filter((event) => event.action === "gate_refused");
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 10_000, description: "the refusal in the audit log" },
    );
    expect(sim.requests.slice(before)).toEqual([]);
    expect(sim.workflowRun(repo, runId)).toMatchObject({ status: "waiting", reviews: [] });
    expect(refused).toEqual([
      expect.objectContaining({
        actor: "jit-access",
        owner: "acme",
        repo: "gate",
        environment: ENV,
        details: { why: "the deployment_callback_url names another repository than the delivery's (acme/gate)", delivery: delivery.id },
      }),
    ]);
    sim.completeWorkflowRun(repo, runId, "cancelled");
  }, 30_000);

  it("rejects another user's run", async () => {
    const { sim } = world;
    rejectedRun = await sim.startWorkflowRun(repo, { actor: "mallory", environments: [ENV] });
    const run = await answered(repo, rejectedRun);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", reviews: [expect.objectContaining({ state: "rejected" })] });
    expect(run.reviews[0]!.comment).toBe(
      "**Rejected by jit-access:** no live jit-access grant bound to `@mallory` in `production-jit`, who started this run; a grant here serves only its requester's own runs. " +
        "Request one by adding an entry to jit-requests.yml in a pull request, and run the job again once it is granted.",
    );
  }, 30_000);

  it("rejects the requester's run re-run by another user, and approves it again when the requester re-runs it", async () => {
    const { sim } = world;
    const runId = await sim.startWorkflowRun(repo, { actor: "alice", environments: [ENV] });
    await answered(repo, runId);
    sim.completeWorkflowRun(repo, runId, "success");

    await sim.rerunWorkflowRun(repo, runId, { by: "mallory" });
    const rerun = await answered(repo, runId, 2);
    expect(rerun).toMatchObject({ runAttempt: 2, actor: "alice", triggeringActor: "mallory", status: "completed", conclusion: "failure" });
    expect(rerun.reviews[1]).toMatchObject({ attempt: 2, state: "rejected" });
    expect(rerun.reviews[1]!.comment).toBe(
      "**Rejected by jit-access:** this run was re-run by `@mallory`; only `@alice`'s own runs may use `@alice`'s grant in `production-jit`. `@alice` can re-run it.",
    );

    await sim.rerunWorkflowRun(repo, runId, { by: "alice" });
    const own = await answered(repo, runId, 3);
    expect(own).toMatchObject({
      runAttempt: 3,
      triggeringActor: "alice",
      status: "in_progress",
      reviews: [{}, {}, expect.objectContaining({ attempt: 3, state: "approved" })],
    });
  }, 30_000);

  it("answers a duplicate delivery once", async () => {
    const { sim } = world;
    const again = await sim.redeliver(deliveryOfFirstRun);
    expect(again).toMatchObject({ attempts: 2, status: 202 });
    await sim.waitFor(
      () =>
        appLogLines(world).some(
          (line) => line.msg === "delivery recorded already (a redelivery): dropped" && line.delivery === deliveryOfFirstRun,
        ),
      {
        timeoutMs: 10_000,
        description: "the app to see the delivery was recorded already",
      },
    );
    expect(reviewCalls(approvedRun)).toHaveLength(1);
    expect(sim.workflowRun(repo, approvedRun).reviews).toHaveLength(1);
  }, 30_000);

  it("answers a duplicate delivery under a new delivery id once: the gate finds the job answered before", async () => {
    const { sim } = world;
    // The same ask, signed and sent again as a new delivery: the inbox has not seen this id, so
    // it reaches the gate, which must not answer the job a second time.
    const first = sim.deliveries.find((d) => d.id === deliveryOfFirstRun)!;
    const ask = await sim.deliver("deployment_protection_rule", JSON.parse(first.body) as Record<string, unknown>);
    expect(ask.id).not.toBe(deliveryOfFirstRun);
    expect(ask.status).toBe(202);
    const seen = await sim.waitFor(
      () => appLogLines(world).find((line) => line.msg === "gate: the job was answered before; nothing sent" && line.delivery === ask.id),
      { timeoutMs: 10_000, description: "the gate to see the job was answered before" },
    );
    expect(seen).toMatchObject({ run: approvedRun, attempt: 1, environment: ENV, state: "approved" });
    expect(reviewCalls(approvedRun)).toHaveLength(1);
    expect(sim.workflowRun(repo, approvedRun).reviews).toHaveLength(1);
  }, 30_000);

  it("decides a run that waited while the app was down, once it is back", async () => {
    const { sim } = world;
    let waiting = 0;
    expect(
      await world.restartApp("SIGTERM", {
        whileDown: async () => {
          waiting = await sim.startWorkflowRun(repo, { actor: "alice", environments: [ENV], deliver: false });
        },
      }),
    ).toBe(0);
    expect(sim.deliveries.filter((d) => d.event === "deployment_protection_rule" && d.attempts === 0).length).toBeGreaterThan(0);
    const run = await answered(repo, waiting);
    expect(run).toMatchObject({ status: "in_progress", reviews: [expect.objectContaining({ state: "approved" })] });
    expect(reviewCalls(waiting)).toHaveLength(1);
    expect(sim.requests.some((r) => r.route === "GET /repos/{owner}/{repo}/actions/runs" && r.query.includes("status=waiting"))).toBe(true);
  }, 60_000);

  it("audits every decision: run, attempt, actor, triggering actor, workflow, ref, environment, grant, outcome, reason", async () => {
    const audit = await gateAudit();
    const approved = audit.find((event) => event.action === "gate_approved" && event.details?.runId === approvedRun);
    expect(approved).toMatchObject({
      actor: "jit-access",
      owner: "acme",
      repo: "gate",
      environment: ENV,
      grantId: grant.id,
      secret: "DEPLOY_KEY",
      prNumber: grant.prNumber,
      details: {
        runId: approvedRun,
        runAttempt: 1,
        actor: { login: "alice", id: grant.requester.id },
        triggeringActor: { login: "alice", id: grant.requester.id },
        workflowPath: ".github/workflows/deploy.yml",
        ref: "main",
        grantId: grant.id,
        state: "approved",
        reason: "requester",
        trigger: "deployment_protection_rule.requested",
      },
    });
    const rejected = audit.find((event) => event.action === "gate_rejected" && event.details?.runId === rejectedRun);
    expect(rejected).toMatchObject({
      environment: ENV,
      details: {
        runAttempt: 1,
        actor: { login: "mallory" },
        triggeringActor: { login: "mallory" },
        grantId: null,
        state: "rejected",
        reason: "not-requester",
      },
    });
    expect(rejected).not.toHaveProperty("grantId");
    // One record per decision: the redelivery and the restart added none of their own.
    const decisions = audit
      .filter((event) => event.action !== "gate_refused")
      .map((event) => `${String(event.details?.runId)}#${String(event.details?.runAttempt)}`);
    expect(new Set(decisions).size).toBe(decisions.length);
    expect(audit.some((event) => event.details?.trigger === "catch-up")).toBe(true);
  });

  it("rejects a run where nobody holds a grant", async () => {
    const { sim } = world;
    const empty = createRequestRepo(world, "gate-empty", { environments: [ENV] });
    sim.enableProtectionRule(empty, ENV);
    const runId = await sim.startWorkflowRun(empty, { actor: "alice", environments: [ENV] });
    const run = await answered(empty, runId);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(run.reviews[0]!.comment).toBe(
      "**Rejected by jit-access:** no live jit-access grant for `@alice` in `production-jit`: request one by adding an entry to jit-requests.yml in a pull request, and run the job again once it is granted.",
    );
  }, 30_000);

  it("rejects the requester's run once the grant has expired", async () => {
    const { sim } = world;
    const expiring = await grantedRepo("gate-expiry", "10s");
    await sim.waitFor(() => sim.secretValue(expiring, ENV, "DEPLOY_KEY") === undefined, {
      timeoutMs: 30_000,
      description: "the deletion at expiry",
    });
    await sim.waitFor(async () => (await ledgerGrants(world, expiring))[0]?.state === "expired", {
      timeoutMs: 10_000,
      description: "the grant to end",
    });
    const runId = await sim.startWorkflowRun(expiring, { actor: "alice", environments: [ENV] });
    const run = await answered(expiring, runId);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", reviews: [expect.objectContaining({ state: "rejected" })] });
    expect(run.reviews[0]!.comment).toContain("no live jit-access grant for `@alice` in `production-jit`");
  }, 60_000);

  afterAll(() => {
    expect(world.sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  });
});
