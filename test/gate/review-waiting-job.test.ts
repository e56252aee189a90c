import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { GitHubSimulator } from "../../sim/index.js";
import { catchUpWaitingJobs, type CatchUpDeps } from "../../src/gate/catch-up.js";
import { reviewWaitingJob, type GateDeps, type WaitingJob } from "../../src/gate/review-waiting-job.js";
import type { AppOctokit } from "../../src/github/repo-client.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerStorageError, type Grant, type LedgerStore } from "../../src/ledger/store.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { systemClock } from "../../src/util/clock.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";
import { recordingLog } from "../helpers/recording-log.js";
import { appOctokit, installationOctokit, startCheckedSimulator } from "../sim/helpers.js";

/**
 * The gate's use case against the simulator (every request and response checked against
 * GitHub's REST description) and a real ledger: one answer per job however often it is asked,
 * write-ahead order, and the catch-up that finds waiting runs after a restart.
 */
const REPO = "acme/api";
const ENV = "production-jit";
const INSTALLATION = 42;
const REVIEW = "POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";
const catalog = parseCatalog(
  `secrets:
  DEPLOY_KEY:
    source: env:DEPLOY_KEY
    repositories: ["acme/api"]
    environments: [production-jit]
    max_duration: 4h
    bind_to_requester: true
`,
  "catalog.yml",
);

let sim: GitHubSimulator;
let octokit: AppOctokit;
let store: LedgerStore;
let deps: GateDeps;
let alice: { id: number; login: string };
let repositoryId: number;

beforeAll(async () => {
  sim = await startCheckedSimulator();
  alice = sim.addUser("alice");
  sim.addUser("mallory");
  repositoryId = sim.createRepo(REPO, {
    installationId: INSTALLATION,
    environments: [ENV, "other-gate", "plain"],
    collaborators: { alice: "write", mallory: "write" },
  }).id;
  sim.enableProtectionRule(REPO, ENV);
  sim.enableProtectionRule(REPO, "other-gate", { id: 99, slug: "other-gate" });
  octokit = installationOctokit(sim, INSTALLATION) as unknown as AppOctokit;
});
afterAll(async () => {
  expect(sim.violations).toEqual([]);
  await sim.close();
});
beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  deps = { store, catalog, clock: systemClock, locks: new KeyedMutex() };
});
afterEach(() => store.close());

/** A live grant of DEPLOY_KEY for alice in the gated environment, written a minute ago. */
async function aliceGrant(): Promise<Grant> {
  const now = Date.now();
  const { grant } = await store.beginGrant({
    installationId: INSTALLATION,
    repositoryId,
    owner: "acme",
    repo: "api",
    environment: ENV,
    secret: "DEPLOY_KEY",
    requester: alice,
    prNumber: 7,
    headSha: "a".repeat(40),
    approvers: [{ id: 9, login: "bob" }],
    reason: "INC-1: ship the fix",
    durationMs: 3_600_000,
    requestKey: `key-${now}-${Math.random()}`,
    createdAt: new Date(now - 120_000),
    expiresAt: new Date(now + 3_600_000),
  });
  return store.markActive(grant.id, new Date(now - 60_000));
}

function job(runId: number, environment = ENV): WaitingJob {
  return {
    installationId: INSTALLATION,
    repository: { id: repositoryId, owner: "acme", name: "api", defaultBranch: "main" },
    environment,
    runId,
    trigger: "test",
  };
}

const reviewsOf = (runId: number) => sim.workflowRun(REPO, runId).reviews;
const reviewCalls = (runId: number) => sim.requests.filter((r) => r.route === REVIEW && r.path.includes(`/runs/${runId}/`));

describe("reviewWaitingJob", () => {
  it("approves the requester's run, records decision, audit and GitHub's reply, and answers a second ask with nothing", async () => {
    const grant = await aliceGrant();
    const runId = await sim.startWorkflowRun(REPO, { actor: "alice", environments: [ENV], deliver: false });
    const first = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(first).toMatchObject({
      kind: "answered",
      outcome: "accepted",
      decision: { state: "approved", reason: "requester", grantId: grant.id },
    });
    expect(sim.workflowRun(REPO, runId)).toMatchObject({
      status: "in_progress",
      reviews: [expect.objectContaining({ state: "approved", environment: ENV })],
    });
    expect(reviewsOf(runId)[0]?.comment).toContain("**Approved by jit-access:** `@alice` started this run");

    const again = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(again.kind).toBe("already-answered");
    expect(reviewCalls(runId)).toHaveLength(1);

    const [audit] = await store.listAudit();
    expect(audit).toMatchObject({
      action: "gate_approved",
      actor: "jit-access",
      owner: "acme",
      repo: "api",
      environment: ENV,
      grantId: grant.id,
      secret: "DEPLOY_KEY",
      prNumber: 7,
      details: {
        runId,
        runAttempt: 1,
        actor: { id: alice.id, login: "alice" },
        triggeringActor: { id: alice.id, login: "alice" },
        workflowPath: ".github/workflows/deploy.yml",
        ref: "main",
        grantId: grant.id,
        state: "approved",
        reason: "requester",
        trigger: "test",
      },
    });
    expect(await store.listAudit()).toHaveLength(1);
  });

  it("an answer GitHub took but whose reply was lost is sent again as recorded; GitHub refuses it and the job has one answer", async () => {
    await aliceGrant();
    const runId = await sim.startWorkflowRun(REPO, { actor: "alice", environments: [ENV], deliver: false });
    sim.faults.add({ method: "POST", path: /\/deployment_protection_rule$/u, status: 502, afterEffect: true, times: 1 });
    await expect(reviewWaitingJob(deps, octokit, job(runId), recordingLog().log)).rejects.toMatchObject({ status: 502 });
    const recorded = await store.getGateDecision({ runId, runAttempt: 1, environment: ENV });
    expect(recorded).toMatchObject({ state: "approved", answer: null });

    const retried = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(retried).toMatchObject({
      kind: "answered",
      outcome: "refused",
      decision: { state: "approved", answer: { outcome: "refused" } },
    });
    expect(reviewsOf(runId)).toHaveLength(1);
    expect(await store.listAudit()).toHaveLength(1);
  });

  it("an answer that never reached GitHub is sent again, the same answer, even when the facts changed meanwhile", async () => {
    const grant = await aliceGrant();
    const runId = await sim.startWorkflowRun(REPO, { actor: "alice", environments: [ENV], deliver: false });
    sim.faults.add({ method: "POST", path: /\/deployment_protection_rule$/u, status: 502, times: 1 });
    await expect(reviewWaitingJob(deps, octokit, job(runId), recordingLog().log)).rejects.toMatchObject({ status: 502 });
    expect(reviewsOf(runId)).toEqual([]);
    await store.markEnded(grant.id, "revoked", "operator", new Date());

    const retried = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(retried).toMatchObject({ kind: "answered", outcome: "accepted", decision: { state: "approved" } });
    expect(reviewsOf(runId)).toEqual([expect.objectContaining({ state: "approved" })]);
  });

  it("sends nothing when the ledger cannot record the decision", async () => {
    await aliceGrant();
    const runId = await sim.startWorkflowRun(REPO, { actor: "alice", environments: [ENV], deliver: false });
    const failing: GateDeps = {
      ...deps,
      store: Object.assign(Object.create(store) as LedgerStore, {
        recordGateDecision: () => Promise.reject(new LedgerStorageError("the ledger could not record the gate decision: disk full")),
      }),
    };
    await expect(reviewWaitingJob(failing, octokit, job(runId), recordingLog().log)).rejects.toThrow("disk full");
    expect(reviewCalls(runId)).toEqual([]);
    expect(sim.workflowRun(REPO, runId).status).toBe("waiting");
    sim.completeWorkflowRun(REPO, runId, "cancelled");
  });

  it("rejects a run of someone without a grant, and decides a re-run as a new attempt", async () => {
    await aliceGrant();
    const runId = await sim.startWorkflowRun(REPO, { actor: "mallory", environments: [ENV], deliver: false });
    const rejected = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(rejected.decision).toMatchObject({ state: "rejected", reason: "not-requester", grantId: null });
    expect(sim.workflowRun(REPO, runId)).toMatchObject({ status: "completed", conclusion: "failure" });

    await sim.rerunWorkflowRun(REPO, runId, { by: "alice", deliver: false });
    const rerun = await reviewWaitingJob(deps, octokit, job(runId), recordingLog().log);
    expect(rerun.decision).toMatchObject({
      runAttempt: 2,
      state: "rejected",
      reason: "not-requester",
      triggeringActor: { login: "alice" },
    });
    expect((await store.listAudit()).map((a) => [a.action, a.details?.runAttempt])).toEqual([
      ["gate_rejected", 1],
      ["gate_rejected", 2],
    ]);
  });
});

describe("catchUpWaitingJobs", () => {
  it("answers every waiting job in an environment where this app is a rule, once, and leaves other apps' environments alone", async () => {
    await aliceGrant();
    const mine = await sim.startWorkflowRun(REPO, { actor: "alice", environments: [ENV], deliver: false });
    const theirs = await sim.startWorkflowRun(REPO, { actor: "alice", environments: ["other-gate"], deliver: false });
    const stranger = await sim.startWorkflowRun(REPO, { actor: "mallory", environments: [ENV], deliver: false });
    const catchUp: CatchUpDeps = {
      ...deps,
      appId: sim.appId,
      appOctokit: async () => appOctokit(sim) as unknown as AppOctokit,
      octokitFor: async (id) => installationOctokit(sim, id) as unknown as AppOctokit,
    };
    const report = await catchUpWaitingJobs(catchUp, recordingLog().log);
    expect(report).toMatchObject({ installations: 1, repositories: 1, answered: 2, failures: [], incomplete: [] });
    expect(report.waitingRuns).toBeGreaterThanOrEqual(3);
    expect(sim.workflowRun(REPO, mine)).toMatchObject({ status: "in_progress" });
    expect(sim.workflowRun(REPO, stranger)).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(sim.workflowRun(REPO, theirs)).toMatchObject({ status: "waiting", reviews: [] });

    const second = await catchUpWaitingJobs(catchUp, recordingLog().log);
    expect(second.answered).toBe(0);
    expect(reviewCalls(mine)).toHaveLength(1);
    expect(reviewCalls(stranger)).toHaveLength(1);
  });

  it("reads at most the pages it is given and says the repository was not read to the end", async () => {
    const catchUp: CatchUpDeps = {
      ...deps,
      appId: sim.appId,
      appOctokit: async () => appOctokit(sim) as unknown as AppOctokit,
      octokitFor: async (id) => installationOctokit(sim, id) as unknown as AppOctokit,
    };
    for (let i = 0; i < 101; i++) await sim.startWorkflowRun(REPO, { actor: "mallory", environments: ["other-gate"], deliver: false });
    const before = sim.requests.filter((r) => r.route === "GET /repos/{owner}/{repo}/actions/runs").length;
    const report = await catchUpWaitingJobs(catchUp, recordingLog().log, { maxPages: 1 });
    expect(report.incomplete).toEqual([REPO]);
    expect(report.waitingRuns).toBe(100);
    expect(sim.requests.filter((r) => r.route === "GET /repos/{owner}/{repo}/actions/runs").length - before).toBe(1);
  });
});
