/**
 * The audit log as a hash chain: each record stores the hash of the record before it
 * (`prevHash`) and its own `hash`, computed over its content and `prevHash`. A record changed,
 * removed or inserted after the fact breaks the chain at that point; `verifyAuditChain` finds the
 * first break. Every store computes and checks hashes with this module, so a record written by
 * one store verifies in another.
 *
 * ## The canonical encoding (version 1)
 *
 * `hash` is the lower-case hex SHA-256 of the UTF-8 bytes of `canonicalJson` applied to this
 * array, in this order:
 *
 *   ["jit-access/audit/v1", seq, prevHash, at, action, actor, owner, repo,
 *    prNumber, grantId, environment, secret, details]
 *
 * - `seq`: the record's sequence number (1, 2, 3…), as a JSON number.
 * - `prevHash`: the previous record's `hash` (64 lower-case hex digits); for the first record,
 *   `GENESIS_HASH` (64 zeros).
 * - `at`: milliseconds since 1970-01-01T00:00:00Z, a whole JSON number.
 * - `action`, `actor`, `owner`, `repo`: JSON strings.
 * - `prNumber`: a JSON number; `grantId`, `environment`, `secret`: JSON strings; each `null`
 *   when the record has none.
 * - `details`: the record's details after a JSON round trip (`JSON.parse(JSON.stringify(d))`:
 *   `toJSON` applied, so a Date is its ISO string; members whose value is undefined or a
 *   function dropped; non-finite numbers `null`), or `null` when the record has none. New
 *   records store exactly this text; a verifier parses the stored details and encodes them
 *   again, so only their JSON value counts, not their formatting or key order.
 *
 * `canonicalJson(v)` writes JSON with no whitespace at all:
 * - `null`, `true`, `false` as such;
 * - a number as ECMAScript's `JSON.stringify` writes it (shortest round-trip form, `-0` as `0`);
 *   a non-finite number is an error;
 * - a string as `JSON.stringify` writes it: `"` and `\` escaped with a backslash, U+0008,
 *   U+0009, U+000A, U+000C, U+000D as `\b \t \n \f \r`, other code points below U+0020 and
 *   unpaired surrogates as `\u` + four lower-case hex digits, everything else as itself;
 * - an array as `[` elements joined by `,` `]`;
 * - an object as `{` members joined by `,` `}`, each member `canonicalJson(key):canonicalJson(value)`,
 *   members sorted by key, comparing keys as sequences of UTF-16 code units (JavaScript's
 *   default `Array.prototype.sort` order; integer-like keys get no special place).
 * Anything else (undefined, a function, a bigint, a symbol) is an error.
 *
 * ## Appending
 *
 * A store reads the head of the chain (the last seq and hash), computes the new record's hash
 * with `auditHash(lastSeq + 1, lastHash, record)` and inserts it, all in one transaction that
 * no other appender can interleave with (SQLite: an IMMEDIATE transaction; PostgreSQL: a lock
 * held to the end of the transaction, the row lock `pg-store.ts` takes on `audit_append_lock`),
 * so the chain never forks.
 *
 * ## Archiving
 *
 * `jit-access audit --archive` moves the oldest records to a file and removes them from the
 * ledger (`LedgerStore.archiveAudit`). A cut is always the start of what the ledger holds, so
 * what stays is still one chain; the ledger records each cut (`listAuditArchives`), and the last
 * cut's `headHash` (the hash of the last archived record) is where that chain now starts: the
 * first record left must hold it as its `prevHash`. Appending goes on from the records left, or
 * from that cut when none is left. Each archive file holds its cut's `prevHash` and `headHash`,
 * so the files and the ledger together verify as the one chain they were.
 */
import { createHash } from "node:crypto";
import type { AuditArchivePlan, AuditEvent, AuditInput } from "./store.js";
import { errorMessage } from "../util/error-message.js";

/** The `prevHash` of the first record. */
export const GENESIS_HASH = "0".repeat(64);
/** Names the encoding inside every hashed text, so that a future encoding cannot collide with this one. */
export const AUDIT_HASH_VERSION = "jit-access/audit/v1";

const HASH_FORMAT = /^[0-9a-f]{64}$/;

/** `details` as the store keeps it and as it is hashed: canonical JSON text, or null. */
export function canonicalDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined) return null;
  const text = JSON.stringify(details) as string | undefined;
  if (text === undefined) throw new Error("audit details cannot be written as JSON");
  return canonicalJson(JSON.parse(text) as unknown);
}

/** The hash of one record: see the canonical encoding above. */
export function auditHash(seq: number, prevHash: string, event: AuditInput): string {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`audit: seq must be a positive whole number, got ${seq}`);
  if (!HASH_FORMAT.test(prevHash)) throw new Error("audit: prevHash must be 64 lower-case hex digits");
  const at = event.at.getTime();
  if (Number.isNaN(at)) throw new Error("ledger: at is not a valid date");
  const details = canonicalDetails(event.details);
  const content = [
    AUDIT_HASH_VERSION,
    seq,
    prevHash,
    at,
    event.action,
    event.actor,
    event.owner,
    event.repo,
    event.prNumber ?? null,
    event.grantId ?? null,
    event.environment ?? null,
    event.secret ?? null,
    details === null ? null : (JSON.parse(details) as unknown),
  ];
  return createHash("sha256").update(canonicalJson(content), "utf8").digest("hex");
}

/** Refuses a cut that no store could have planned, before anything is written. */
export function checkArchivePlan(plan: AuditArchivePlan): void {
  const whole = (value: number, min: number): boolean => Number.isSafeInteger(value) && value >= min;
  if (!whole(plan.firstSeq, 1) || !whole(plan.lastSeq, plan.firstSeq)) {
    throw new Error(`audit archive: records ${plan.firstSeq} to ${plan.lastSeq} are not a range of seqs`);
  }
  if (!whole(plan.count, 1) || plan.count > plan.lastSeq - plan.firstSeq + 1) {
    throw new Error(`audit archive: ${plan.count} records cannot be records ${plan.firstSeq} to ${plan.lastSeq}`);
  }
  if (!HASH_FORMAT.test(plan.prevHash) || !HASH_FORMAT.test(plan.headHash)) {
    throw new Error("audit archive: prevHash and headHash must be 64 lower-case hex digits");
  }
  if (Number.isNaN(plan.before.getTime())) throw new Error("audit archive: before is not a valid date");
}

/** Canonical JSON text of a JSON value; see the module comment. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`canonical JSON has no form for the number ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  throw new Error(`canonical JSON has no form for a value of type ${typeof value}`);
}

/** A stored record as a store reads it back, or the seq of one it could not read. */
export type ChainEntry = AuditEvent | { seq: number; unreadable: string };

export type AuditVerification =
  /** Every record checked; `lastHash` is the head of the chain (GENESIS_HASH for an empty log). */
  | { ok: true; count: number; lastSeq: number | null; lastHash: string }
  /** `count` records before the broken one are intact; `problem` says what differs. */
  | { ok: false; count: number; seq: number; problem: string };

/**
 * Where a chain starts when records before it were archived (`jit-access audit --archive`): the
 * last archived record's seq and hash. The first record checked must follow it.
 */
export interface ChainStart {
  seq: number;
  hash: string;
}

/**
 * Checks records one at a time, in seq order (a store that reads in batches feeds it batch by
 * batch). Stops at the first break: `add` returns false from then on. Without `start` the first
 * record must chain from `GENESIS_HASH`; with it, from the archived record `start` names (then
 * `result()` gives `start` as the head while no record follows it).
 */
export class AuditChainVerifier {
  #previous: ChainStart | null;
  readonly #start: ChainStart | null;
  #count = 0;
  #broken: { seq: number; problem: string } | null = null;

  constructor(start?: ChainStart) {
    if (start !== undefined) {
      if (!Number.isSafeInteger(start.seq) || start.seq < 0)
        throw new Error(`audit: the chain's start must be a whole seq, got ${start.seq}`);
      if (!HASH_FORMAT.test(start.hash)) throw new Error("audit: the chain's start hash must be 64 lower-case hex digits");
    }
    // Seq 0 with the genesis hash is the chain's own start: nothing was archived.
    this.#start = start === undefined || start.seq === 0 ? null : start;
    this.#previous = this.#start;
  }

  add(entry: ChainEntry): boolean {
    if (this.#broken) return false;
    const problem = this.#problemWith(entry);
    if (problem !== null) {
      this.#broken = { seq: entry.seq, problem };
      return false;
    }
    const event = entry as AuditEvent;
    this.#previous = { seq: event.seq, hash: event.hash };
    this.#count += 1;
    return true;
  }

  result(): AuditVerification {
    if (this.#broken) return { ok: false, count: this.#count, ...this.#broken };
    return { ok: true, count: this.#count, lastSeq: this.#previous?.seq ?? null, lastHash: this.#previous?.hash ?? GENESIS_HASH };
  }

  #problemWith(entry: ChainEntry): string | null {
    if ("unreadable" in entry) return entry.unreadable;
    const previous = this.#previous;
    if (previous !== null && entry.seq <= previous.seq) {
      return `its seq does not follow record ${previous.seq}'s: records are out of order`;
    }
    const expectedPrev = previous?.hash ?? GENESIS_HASH;
    if (entry.prevHash !== expectedPrev) {
      if (previous === null) {
        return `it is the first record, but its prev_hash is ${short(entry.prevHash)}, not the chain's start ${short(GENESIS_HASH)}: records before it were removed, or its prev_hash was changed`;
      }
      const gap = missing(previous.seq, entry.seq);
      const which = previous === this.#start ? `the last archived record, ${previous.seq}` : `record ${previous.seq} before it`;
      return `its prev_hash ${short(entry.prevHash)} is not the hash ${short(previous.hash)} of ${which}${gap}: a record was removed or inserted, or its prev_hash was changed`;
    }
    let computed: string;
    try {
      computed = auditHash(entry.seq, entry.prevHash, entry);
    } catch (error) {
      return `its content cannot be hashed: ${errorMessage(error)}`;
    }
    if (computed !== entry.hash) {
      return `its content does not match its hash (stored ${short(entry.hash)}, computed ${short(computed)}): the record was changed after it was written`;
    }
    return null;
  }
}

/** Checks a whole log (or what follows `start`, the last archived record), in seq order. */
export function verifyAuditChain(entries: Iterable<ChainEntry>, start?: ChainStart): AuditVerification {
  const verifier = new AuditChainVerifier(start);
  for (const entry of entries) {
    if (!verifier.add(entry)) break;
  }
  return verifier.result();
}

/** " (record 4 is missing)" when seqs jump from `before` to `after`. */
function missing(before: number, after: number): string {
  if (after === before + 2) return ` (record ${before + 1} is missing)`;
  if (after > before + 2) return ` (records ${before + 1} to ${after - 1} are missing)`;
  return "";
}

function short(hash: string): string {
  return HASH_FORMAT.test(hash) ? `${hash.slice(0, 12)}…` : JSON.stringify(hash.slice(0, 80));
}
