/**
 * The ledger's record of the workflow gate (jit-access as a custom deployment protection rule):
 * one decision per workflow run attempt and environment, and whether GitHub took the answer.
 * Both are append-only: a decision is never changed, and an answer is recorded once. The rules a
 * new record must follow are here, for every store; what a store must do with them is
 * `test/ledger/ledger-contract.ts`.
 */
import type { Person } from "./store.js";

export const GATE_STATES = ["approved", "rejected"] as const;
/** What the gate answers GitHub for one job: the states GitHub's review endpoint takes. */
export type GateState = (typeof GATE_STATES)[number];

/** GitHub takes at most this many characters of a protection rule's comment. */
export const MAX_GATE_COMMENT_LENGTH = 1024;

/**
 * One job's wait for the gate: a workflow run (GitHub's run ids are unique across
 * repositories), its attempt (a re-run is a new attempt, decided afresh) and the environment
 * (compared case-insensitively, as GitHub compares environment names).
 */
export interface GateKey {
  runId: number;
  runAttempt: number;
  environment: string;
}

export interface NewGateDecision extends GateKey {
  installationId: number;
  repositoryId: number;
  owner: string;
  repo: string;
  state: GateState;
  /** Why, as a short code (`requester`, `no-grant`, `rerun-by-other`, …; see `src/gate/decide-gate.ts`). */
  reason: string;
  /** The Markdown comment sent with the answer, at most `MAX_GATE_COMMENT_LENGTH` characters. */
  comment: string;
  /** The grant that let the job through; null when rejected. */
  grantId: string | null;
  /** Who started the run; null when GitHub did not say (the job is then rejected). */
  actor: Person | null;
  /** Who started this attempt (the actor, or whoever re-ran it); null when GitHub did not say. */
  triggeringActor: Person | null;
  /** The workflow file, e.g. `.github/workflows/deploy.yml`. */
  workflowPath: string;
  /** The branch or tag the run is for; null when GitHub gives none. */
  ref: string | null;
  headSha: string;
  /** The event that started the run: `push`, `workflow_dispatch`, … */
  event: string;
  /** When this attempt started (GitHub's `run_started_at`). */
  runStartedAt: Date;
  decidedAt: Date;
}

/** GitHub's answer to the gate's review: taken, or refused because the job no longer waited for it. */
export interface GateAnswer {
  outcome: "accepted" | "refused";
  answeredAt: Date;
}

export interface GateDecision extends NewGateDecision {
  /** Null until the answer was sent and GitHub replied. */
  answer: GateAnswer | null;
}

/** Refuses a decision a store must not write, naming the field. */
export function checkNewGateDecision(decision: NewGateDecision): void {
  checkGateKey(decision);
  for (const field of ["installationId", "repositoryId"] as const) positive(decision[field], field);
  if (!(GATE_STATES as readonly string[]).includes(decision.state)) {
    throw new Error(`ledger: a gate decision's state is approved or rejected; got ${JSON.stringify(decision.state)}`);
  }
  if (decision.state === "approved" && decision.grantId === null) {
    throw new Error("ledger: an approved gate decision names the grant that let the job through");
  }
  if (decision.reason.trim() === "") throw new Error("ledger: a gate decision says why (reason)");
  const length = [...decision.comment].length;
  if (length > MAX_GATE_COMMENT_LENGTH) {
    throw new Error(`ledger: a gate decision's comment is at most ${MAX_GATE_COMMENT_LENGTH} characters (GitHub's limit); got ${length}`);
  }
  for (const field of ["actor", "triggeringActor"] as const) {
    const person = decision[field];
    if (person === null) {
      if (decision.state === "approved") throw new Error(`ledger: an approved gate decision names its ${field}`);
      continue;
    }
    positive(person.id, `${field}.id`);
    if (person.login === "") throw new Error(`ledger: ${field}.login is empty`);
  }
  validTime(decision.runStartedAt, "runStartedAt");
  validTime(decision.decidedAt, "decidedAt");
}

/** Whether a decision could be recorded under `key` (a lookup by any other key finds none). */
export function isGateKey(key: GateKey): boolean {
  return [key.runId, key.runAttempt].every((n) => Number.isSafeInteger(n) && n > 0) && key.environment !== "";
}

export function checkGateKey(key: GateKey): void {
  positive(key.runId, "runId");
  positive(key.runAttempt, "runAttempt");
  if (key.environment === "") throw new Error("ledger: a gate decision's environment is empty");
}

export function checkGateAnswer(answer: GateAnswer): void {
  if (answer.outcome !== "accepted" && answer.outcome !== "refused") {
    throw new Error(`ledger: a gate answer's outcome is accepted or refused; got ${JSON.stringify(answer.outcome)}`);
  }
  validTime(answer.answeredAt, "answeredAt");
}

/** `run 123 attempt 2 in production`, for messages. */
export function describeGateKey(key: GateKey): string {
  return `run ${key.runId} attempt ${key.runAttempt} in environment ${JSON.stringify(key.environment)}`;
}

function positive(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`ledger: ${field} must be a positive whole number; got ${String(value)}`);
}

function validTime(date: Date, field: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new Error(`ledger: ${field} is not a valid date`);
}
