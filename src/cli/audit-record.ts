/**
 * An audit record as `jit-access audit` exports it and as an archive file keeps it: every field,
 * in a fixed order, `null` where the record has none, the time as ISO 8601. `auditEvent` reads
 * one back, so that an archive's chain can be checked from the file alone. Pure.
 */
import type { AuditAction, AuditEvent } from "../ledger/store.js";

/** The exported fields, in order: the JSON keys and the CSV header. */
export const AUDIT_FIELDS = [
  "seq",
  "at",
  "action",
  "actor",
  "owner",
  "repo",
  "prNumber",
  "grantId",
  "environment",
  "secret",
  "details",
  "prevHash",
  "hash",
] as const;

export type AuditRecord = Record<(typeof AUDIT_FIELDS)[number], string | number | Record<string, unknown> | null>;

/** Every field present, in a fixed order; null where the record has none. */
export function auditRecord(event: AuditEvent): AuditRecord {
  return {
    seq: event.seq,
    at: event.at.toISOString(),
    action: event.action,
    actor: event.actor,
    owner: event.owner,
    repo: event.repo,
    prNumber: event.prNumber ?? null,
    grantId: event.grantId ?? null,
    environment: event.environment ?? null,
    secret: event.secret ?? null,
    details: event.details ?? null,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The audit event an exported record holds, or what is wrong with it. Only the form is checked
 * here; whether the record is the one that was written is the hash chain's to say.
 */
export function auditEvent(value: unknown): AuditEvent | { problem: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { problem: "it is not a JSON object" };
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).find((key) => !(AUDIT_FIELDS as readonly string[]).includes(key));
  if (extra !== undefined) return { problem: `it has a field "${extra}" that audit records do not have` };
  const { seq, at, action, actor, owner, repo, prNumber, grantId, environment, secret, details, prevHash, hash } = record;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return { problem: "its seq is not a positive whole number" };
  if (typeof at !== "string" || !ISO_UTC.test(at) || Number.isNaN(Date.parse(at))) return { problem: "its at is not an ISO 8601 UTC time" };
  for (const [name, field] of Object.entries({ action, actor, owner, repo, prevHash, hash })) {
    if (typeof field !== "string") return { problem: `its ${name} is not a string` };
  }
  for (const [name, field] of Object.entries({ grantId, environment, secret })) {
    if (field !== null && typeof field !== "string") return { problem: `its ${name} is neither a string nor null` };
  }
  if (prNumber !== null && typeof prNumber !== "number") return { problem: "its prNumber is neither a number nor null" };
  if (details !== null && (typeof details !== "object" || Array.isArray(details)))
    return { problem: "its details are neither an object nor null" };
  const event: AuditEvent = {
    seq,
    at: new Date(at),
    action: action as AuditAction,
    actor: actor as string,
    owner: owner as string,
    repo: repo as string,
    prevHash: prevHash as string,
    hash: hash as string,
  };
  // Every field is present (a missing one is not null, and was refused above).
  if (typeof prNumber === "number") event.prNumber = prNumber;
  if (typeof grantId === "string") event.grantId = grantId;
  if (typeof environment === "string") event.environment = environment;
  if (typeof secret === "string") event.secret = secret;
  if (details !== null) event.details = details as Record<string, unknown>;
  return event;
}
