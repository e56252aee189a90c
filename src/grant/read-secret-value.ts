/**
 * Reads a secret's value from the source the operator catalog names for it: an environment
 * variable of the app's process, or a file (as Docker and Kubernetes mount secrets).
 * Errors say what the operator must fix and never include the value or the file's content.
 *
 * A source is read for what it is meant to hold, a short text, and nothing else:
 * - `file:` must be a regular file outside `/proc`, `/dev` and `/sys` once every symlink is
 *   resolved (`/proc/self/environ` holds the app's own credentials; `/dev/zero` never ends; a
 *   FIFO never answers). The resolved path is opened with O_NOFOLLOW and O_NONBLOCK, the open
 *   file is checked again (fstat: a regular file; Linux: where the descriptor really points),
 *   and at most one byte over the limit is ever read, whatever the file's size claims, within
 *   SOURCE_READ_TIMEOUT_MS.
 * - Text must be UTF-8. A file that is not is refused. Node.js decodes the environment itself
 *   and puts U+FFFD in place of bytes that are not UTF-8, so an `env:` value holding U+FFFD is
 *   refused (a value cannot be told apart from one that really holds U+FFFD).
 * - A value that starts with a byte order mark (U+FEFF) is refused, not stripped: it is almost
 *   always an editor's mistake, and stripping it would change a value that means it.
 *
 * Read the value before taking any lock a revocation also needs (`readSecretValueSettled`).
 */
import { open, readlink, realpath, type FileHandle } from "node:fs/promises";
import { constants } from "node:fs";
import type { SecretSource } from "../policy/catalog.js";

/** GitHub accepts secret values up to 48 KB. */
export const MAX_SECRET_VALUE_BYTES = 48 * 1024;
/** A file may hold the largest value plus one trailing `\r\n`. */
const MAX_FILE_BYTES = MAX_SECRET_VALUE_BYTES + 2;
/** Resolving, opening and reading a file source together take at most this long. */
export const SOURCE_READ_TIMEOUT_MS = 5_000;
/** Pseudo file systems whose files are not secrets: process memory and credentials, devices, kernel state. */
const REFUSED_ROOTS = ["/proc", "/dev", "/sys"] as const;

/** The value cannot be read from its source; the message says what to fix. */
export class SecretSourceError extends Error {
  override name = "SecretSourceError";
  constructor(
    message: string,
    readonly source: SecretSource,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The source did not answer within SOURCE_READ_TIMEOUT_MS. */
class SecretSourceTimeout extends SecretSourceError {}

export interface ReadOptions {
  /** Default SOURCE_READ_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** The variables `env:` sources read (the app's own environment); only the named variable is read. */
export type ValueEnvironment = Record<string, string | undefined>;

export async function readSecretValue(
  source: SecretSource,
  env: ValueEnvironment = process.env,
  options: ReadOptions = {},
): Promise<string> {
  const value = source.kind === "env" ? readEnv(source, env) : await readFile(source, options.timeoutMs ?? SOURCE_READ_TIMEOUT_MS);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw new SecretSourceError(
      `the value from ${describe(source)} is ${bytes} bytes; GitHub accepts at most ${MAX_SECRET_VALUE_BYTES} bytes (48 KB) per secret`,
      source,
    );
  }
  if (value.startsWith("\uFEFF")) {
    throw new SecretSourceError(
      `the value from ${describe(source)} starts with a byte order mark (U+FEFF), which would become part of the secret; save it without one`,
      source,
    );
  }
  return value;
}

export type SecretValueRead = { ok: true; value: string } | { ok: false; error: SecretSourceError };

/**
 * `readSecretValue` that resolves either way: the grant path reads the value with this before it
 * takes the per-secret lock (which a revocation of the same secret also needs), then records a
 * failed read on the grant inside the lock. Errors that are not about the source still reject.
 */
export async function readSecretValueSettled(
  source: SecretSource,
  env: ValueEnvironment = process.env,
  options: ReadOptions = {},
): Promise<SecretValueRead> {
  try {
    return { ok: true, value: await readSecretValue(source, env, options) };
  } catch (error) {
    if (error instanceof SecretSourceError) return { ok: false, error };
    throw error;
  }
}

function readEnv(source: Extract<SecretSource, { kind: "env" }>, env: ValueEnvironment): string {
  const value = env[source.variable];
  if (value === undefined) {
    throw new SecretSourceError(`environment variable ${source.variable} is not set in the app's environment`, source);
  }
  if (value === "") {
    throw new SecretSourceError(`environment variable ${source.variable} is empty in the app's environment`, source);
  }
  if (value.includes("\uFFFD")) {
    throw new SecretSourceError(
      `environment variable ${source.variable} is not valid UTF-8 text (Node.js shows such bytes as U+FFFD, which it holds); set it to UTF-8 text, or use a file: source`,
      source,
    );
  }
  return value;
}

async function readFile(source: Extract<SecretSource, { kind: "file" }>, timeoutMs: number): Promise<string> {
  const bytes = await withReadDeadline(source, timeoutMs, (deadline) => readFileBytes(source, deadline));
  let text: string;
  try {
    // ignoreBOM keeps a byte order mark in the text, so that it is refused rather than dropped.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new SecretSourceError(`file ${source.path} is not valid UTF-8 text`, source, { cause: error });
  }
  const value = stripOneTrailingNewline(text);
  if (value === "") throw new SecretSourceError(`file ${source.path} is empty`, source);
  return value;
}

type Deadline = <T>(work: Promise<T>) => Promise<T>;

/**
 * Runs `body` with a `deadline` that each step awaits through: past `timeoutMs` every pending
 * and later step rejects. (A file-system call stuck in the kernel cannot be cancelled; the app
 * stops waiting for it.)
 */
export async function withReadDeadline<T>(source: SecretSource, timeoutMs: number, body: (deadline: Deadline) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SecretSourceTimeout(`reading ${describe(source)} took over ${timeoutMs} ms; a secret's file must answer at once`, source),
        ),
      timeoutMs,
    );
  });
  expired.catch(() => undefined);
  const deadline: Deadline = (work) => Promise.race([work, expired]);
  try {
    return await deadline(body(deadline));
  } finally {
    clearTimeout(timer);
  }
}

async function readFileBytes(source: Extract<SecretSource, { kind: "file" }>, deadline: Deadline): Promise<Buffer> {
  const cannotRead = (error: unknown): SecretSourceError =>
    new SecretSourceError(`file ${source.path} cannot be read: ${errorCode(error)}`, source, { cause: error });
  let resolved: string;
  try {
    resolved = await deadline(realpath(source.path));
  } catch (error) {
    throw error instanceof SecretSourceError ? error : cannotRead(error);
  }
  refuseSpecialRoot(source, resolved);

  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink put in place after realpath is refused (ELOOP), not followed.
    // O_NONBLOCK: opening a FIFO does not wait for a writer (it is then refused as not a file).
    handle = await deadline(open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY));
  } catch (error) {
    throw error instanceof SecretSourceError ? error : cannotRead(error);
  }
  let closeLater = false;
  try {
    const stat = await deadline(handle.stat());
    if (!stat.isFile()) {
      throw new SecretSourceError(
        `file ${source.path} is not a regular file (it is ${fileKind(stat)}); point the source at a file that holds the value`,
        source,
      );
    }
    const opened = await openedPath(handle);
    if (opened !== null) refuseSpecialRoot(source, opened);
    if (stat.size > MAX_FILE_BYTES) {
      throw new SecretSourceError(
        `file ${source.path} is ${stat.size} bytes; GitHub accepts at most ${MAX_SECRET_VALUE_BYTES} bytes (48 KB) per secret`,
        source,
      );
    }
    const bytes = await readAtMost(handle, MAX_FILE_BYTES, deadline);
    if (bytes === null) {
      throw new SecretSourceError(
        `file ${source.path} holds more than ${MAX_FILE_BYTES} bytes; GitHub accepts at most ${MAX_SECRET_VALUE_BYTES} bytes (48 KB) per secret`,
        source,
      );
    }
    return bytes;
  } catch (error) {
    // A read that timed out may still be pending: close once it settles, never wait for it.
    if (error instanceof SecretSourceTimeout) closeLater = true;
    throw error instanceof SecretSourceError ? error : cannotRead(error);
  } finally {
    if (closeLater) void handle.close().catch(() => undefined);
    else await handle.close().catch(() => undefined);
  }
}

/** What `read` of a file handle offers; a test may pass a handle whose size claims are false. */
export interface ReadableHandle {
  read(buffer: Buffer, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
}

/**
 * Reads until end of file, counting the bytes actually read (never a size the file system
 * reports: `/proc` files report 0). Null when there are more than `cap`: one byte over is the
 * most ever read.
 */
export async function readAtMost(handle: ReadableHandle, cap: number, deadline: Deadline = (work) => work): Promise<Buffer | null> {
  const buffer = Buffer.alloc(cap + 1);
  let total = 0;
  while (total < buffer.length) {
    const { bytesRead } = await deadline(handle.read(buffer, total, buffer.length - total, null));
    if (bytesRead === 0) return buffer.subarray(0, total);
    total += bytesRead;
  }
  return null;
}

function refuseSpecialRoot(source: Extract<SecretSource, { kind: "file" }>, resolved: string): void {
  const root = REFUSED_ROOTS.find((prefix) => resolved === prefix || resolved.startsWith(`${prefix}/`));
  if (root === undefined) return;
  const via = resolved === source.path ? "" : ` (it resolves to ${resolved})`;
  throw new SecretSourceError(
    `file ${source.path} is under ${root}${via}; a secret's file must be a regular file outside ${REFUSED_ROOTS.join(", ")}`,
    source,
  );
}

/** Where the open descriptor points (Linux), or null where that cannot be told. */
async function openedPath(handle: FileHandle): Promise<string | null> {
  if (process.platform !== "linux") return null;
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return null;
  }
}

function fileKind(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  return "not a regular file";
}

function stripOneTrailingNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** `ENOENT`, `EACCES`, `EISDIR`…: the cause without any content. */
function errorCode(error: unknown): string {
  // Duck-typed: errors from Node's fs may come from another realm (e.g. under a test VM).
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return String(error);
}

function describe(source: SecretSource): string {
  return source.kind === "env" ? `environment variable ${source.variable}` : `file ${source.path}`;
}
