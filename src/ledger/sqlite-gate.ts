/**
 * The workflow gate's tables in the SQLite ledger (`gate_decisions`, `gate_answers`; migration
 * "the workflow gate's decisions"), for `SqliteStore`, which runs these inside its own error
 * handling and transactions. Both tables are append-only (triggers refuse UPDATE and DELETE):
 * a second decision or answer for the same key is not written (ON CONFLICT DO NOTHING), and the
 * first is read back.
 */
import type Database from "better-sqlite3";
import { checkGateAnswer, checkGateKey, checkNewGateDecision, describeGateKey, type GateDecision, type GateKey, type GateAnswer, type NewGateDecision } from "./gate-decisions.js";
import type { Person } from "./store.js";

type Params = Record<string, string | number | null>;

interface GateRow {
  run_id: number;
  run_attempt: number;
  environment: string;
  installation_id: number;
  repository_id: number;
  owner: string;
  repo: string;
  state: GateDecision["state"];
  reason: string;
  comment: string;
  grant_id: string | null;
  actor: string | null;
  triggering_actor: string | null;
  workflow_path: string;
  ref: string | null;
  head_sha: string;
  event: string;
  run_started_at: number;
  decided_at: number;
  outcome: GateAnswer["outcome"] | null;
  answered_at: number | null;
}

export class SqliteGateDecisions {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insertDecision: db.prepare<Params>(
        `INSERT INTO gate_decisions (run_id, run_attempt, environment, installation_id, repository_id, owner, repo, state, reason,
           comment, grant_id, actor, triggering_actor, workflow_path, ref, head_sha, event, run_started_at, decided_at)
         VALUES (@runId, @runAttempt, @environment, @installationId, @repositoryId, @owner, @repo, @state, @reason,
           @comment, @grantId, @actor, @triggeringActor, @workflowPath, @ref, @headSha, @event, @runStartedAt, @decidedAt)
         ON CONFLICT (run_id, run_attempt, environment) DO NOTHING`,
      ),
      insertAnswer: db.prepare<Params>(
        `INSERT INTO gate_answers (run_id, run_attempt, environment, outcome, answered_at)
         VALUES (@runId, @runAttempt, @environment, @outcome, @answeredAt)
         ON CONFLICT (run_id, run_attempt, environment) DO NOTHING`,
      ),
      byKey: db.prepare<Params, GateRow>(
        `SELECT d.*, a.outcome, a.answered_at FROM gate_decisions d
         LEFT JOIN gate_answers a ON a.run_id = d.run_id AND a.run_attempt = d.run_attempt AND a.environment = d.environment
         WHERE d.run_id = @runId AND d.run_attempt = @runAttempt AND d.environment = @environment`,
      ),
    };
  }

  /** Inserts the decision unless its key is taken; runs inside the caller's transaction. */
  insert(decision: NewGateDecision): { decision: GateDecision; created: boolean } {
    checkNewGateDecision(decision);
    const { changes } = this.statements.insertDecision.run({
      runId: decision.runId,
      runAttempt: decision.runAttempt,
      environment: decision.environment,
      installationId: decision.installationId,
      repositoryId: decision.repositoryId,
      owner: decision.owner,
      repo: decision.repo,
      state: decision.state,
      reason: decision.reason,
      comment: decision.comment,
      grantId: decision.grantId,
      actor: decision.actor === null ? null : JSON.stringify(person(decision.actor)),
      triggeringActor: decision.triggeringActor === null ? null : JSON.stringify(person(decision.triggeringActor)),
      workflowPath: decision.workflowPath,
      ref: decision.ref,
      headSha: decision.headSha,
      event: decision.event,
      runStartedAt: decision.runStartedAt.getTime(),
      decidedAt: decision.decidedAt.getTime(),
    });
    const stored = this.get(decision);
    if (stored === null) throw new Error(`the gate decision for ${describeGateKey(decision)} was not found right after it was written`);
    return { decision: stored, created: changes === 1 };
  }

  /** Inserts the answer unless one is recorded; runs inside the caller's transaction. */
  answer(key: GateKey, answer: GateAnswer): GateDecision {
    checkGateKey(key);
    checkGateAnswer(answer);
    if (this.get(key) === null) throw new Error(`no gate decision is recorded for ${describeGateKey(key)}; record the decision before its answer`);
    this.statements.insertAnswer.run({
      runId: key.runId,
      runAttempt: key.runAttempt,
      environment: key.environment,
      outcome: answer.outcome,
      answeredAt: answer.answeredAt.getTime(),
    });
    return this.get(key)!;
  }

  get(key: GateKey): GateDecision | null {
    const row = this.statements.byKey.get({ runId: key.runId, runAttempt: key.runAttempt, environment: key.environment });
    return row === undefined ? null : toGateDecision(row);
  }
}

function toGateDecision(row: GateRow): GateDecision {
  const key = `gate decision for run ${row.run_id} attempt ${row.run_attempt}`;
  return {
    runId: row.run_id,
    runAttempt: row.run_attempt,
    environment: row.environment,
    installationId: row.installation_id,
    repositoryId: row.repository_id,
    owner: row.owner,
    repo: row.repo,
    state: row.state,
    reason: row.reason,
    comment: row.comment,
    grantId: row.grant_id,
    actor: row.actor === null ? null : parsePerson(JSON.parse(row.actor), key),
    triggeringActor: row.triggering_actor === null ? null : parsePerson(JSON.parse(row.triggering_actor), key),
    workflowPath: row.workflow_path,
    ref: row.ref,
    headSha: row.head_sha,
    event: row.event,
    runStartedAt: new Date(row.run_started_at),
    decidedAt: new Date(row.decided_at),
    answer: row.outcome === null || row.answered_at === null ? null : { outcome: row.outcome, answeredAt: new Date(row.answered_at) },
  };
}

/** Only the fields a Person has, so nothing else from a caller's object is stored. */
function person(value: Person): Person {
  return { id: value.id, login: value.login };
}

function parsePerson(value: unknown, where: string): Person {
  if (typeof value === "object" && value !== null && "id" in value && typeof value.id === "number" && "login" in value && typeof value.login === "string") {
    return { id: value.id, login: value.login };
  }
  throw new Error(`the ledger's ${where} holds a malformed person; restore the database from a backup`);
}
