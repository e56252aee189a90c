/**
 * A gate decision row read back, the same for both stores: `gate_decisions` joined with its
 * `gate_answers` row, if any. People are checked for shape; a malformed one is an error that
 * says what to do.
 */
import type { GateAnswer, GateDecision } from "./gate-decisions.js";
import type { Person } from "./store.js";

/** 64-bit integer columns: numbers from SQLite, decimal text from node-postgres (safe integers either way). */
type Int = string | number;

export interface GateRow {
  run_id: Int;
  run_attempt: Int;
  environment: string;
  installation_id: Int;
  repository_id: Int;
  owner: string;
  repo: string;
  state: GateDecision["state"];
  reason: string;
  comment: string;
  grant_id: string | null;
  /** Parsed JSON ({id, login}) or null. */
  actor: unknown;
  triggering_actor: unknown;
  workflow_path: string;
  ref: string | null;
  head_sha: string;
  event: string;
  run_started_at: Int;
  decided_at: Int;
  outcome: GateAnswer["outcome"] | null;
  answered_at: Int | null;
}

export function toGateDecision(row: GateRow): GateDecision {
  const where = `the gate decision for run ${String(row.run_id)} attempt ${String(row.run_attempt)}`;
  return {
    runId: Number(row.run_id),
    runAttempt: Number(row.run_attempt),
    environment: row.environment,
    installationId: Number(row.installation_id),
    repositoryId: Number(row.repository_id),
    owner: row.owner,
    repo: row.repo,
    state: row.state,
    reason: row.reason,
    comment: row.comment,
    grantId: row.grant_id,
    actor: personOrNull(row.actor, where),
    triggeringActor: personOrNull(row.triggering_actor, where),
    workflowPath: row.workflow_path,
    ref: row.ref,
    headSha: row.head_sha,
    event: row.event,
    runStartedAt: new Date(Number(row.run_started_at)),
    decidedAt: new Date(Number(row.decided_at)),
    answer:
      row.outcome === null || row.answered_at === null ? null : { outcome: row.outcome, answeredAt: new Date(Number(row.answered_at)) },
  };
}

/** A person as stored: only id and login, as JSON text; null stays null. */
export function personJson(value: Person | null): string | null {
  return value === null ? null : JSON.stringify({ id: value.id, login: value.login });
}

function personOrNull(value: unknown, where: string): Person | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "object" && "id" in value && typeof value.id === "number" && "login" in value && typeof value.login === "string") {
    return { id: value.id, login: value.login };
  }
  throw new Error(`${where} holds a malformed person; restore the database from a backup`);
}
