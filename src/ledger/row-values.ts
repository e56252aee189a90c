/**
 * Reading a stored grant or audit record back: the JSON values a row holds (people, approvers,
 * details) are checked for shape, and a malformed one is an error that says what to do, not a
 * value the lifecycle would trust.
 */
import type { Person } from "./store.js";

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

export function parseArray(value: unknown, grantId: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Error(`the ledger row for grant ${grantId} holds malformed approvers; restore the database from a backup`);
}

export function parseRecord(value: unknown, seq: number): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ...value };
  throw new Error(`audit record ${seq} holds malformed details; restore the database from a backup`);
}
