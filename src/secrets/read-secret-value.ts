/**
 * Reads a secret's value from the source the operator catalog names for it: an environment
 * variable of the app's process, or a file (as Docker and Kubernetes mount secrets).
 * Errors say what the operator must fix and never include the value or the file's content.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { SecretSource } from "../policy/catalog.js";

/** GitHub accepts secret values up to 48 KB. */
export const MAX_SECRET_VALUE_BYTES = 48 * 1024;
/** A file may hold the largest value plus one trailing `\r\n`. */
const MAX_FILE_BYTES = MAX_SECRET_VALUE_BYTES + 2;

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

export async function readSecretValue(source: SecretSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const value = source.kind === "env" ? readEnv(source, env) : await readFile(source);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw new SecretSourceError(
      `the value from ${describe(source)} is ${bytes} bytes; GitHub accepts at most ${MAX_SECRET_VALUE_BYTES} bytes (48 KB) per secret`,
      source,
    );
  }
  return value;
}

function readEnv(source: Extract<SecretSource, { kind: "env" }>, env: NodeJS.ProcessEnv): string {
  const value = env[source.variable];
  if (value === undefined) {
    throw new SecretSourceError(`environment variable ${source.variable} is not set in the app's environment`, source);
  }
  if (value === "") {
    throw new SecretSourceError(`environment variable ${source.variable} is empty in the app's environment`, source);
  }
  return value;
}

async function readFile(source: Extract<SecretSource, { kind: "file" }>): Promise<string> {
  const bytes = await readFileBytes(source);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new SecretSourceError(`file ${source.path} is not valid UTF-8 text`, source, { cause: error });
  }
  const value = stripOneTrailingNewline(text);
  if (value === "") throw new SecretSourceError(`file ${source.path} is empty`, source);
  return value;
}

async function readFileBytes(source: Extract<SecretSource, { kind: "file" }>): Promise<Buffer> {
  const cannotRead = (error: unknown): SecretSourceError =>
    new SecretSourceError(`file ${source.path} cannot be read: ${errorCode(error)}`, source, { cause: error });
  let handle: FileHandle;
  try {
    handle = await open(source.path, "r");
  } catch (error) {
    throw cannotRead(error);
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_FILE_BYTES) {
      throw new SecretSourceError(
        `file ${source.path} is ${size} bytes; GitHub accepts at most ${MAX_SECRET_VALUE_BYTES} bytes (48 KB) per secret`,
        source,
      );
    }
    return await handle.readFile();
  } catch (error) {
    throw error instanceof SecretSourceError ? error : cannotRead(error);
  } finally {
    await handle.close();
  }
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
