import type { GrantChange, SecretWrite } from "./grant-states.js";
import type { AuditInput, Grant, PendingEnd } from "./store.js";

/**
 * The ledger's state changes of a grant, as `LedgerStore` names them. Each is one `GrantChange`
 * (grant-states.ts holds what it may change and from which states); a store applies it, with its
 * audit record, in one transaction of its own dialect.
 */
export abstract class GrantTransitions {
  protected abstract change(id: string, change: GrantChange, audit: AuditInput | undefined): Grant | Promise<Grant>;

  async markActive(id: string, at: Date, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "markActive", at }, audit);
  }

  async markWriting(id: string, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "markWriting" }, audit);
  }

  async recordWriteMark(id: string, updatedAt: Date, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "recordWriteMark", updatedAt }, audit);
  }

  async markFailed(id: string, reason: string, at: Date, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "markFailed", reason, at }, audit);
  }

  async markEnded(id: string, state: "expired" | "revoked", reason: string, at: Date, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "markEnded", state, reason, at }, audit);
  }

  async recordRevokeFailure(id: string, error: string, nextAttemptAt: Date, pendingEnd?: PendingEnd, audit?: AuditInput): Promise<Grant> {
    return this.change(id, { kind: "recordRevokeFailure", error, nextAttemptAt, pendingEnd }, audit);
  }

  async deferGrant(
    id: string,
    error: string,
    nextAttemptAt: Date,
    audit?: AuditInput,
    options: { writeUncertainAt?: Date; secretWrite?: Exclude<SecretWrite, "written"> } = {},
  ): Promise<Grant> {
    return this.change(
      id,
      { kind: "deferGrant", error, nextAttemptAt, writeUncertainAt: options.writeUncertainAt, secretWrite: options.secretWrite },
      audit,
    );
  }
}
