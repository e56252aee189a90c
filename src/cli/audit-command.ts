/**
 * `jit-access audit [--since ISO] [--format jsonl|csv]`: exports the append-only audit log,
 * oldest first, for a SIEM or a spreadsheet, a page of records at a time, waiting for stdout to
 * take each page before the next is read, so memory stays flat however long the log.
 * `jit-access audit --verify` checks its hash chain instead. `--archive` and `--verify-archive`
 * are the retention path (`audit-archive.ts`). Reads only the ledger: no GitHub credentials needed.
 */
import type { AuditVerification } from "../ledger/audit-chain.js";
import { readAuditPages } from "../ledger/audit-pages.js";
import type { LedgerStore } from "../ledger/store.js";
import { archiveAuditLog, verifyArchiveFile } from "./audit-archive.js";
import { AUDIT_FIELDS, auditRecord, type AuditRecord } from "./audit-record.js";
import { withLedger, EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs, usageError } from "./command-args.js";
import { csvRecord } from "./csv.js";
import { parseIsoInstant } from "./parse-iso-instant.js";
import { jsonForTerminal, terminalText } from "../util/terminal-text.js";

export { AUDIT_FIELDS, auditRecord } from "./audit-record.js";

export const AUDIT_USAGE = `usage: jit-access audit [--since ISO] [--format jsonl|csv]
       jit-access audit --verify
       jit-access audit --archive --before ISO [--out FILE]
       jit-access audit --verify-archive FILE

Exports the audit log, oldest first.
  --since ISO      only records at or after this instant: 2026-03-01 (midnight UTC) or
                   2026-03-01T09:30:00Z (a time needs its offset: Z or +01:00)
  --format jsonl   one JSON object per line (the default)
  --format csv     a header row, then one row per record (RFC 4180); details as a JSON string;
                   every character as stored, except on a terminal (control characters as \\uXXXX)
  --verify         export nothing; check the log's hash chain instead: each record holds the
                   hash of the one before it and its own (SHA-256 over its content). Prints the
                   number of records and the last hash (keep it elsewhere: a check later shows
                   whether records were removed from the end), or names the first record that
                   was changed, removed or inserted. After an archive, the chain is checked from
                   the hash of the last record archived

Retention: the log can be kept for years, its older part in archive files.
  --archive        move the records before --before out of the ledger into a file: JSON lines,
                   a header naming the cut and its hashes, then the records as exported. Their
                   chain is checked as they are written, the file is synced to disk, and only
                   then are they removed from the ledger, in one transaction that records the
                   cut (the ledger's chain now starts from the last archived record's hash) and
                   appends an "archived" record. Nothing else ever removes audit records
  --before ISO     the records before this instant (written as for --since), oldest first up
                   to the first record at or after it; not in the future
  --out FILE       the file to write, never overwritten (default:
                   jit-access-audit-FIRST-LAST.jsonl in the working directory)
  --verify-archive FILE
                   check an archive file: its records' chain, that none is missing, and that
                   the ledger recorded this very cut, so the file links to what the ledger holds

Fields: seq, at (ISO 8601, UTC), action, actor, owner, repo, prNumber, grantId, environment,
secret, details (null or empty when a record has none), prevHash, hash. Needs only DATABASE_URL.
Exit status: 0, 1 the hash chain or an archive is broken (--verify, --verify-archive, --archive),
or 2 usage or configuration error (an --out file that exists, an archive file that cannot be read).`;

const FORMATS = ["jsonl", "csv"] as const;
type Format = (typeof FORMATS)[number];

export async function auditCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "audit",
    AUDIT_USAGE,
    args,
    {
      options: {
        ...HELP_OPTION,
        since: { type: "string" },
        format: { type: "string" },
        verify: { type: "boolean" },
        archive: { type: "boolean" },
        before: { type: "string" },
        out: { type: "string" },
        "verify-archive": { type: "string" },
      },
    },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { format = "jsonl", since: sinceText, verify, archive, before: beforeText, out, "verify-archive": archiveFile } = parsed.values;
  const usage = (message: string): number => usageError("audit", AUDIT_USAGE, message, io);
  const given = (...options: [string, boolean][]): string[] => options.filter(([, present]) => present).map(([name]) => name);

  const modes = given(["--verify", verify === true], ["--archive", archive === true], ["--verify-archive", archiveFile !== undefined]);
  if (modes.length > 1) return usage(`${modes.join(" and ")} cannot be combined: give one`);
  const exportOptions = given(["--since", sinceText !== undefined], ["--format", parsed.values.format !== undefined]);
  const archiveOptions = given(["--before", beforeText !== undefined], ["--out", out !== undefined]);
  if (archive !== true && archiveOptions.length > 0) return usage(`${archiveOptions.join(" and ")} go with --archive`);

  if (verify === true) {
    if (exportOptions.length > 0) return usage("--verify checks the whole log and exports nothing: it takes neither --since nor --format");
    return withLedger(io, async ({ store }) => report(await store.verifyAudit(), store, io));
  }
  if (archiveFile !== undefined) {
    if (exportOptions.length > 0) return usage("--verify-archive checks a file and exports nothing: it takes neither --since nor --format");
    if (archiveFile.trim() === "") return usage("--verify-archive needs the archive file: --verify-archive jit-access-audit-1-1200.jsonl");
    return withLedger(io, (context) => verifyArchiveFile(context, archiveFile, io));
  }
  if (archive === true) {
    if (exportOptions.length > 0)
      return usage("--archive writes every record of the cut, as JSON lines: it takes neither --since nor --format");
    if (beforeText === undefined) return usage("--archive needs --before ISO: the records before that instant are archived");
    const before = parseIsoInstant(beforeText);
    if (before === null) {
      return usage(
        `--before must be an ISO 8601 date or date-time with offset, e.g. 2026-01-01 or 2026-01-01T00:00:00Z; got "${beforeText}"`,
      );
    }
    if (out !== undefined && out.trim() === "") return usage("--out is empty: name the archive file, or leave it out for the default name");
    return withLedger(io, async (context) => {
      if (before.getTime() > context.clock.now()) {
        return usage(`--before ${before.toISOString()} is in the future: only records already written can be archived`);
      }
      return archiveAuditLog(context, { before, ...(out !== undefined && { out }) }, io);
    });
  }

  if (!isFormat(format)) return usage(`--format must be jsonl or csv; got "${format}"`);
  const since = sinceText === undefined ? undefined : parseIsoInstant(sinceText);
  if (since === null) {
    return usage(`--since must be an ISO 8601 date or date-time with offset, e.g. 2026-03-01 or 2026-03-01T09:30:00Z; got "${sinceText}"`);
  }
  return withLedger(io, async ({ store }) => {
    const line = format === "jsonl" ? jsonForTerminal : csvLine(io);
    // RFC 4180 ends records with CRLF: each line here ends in CR, and the line's own LF follows.
    if (format === "csv") io.stdout(`${csvRecord(AUDIT_FIELDS)}\r`);
    for await (const page of readAuditPages(store, since === undefined ? {} : { since })) {
      for (const event of page) io.stdout(line(auditRecord(event)));
      // Backpressure: the next page is read once stdout has taken this one.
      await io.stdoutDrained?.();
    }
    return EXIT.ok;
  });
}

function csvLine(io: CliIO): (record: AuditRecord) => string {
  // To a terminal, control characters are shown as \uXXXX; to a file or a pipe, every byte as stored.
  const shown = io.stdoutIsTerminal === true ? terminalText : (text: string) => text;
  return (record) => `${csvRecord(AUDIT_FIELDS.map((field) => shown(csvText(record[field]))))}\r`;
}

/** The outcome of `--verify`: a count and the head of the chain, or the first broken record. */
async function report(result: AuditVerification, store: LedgerStore, io: CliIO): Promise<number> {
  const archived = (await store.listAuditArchives()).at(-1);
  const from =
    archived === undefined
      ? ""
      : ` after record ${archived.lastSeq}, the last one archived (chain checked from its hash ${archived.headHash})`;
  if (result.ok) {
    const records = `${result.count} ${result.count === 1 ? "record" : "records"}`;
    io.stdout(
      result.lastSeq === null
        ? `audit chain intact: ${records} (the log is empty)`
        : result.count === 0
          ? `audit chain intact: 0 records${from}`
          : `audit chain intact: ${records}${from}; last record ${result.lastSeq}, hash ${result.lastHash}`,
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
