/**
 * Reading a stored grant or audit record back: the JSON values a row holds (people, approvers,
 * details) are checked for shape, and a malformed one is an error that says what to do, not a
 * value the lifecycle would trust.
 */
import type { ApproverPermission, Person, WritePermission } from "./store.js";

/** Only the fields a Person has, so nothing else from a caller's object is stored. */
export function person(value: Person): Person {
  return { id: value.id, login: value.login };
}

export function parsePerson(value: unknown, grantId: string): Person {
  if (
    typeof value === "object" &&
    value !== null &&
    "id" in value &&
    typeof value.id === "number" &&
    "login" in value &&
    typeof value.login === "string"
  ) {
    return { id: value.id, login: value.login };
  }
  throw new Error(`the ledger row for grant ${grantId} holds a malformed person; restore the database from a backup`);
}

const WRITE_PERMISSIONS: ReadonlySet<string> = new Set<WritePermission>(["admin", "maintain", "write"]);

export function isWritePermission(value: unknown): value is WritePermission {
  return typeof value === "string" && WRITE_PERMISSIONS.has(value);
}

/** Only the fields an ApproverPermission has. */
export function approverPermission(value: ApproverPermission): ApproverPermission {
  return { id: value.id, login: value.login, permission: value.permission, via: value.via };
}

/** The stored approvers' permissions: null (not recorded) or one entry per approver. */
export function parseApproverPermissions(value: unknown, grantId: string): ApproverPermission[] | null {
  if (value === null || value === undefined) return null;
  return parseArray(value, grantId).map((entry) => {
    const who = parsePerson(entry, grantId);
    const { permission, via } = entry as { permission?: unknown; via?: unknown };
    if (isWritePermission(permission) && typeof via === "string") return { ...who, permission, via };
    throw new Error(`the ledger row for grant ${grantId} holds a malformed approver permission; restore the database from a backup`);
  });
}

export function parseArray(value: unknown, grantId: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Error(`the ledger row for grant ${grantId} holds malformed approvers; restore the database from a backup`);
}

export function parseRecord(value: unknown, seq: number): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ...value };
  throw new Error(`audit record ${seq} holds malformed details; restore the database from a backup`);
}
