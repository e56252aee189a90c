/**
 * The workflow gate's answer for one job that waits in an environment where jit-access is the
 * custom deployment protection rule: read the run, gather, decide (pure), then apply in
 * write-ahead order — the decision and its audit record in the ledger first, then the answer to
 * GitHub, then GitHub's reply in the ledger.
 *
 * Idempotent per run, attempt and environment: a decision already answered is not answered
 * again (a redelivery, the catch-up after a restart, both at once); one recorded but not
 * answered (the answer was lost) is sent again as recorded, so a job gets one answer however
 * often it is asked about. A ledger that cannot record the decision sends nothing: the job keeps
 * waiting for the next delivery or catch-up.
 */
import { GateClient, type WorkflowRunInfo } from "../github/gate-client.js";
import { RepoClient, type AppOctokit } from "../github/repo-client.js";
import type { AuditInput, GateDecision, GateKey, NewGateDecision } from "../ledger/store.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { asciiLower } from "../util/ascii-case.js";
import { decideGate } from "./decide-gate.js";
import { gatherGate, type GateRepository } from "./gather-gate.js";

export type GateDeps = Pick<LifecycleDeps, "store" | "catalog" | "clock" | "locks">;

export interface WaitingJob {
  installationId: number;
  repository: GateRepository;
  environment: string;
  runId: number;
  /** What asked: `deployment_protection_rule.requested` or `catch-up`, for the audit. */
  trigger: string;
  /** The webhook delivery, when one asked. */
  deliveryId?: string;
}

export type JobOutcome =
  /** Decided now (or earlier without an answer) and answered: GitHub took it or refused it. */
  | { kind: "answered"; decision: GateDecision; outcome: "accepted" | "refused" }
  /** Answered before: nothing sent. */
  | { kind: "already-answered"; decision: GateDecision };

/** The audit actor of the gate's records. */
export const GATE_ACTOR = "jit-access";

export async function reviewWaitingJob(
  deps: GateDeps,
  octokit: AppOctokit,
  job: WaitingJob,
  log: Log,
  known: { run?: WorkflowRunInfo } = {},
): Promise<JobOutcome> {
  const { repository, environment } = job;
  const gate = new GateClient(octokit, repository.owner, repository.name);
  const run = known.run ?? (await gate.workflowRun(job.runId));
  const key: GateKey = { runId: run.id, runAttempt: run.attempt, environment };
  return deps.locks.run(`gate\u0000${run.id}\u0000${run.attempt}\u0000${asciiLower(environment)}`, async (): Promise<JobOutcome> => {
    let decision = await deps.store.getGateDecision(key);
    if (decision?.answer) {
      log.info(
        { run: run.id, attempt: run.attempt, environment, state: decision.state },
        "gate: the job was answered before; nothing sent",
      );
      return { kind: "already-answered", decision };
    }
    if (decision === null) {
      const facts = await gatherGate(
        { store: deps.store, client: new RepoClient(octokit, repository.owner, repository.name), catalog: deps.catalog },
        repository,
        environment,
        run,
      );
      const now = deps.clock.now();
      const verdict = decideGate(facts, { catalog: deps.catalog, now });
      const planned: NewGateDecision = {
        ...key,
        installationId: job.installationId,
        repositoryId: repository.id,
        owner: repository.owner,
        repo: repository.name,
        state: verdict.state,
        reason: verdict.reason,
        comment: verdict.comment,
        grantId: verdict.grant?.id ?? null,
        actor: run.actor,
        triggeringActor: run.triggeringActor,
        workflowPath: run.path,
        ref: run.headBranch,
        headSha: run.headSha,
        event: run.event,
        runStartedAt: run.startedAt,
        decidedAt: new Date(now),
      };
      // Someone else may have recorded it meanwhile (another replica): theirs is the decision.
      decision = (await deps.store.recordGateDecision(planned, gateAudit(planned, verdict.grant?.prNumber, verdict.grant?.secret, job)))
        .decision;
    }
    const outcome = await gate.review(run.id, environment, decision.state, decision.comment);
    const answered = await deps.store.recordGateAnswer(key, { outcome, answeredAt: new Date(deps.clock.now()) });
    const fields = {
      run: run.id,
      attempt: run.attempt,
      environment,
      state: answered.state,
      reason: answered.reason,
      grant: answered.grantId,
      outcome,
    };
    if (outcome === "refused") log.warn(fields, "gate: GitHub refused the answer; the job no longer waits for this rule");
    else log.info(fields, `gate: job ${answered.state}`);
    return { kind: "answered", decision: answered, outcome };
  });
}

/** The audit record of a decision: every fact it was made on, and what it was. */
function gateAudit(decision: NewGateDecision, prNumber: number | undefined, secret: string | undefined, job: WaitingJob): AuditInput {
  const person = (who: NewGateDecision["actor"]) => (who === null ? null : { id: who.id, login: who.login });
  return {
    at: decision.decidedAt,
    action: decision.state === "approved" ? "gate_approved" : "gate_rejected",
    actor: GATE_ACTOR,
    owner: decision.owner,
    repo: decision.repo,
    environment: decision.environment,
    ...(prNumber === undefined ? {} : { prNumber }),
    ...(decision.grantId === null ? {} : { grantId: decision.grantId }),
    ...(secret === undefined ? {} : { secret }),
    details: {
      runId: decision.runId,
      runAttempt: decision.runAttempt,
      actor: person(decision.actor),
      triggeringActor: person(decision.triggeringActor),
      workflowPath: decision.workflowPath,
      ref: decision.ref,
      headSha: decision.headSha,
      event: decision.event,
      runStartedAt: decision.runStartedAt.toISOString(),
      grantId: decision.grantId,
      state: decision.state,
      reason: decision.reason,
      trigger: job.trigger,
      ...(job.deliveryId === undefined ? {} : { delivery: job.deliveryId }),
    },
  };
}
