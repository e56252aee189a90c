/**
 * `jit-access audit [--since ISO] [--format jsonl|csv]`: exports the append-only audit log,
 * oldest first, for a SIEM or a spreadsheet. `jit-access audit --verify` checks its hash chain
 * instead. Reads only the ledger: no GitHub credentials needed.
 */
import type { AuditVerification } from "../ledger/audit-chain.js";
import type { AuditEvent } from "../ledger/store.js";
import { withLedger, EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs, usageError } from "./command-args.js";
import { csvRecord } from "./csv.js";
import { parseIsoInstant } from "./parse-iso-instant.js";
import { jsonForTerminal, terminalText } from "./terminal-text.js";

export const AUDIT_USAGE = `usage: jit-access audit [--since ISO] [--format jsonl|csv]
       jit-access audit --verify

Exports the audit log, oldest first.
  --since ISO      only records at or after this instant: 2026-03-01 (midnight UTC) or
                   2026-03-01T09:30:00Z (a time needs its offset: Z or +01:00)
  --format jsonl   one JSON object per line (the default)
  --format csv     a header row, then one row per record (RFC 4180); details as a JSON string;
                   every character as stored, except on a terminal (control characters as \\uXXXX)
  --verify         export nothing; check the whole log's hash chain instead: each record holds
                   the hash of the one before it and its own (SHA-256 over its content). Prints
                   the number of records and the last hash (keep it elsewhere: a check later
                   shows whether records were removed from the end), or names the first record
                   that was changed, removed or inserted

Fields: seq, at (ISO 8601, UTC), action, actor, owner, repo, prNumber, grantId, environment,
secret, details (null or empty when a record has none), prevHash, hash. Needs only DATABASE_URL.
Exit status: 0, 1 the hash chain is broken (--verify), or 2 usage or configuration error.`;

const FORMATS = ["jsonl", "csv"] as const;
type Format = (typeof FORMATS)[number];

/** The exported fields, in order: the JSON keys and the CSV header. */
export const AUDIT_FIELDS = ["seq", "at", "action", "actor", "owner", "repo", "prNumber", "grantId", "environment", "secret", "details", "prevHash", "hash"] as const;

type AuditRecord = Record<(typeof AUDIT_FIELDS)[number], string | number | Record<string, unknown> | null>;

export async function auditCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "audit",
    AUDIT_USAGE,
    args,
    { options: { ...HELP_OPTION, since: { type: "string" }, format: { type: "string" }, verify: { type: "boolean" } } },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { format = "jsonl", since: sinceText, verify } = parsed.values;
  if (verify === true) {
    if (sinceText !== undefined || parsed.values.format !== undefined) {
      return usageError("audit", AUDIT_USAGE, "--verify checks the whole log and exports nothing: it takes neither --since nor --format", io);
    }
    return withLedger(io, async ({ store }) => report(await store.verifyAudit(), io));
  }
  if (!isFormat(format)) return usageError("audit", AUDIT_USAGE, `--format must be jsonl or csv; got "${format}"`, io);
  const since = sinceText === undefined ? undefined : parseIsoInstant(sinceText);
  if (since === null) {
    return usageError("audit", AUDIT_USAGE, `--since must be an ISO 8601 date or date-time with offset, e.g. 2026-03-01 or 2026-03-01T09:30:00Z; got "${sinceText}"`, io);
  }

  return withLedger(io, async ({ store }) => {
    const records = (await store.listAudit(since === undefined ? {} : { since })).map(auditRecord);
    if (format === "jsonl") {
      for (const record of records) io.stdout(jsonForTerminal(record));
    } else {
      // RFC 4180 ends records with CRLF: each line here ends in CR, and the line's own LF follows.
      io.stdout(`${csvRecord(AUDIT_FIELDS)}\r`);
      // To a terminal, control characters are shown as \uXXXX; to a file or a pipe, every byte as stored.
      const shown = io.stdoutIsTerminal === true ? terminalText : (text: string) => text;
      for (const record of records) io.stdout(`${csvRecord(AUDIT_FIELDS.map((field) => shown(csvText(record[field]))))}\r`);
    }
    return EXIT.ok;
  });
}

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

/** The outcome of `--verify`: a count and the head of the chain, or the first broken record. */
function report(result: AuditVerification, io: CliIO): number {
  if (result.ok) {
    const records = `${result.count} ${result.count === 1 ? "record" : "records"}`;
    io.stdout(
      result.lastSeq === null
        ? `audit chain intact: ${records} (the log is empty)`
        : `audit chain intact: ${records}; last record ${result.lastSeq}, hash ${result.lastHash}`,
    );
    return EXIT.ok;
  }
  const intact = result.count === 0 ? "no record before it" : `the ${result.count} ${result.count === 1 ? "record" : "records"} before it`;
  io.stderr(`audit chain broken at record ${result.seq}: ${result.problem}; ${intact} checked intact`);
  return EXIT.problem;
}

function csvText(value: AuditRecord[keyof AuditRecord]): string {
  if (value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}
