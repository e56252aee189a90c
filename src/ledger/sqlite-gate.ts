/**
 * The workflow gate's tables in the SQLite ledger (`gate_decisions`, `gate_answers`; migration
 * "the workflow gate's decisions"), for `SqliteStore`, which runs these inside its own error
 * handling and transactions. Both tables are append-only (triggers refuse UPDATE and DELETE):
 * a second decision or answer for the same key is not written (ON CONFLICT DO NOTHING), and the
 * first is read back.
 */
import type Database from "better-sqlite3";
import {
  checkGateAnswer,
  checkGateKey,
  checkNewGateDecision,
  describeGateKey,
  isGateKey,
  type GateDecision,
  type GateKey,
  type GateAnswer,
  type NewGateDecision,
} from "./gate-decisions.js";
import { personJson, toGateDecision, type GateRow } from "./gate-rows.js";

type Params = Record<string, string | number | null>;

/** As SQLite returns it: people as JSON text. */
type SqliteGateRow = Omit<GateRow, "actor" | "triggering_actor"> & { actor: string | null; triggering_actor: string | null };

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
      byKey: db.prepare<Params, SqliteGateRow>(
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
      actor: personJson(decision.actor),
      triggeringActor: personJson(decision.triggeringActor),
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
    if (this.get(key) === null)
      throw new Error(`no gate decision is recorded for ${describeGateKey(key)}; record the decision before its answer`);
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
    if (!isGateKey(key)) return null;
    const row = this.statements.byKey.get({ runId: key.runId, runAttempt: key.runAttempt, environment: key.environment });
    if (row === undefined) return null;
    return toGateDecision({ ...row, actor: parseJson(row.actor), triggering_actor: parseJson(row.triggering_actor) });
  }
}

function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}
