/**
 * `jit-access audit --archive --before ISO [--out FILE]` and `jit-access audit --verify-archive FILE`:
 * the audit log's retention path. Archiving moves the oldest records, those before an instant,
 * to a file and removes them from the ledger, so that the log can be kept for years without the
 * ledger growing for ever:
 *
 * 1. the ledger plans the cut (`planAuditArchive`): records `firstSeq` to `lastSeq`, the hash
 *    the first chains from (`prevHash`) and the hash of the last (`headHash`);
 * 2. the file is created (never over an existing one), the cut written to it a page at a time,
 *    its chain checked on the way (a broken chain archives nothing, and the file is removed),
 *    then synced to disk, and its directory too;
 * 3. only then the ledger removes the records, records the cut and appends an `archived` audit
 *    record, in one transaction (`archiveAudit`).
 *
 * The file is JSON lines: a header line, then one line per record exactly as `jit-access audit`
 * exports it. The header names the format and the cut:
 *
 *   {"format":"jit-access/audit-archive/v1","firstSeq":1,"lastSeq":1200,"count":1200,
 *    "prevHash":"000…","headHash":"3f9a…","before":"2026-01-01T00:00:00.000Z","archivedAt":"…"}
 *
 * `--verify-archive` reads a file back: its records' chain from `prevHash` to `headHash`, that it
 * holds all `count` records, and that the ledger recorded exactly this cut, so the file links to
 * the records the ledger still holds (their chain starts from the last cut's `headHash`).
 */
import { createReadStream } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { AuditChainVerifier, type AuditVerification } from "../ledger/audit-chain.js";
import { readAuditPages } from "../ledger/audit-pages.js";
import type { AuditArchive, AuditArchivePlan, AuditInput } from "../ledger/store.js";
import { auditEvent, auditRecord } from "./audit-record.js";
import { EXIT, operatorActor, whoRan, type CliIO, type LedgerContext } from "./cli-context.js";
import { terminalText } from "../util/terminal-text.js";
import { errorMessage } from "../util/error-message.js";

export const ARCHIVE_FORMAT = "jit-access/audit-archive/v1";
/**
 * Characters written at a time. Small enough that each write's text is an ordinary young string
 * for V8 (a larger one goes to its large-object space, kept until a full collection), so that
 * memory stays flat however many records are archived.
 */
const WRITE_CHUNK_CHARS = 32 * 1024;
/**
 * Records read at a time while archiving. The writes of a page's records are awaited, and the
 * page stays reachable until its last record is written: a page of 1,000 (`AUDIT_PAGE_SIZE`)
 * outlived V8's young-generation collections and was promoted, so the heap's peak depended on
 * when a full collection came (some runs 55 MB higher over 200,000 records). A page of 100 is
 * written within a few writes and dies young.
 */
const ARCHIVE_PAGE_SIZE = 100;

/** The first line of an archive file. */
export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  firstSeq: number;
  lastSeq: number;
  count: number;
  prevHash: string;
  headHash: string;
  /** ISO 8601, UTC. */
  before: string;
  archivedAt: string;
}

/** The file an archive is written to when `--out` names none: in the working directory. */
export function defaultArchiveFile(plan: Pick<AuditArchivePlan, "firstSeq" | "lastSeq">): string {
  return `jit-access-audit-${plan.firstSeq}-${plan.lastSeq}.jsonl`;
}

/** Moves the records before `before` to a file, then out of the ledger; see the module comment. */
export async function archiveAuditLog(context: LedgerContext, request: { before: Date; out?: string }, io: CliIO): Promise<number> {
  const { store, clock } = context;
  const plan = await store.planAuditArchive(request.before);
  if (plan === null) {
    io.stdout(
      `nothing to archive: the ledger holds no audit record before ${request.before.toISOString()}; no file was written and the ledger is unchanged`,
    );
    return EXIT.ok;
  }
  const path = resolve(request.out ?? defaultArchiveFile(plan));
  const shownPath = terminalText(path);
  let file: FileHandle;
  try {
    // "wx": fails if the file exists, so an archive never overwrites anything.
    file = await open(path, "wx", 0o600);
  } catch (error) {
    const why =
      errorCode(error) === "EEXIST"
        ? "it already exists, and an archive never overwrites a file; name another with --out"
        : errorMessage(error);
    io.stderr(terminalText(`jit-access audit: cannot write the archive to ${path}: ${why}. Nothing was archived.`));
    return EXIT.usage;
  }

  const archivedAt = new Date(clock.now());
  let written: AuditVerification;
  try {
    written = await writeArchive(file, context, plan, archivedAt);
    if (written.ok) await file.sync();
  } catch (error) {
    await file.close();
    await rm(path, { force: true });
    throw error;
  }
  await file.close();
  const problem = cutProblem(written, plan);
  if (problem !== null) {
    await rm(path, { force: true });
    io.stderr(
      `jit-access audit: ${problem}. Nothing was archived and the partial file was removed; ` +
        "run jit-access audit --verify, and restore the ledger from a backup if the chain is broken",
    );
    return EXIT.problem;
  }
  // The file's name is in its directory only once the directory is synced too.
  await syncDirectory(dirname(path));

  const audit: AuditInput = {
    at: archivedAt,
    action: "archived",
    actor: operatorActor(io.env),
    // The archive is about the whole log, not one repository.
    owner: "",
    repo: "",
    details: { ...cutFields(plan), file: path, ranBy: whoRan() },
  };
  let archive: AuditArchive;
  try {
    archive = await store.archiveAudit(plan, archivedAt, audit);
  } catch (error) {
    io.stderr(
      terminalText(
        `jit-access audit: the archive was written to ${path}, but the records were not removed from the ledger: ${errorMessage(error)}. ` +
          `Every record is still in the ledger; delete ${path} and run the archive again.`,
      ),
    );
    return EXIT.problem;
  }
  io.stdout(
    `archived ${records(archive.count)} (${archive.firstSeq} to ${archive.lastSeq}, before ${archive.before.toISOString()}) to ${shownPath}; ` +
      `head hash ${archive.headHash}, where the ledger's audit chain now starts. Keep the file: the records are no longer in the ledger.`,
  );
  return EXIT.ok;
}

/** What the archive's header and its audit record both say of the cut. */
function cutFields(plan: AuditArchivePlan) {
  return {
    firstSeq: plan.firstSeq,
    lastSeq: plan.lastSeq,
    count: plan.count,
    prevHash: plan.prevHash,
    headHash: plan.headHash,
    before: plan.before.toISOString(),
  };
}

/** The header, then the cut's records a page at a time, each page written before the next is read; checks the chain on the way. */
async function writeArchive(
  file: FileHandle,
  { store }: LedgerContext,
  plan: AuditArchivePlan,
  archivedAt: Date,
): Promise<AuditVerification> {
  const header: ArchiveHeader = { format: ARCHIVE_FORMAT, ...cutFields(plan), archivedAt: archivedAt.toISOString() };
  await file.write(`${JSON.stringify(header)}\n`);
  const verifier = new AuditChainVerifier({ seq: plan.firstSeq - 1, hash: plan.prevHash });
  let chunk: string[] = [];
  let chunkLength = 0;
  for await (const page of readAuditPages(store, { afterSeq: plan.firstSeq - 1, throughSeq: plan.lastSeq, pageSize: ARCHIVE_PAGE_SIZE })) {
    for (const event of page) {
      if (!verifier.add(event)) return verifier.result();
      const line = `${JSON.stringify(auditRecord(event))}\n`;
      chunk.push(line);
      chunkLength += line.length;
      if (chunkLength >= WRITE_CHUNK_CHARS) {
        await file.write(chunk.join(""));
        chunk = [];
        chunkLength = 0;
      }
    }
  }
  if (chunk.length > 0) await file.write(chunk.join(""));
  return verifier.result();
}

/** Why the records read are not the cut the ledger planned, or null when they are. */
function cutProblem(result: AuditVerification, cut: Pick<AuditArchivePlan, "count" | "lastSeq" | "headHash">): string | null {
  if (!result.ok) return `the audit chain is broken at record ${result.seq}: ${result.problem}`;
  if (result.count !== cut.count || result.lastSeq !== cut.lastSeq) {
    return `${records(result.count)} ending at record ${result.lastSeq ?? "none"}, where ${records(cut.count)} ending at record ${cut.lastSeq} were expected`;
  }
  if (result.lastHash !== cut.headHash) return `record ${cut.lastSeq}'s hash is ${result.lastHash}, not the head hash ${cut.headHash}`;
  return null;
}

/** `--verify-archive FILE`: the file on its own, then its link to the ledger. */
export async function verifyArchiveFile(context: LedgerContext, file: string, io: CliIO): Promise<number> {
  const path = resolve(file);
  let read: { header: ArchiveHeader; result: AuditVerification } | { problem: string };
  try {
    read = await readArchive(path);
  } catch (error) {
    io.stderr(terminalText(`jit-access audit: cannot read the archive ${path}: ${errorMessage(error)}`));
    return EXIT.usage;
  }
  const fail = (problem: string): number => {
    io.stderr(terminalText(`archive ${path} does not verify: ${problem}`));
    return EXIT.problem;
  };
  if ("problem" in read) return fail(read.problem);
  const { header, result } = read;
  const problem = cutProblem(result, header);
  if (problem !== null) return fail(result.ok && result.count < header.count ? `${problem}: the file was cut short` : problem);

  const archives = await context.store.listAuditArchives();
  const index = archives.findIndex((archive) => archive.lastSeq === header.lastSeq);
  const recorded = archives[index];
  if (recorded === undefined) {
    return fail(
      `its records (${header.firstSeq} to ${header.lastSeq}) are intact, but the ledger has no record of archiving them: ` +
        "the file is from another ledger, or the ledger was replaced",
    );
  }
  const differs = (["firstSeq", "count", "prevHash", "headHash"] as const).filter((field) => recorded[field] !== header[field]);
  if (differs.length > 0) {
    return fail(
      `its records are intact, but its ${differs.join(", ")} differ from the ledger's record of archiving records ${recorded.firstSeq} to ${recorded.lastSeq}`,
    );
  }
  const next = archives[index + 1];
  const then =
    next === undefined
      ? "the records the ledger holds chain from its head hash (jit-access audit --verify checks them)"
      : `the archive of records ${next.firstSeq} to ${next.lastSeq} chains from its head hash`;
  io.stdout(
    `archive intact: ${records(header.count)}, ${header.firstSeq} to ${header.lastSeq}, head hash ${header.headHash}; ` +
      `the ledger recorded this cut on ${recorded.archivedAt.toISOString()}, and ${then}`,
  );
  return EXIT.ok;
}

/** Reads an archive a line at a time: its header, and its records' chain from the header's `prevHash`. */
async function readArchive(path: string): Promise<{ header: ArchiveHeader; result: AuditVerification } | { problem: string }> {
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let header: ArchiveHeader | null = null;
  let verifier: AuditChainVerifier | null = null;
  let lineNumber = 0;
  let nextSeq = 0;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (header === null) {
        const parsed = parseHeader(line);
        if ("problem" in parsed) return { problem: `its first line is not a ${ARCHIVE_FORMAT} header: ${parsed.problem}` };
        header = parsed;
        verifier = new AuditChainVerifier({ seq: header.firstSeq - 1, hash: header.prevHash });
        nextSeq = header.firstSeq;
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      const event = auditEvent(value);
      const entry =
        "problem" in event
          ? {
              seq: nextSeq,
              unreadable: `line ${lineNumber} is not an audit record: ${value === undefined ? "it is not JSON" : event.problem}`,
            }
          : event;
      if (!verifier!.add(entry)) break;
      nextSeq = entry.seq + 1;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (header === null) return { problem: "the file is empty" };
  return { header, result: verifier!.result() };
}

function parseHeader(line: string): ArchiveHeader | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { problem: "it is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { problem: "it is not a JSON object" };
  const header = value as Record<string, unknown>;
  if (header.format !== ARCHIVE_FORMAT) return { problem: `its format is ${JSON.stringify(header.format)}` };
  const whole = (key: string, min: number): boolean => Number.isSafeInteger(header[key]) && (header[key] as number) >= min;
  if (!whole("firstSeq", 1) || !whole("lastSeq", header.firstSeq as number) || !whole("count", 1)) {
    return { problem: "firstSeq, lastSeq and count must be positive whole numbers, lastSeq not before firstSeq" };
  }
  for (const key of ["prevHash", "headHash"]) {
    if (typeof header[key] !== "string" || !/^[0-9a-f]{64}$/.test(header[key]))
      return { problem: `its ${key} is not 64 lower-case hex digits` };
  }
  for (const key of ["before", "archivedAt"]) {
    if (typeof header[key] !== "string" || Number.isNaN(Date.parse(header[key]))) return { problem: `its ${key} is not an ISO 8601 time` };
  }
  return header as unknown as ArchiveHeader;
}

/** fsync of a directory, so that a file just created in it survives a crash. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function records(count: number): string {
  return `${count} ${count === 1 ? "record" : "records"}`;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
