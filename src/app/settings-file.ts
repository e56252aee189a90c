/**
 * Files that hold settings — a `.env` file, the catalog, the App's private key — are trusted
 * only when nobody but the operator can have written them: a regular file, not writable by
 * every user, owned by the user the process runs as (or by root, who could change anything
 * anyway; that is how files under /etc and mounted Kubernetes ConfigMaps are owned). Anything
 * else is refused with a message naming the file and the command that fixes it.
 * (On Windows, where modes and owners mean something else, the checks are skipped.)
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { userInfo } from "node:os";
import { parseEnv } from "node:util";

export class SettingsFileError extends Error {
  /** `missing`: no such file; `unsafe`: refused by the checks; `unreadable`: anything else. */
  constructor(
    message: string,
    readonly reason: "missing" | "unsafe" | "unreadable" = "unsafe",
  ) {
    super(message);
    this.name = "SettingsFileError";
  }
}

export interface SettingsFileOptions {
  /** The user the check is made for; the process's own by default (tests pass another). */
  uid?: number;
}

/** A `.env` file holds a few settings; anything bigger is not one. */
export const MAX_ENV_FILE_BYTES = 256 * 1024;

/**
 * Checks a settings file by path (stat follows symlinks, so a mounted ConfigMap's link is
 * judged by the file it points to). `what` names the file in messages, e.g. "JIT_CATALOG".
 * With `ifPresent`, a file that cannot be found or is not a regular file is left to the
 * caller's loader, which explains those in its own terms.
 */
export function checkSettingsFile(path: string, what: string, options: SettingsFileOptions & { ifPresent?: boolean } = {}): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    if (options.ifPresent) return;
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new SettingsFileError(
      code === "ENOENT" ? `settings file ${path} (${what}) does not exist.` : `settings file ${path} (${what}) cannot be read (${code}).`,
      code === "ENOENT" ? "missing" : "unreadable",
    );
  }
  if (options.ifPresent && !stats.isFile()) return;
  judge(stats, path, what, options);
}

/**
 * Reads a `.env` file (KEY=value lines, as Node's `--env-file` reads them) after the checks.
 * Opened without blocking, so a FIFO is refused rather than waited on; judged by the opened
 * file's own status, so the file read is the file checked.
 */
export function readEnvFile(path: string, what: string, options: SettingsFileOptions = {}): Record<string, string> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new SettingsFileError(
      code === "ENOENT" ? `settings file ${path} (${what}) does not exist.` : `settings file ${path} (${what}) cannot be read (${code}).`,
      code === "ENOENT" ? "missing" : "unreadable",
    );
  }
  try {
    const stats = fstatSync(fd);
    judge(stats, path, what, options);
    if (stats.size > MAX_ENV_FILE_BYTES) {
      throw new SettingsFileError(
        `settings file ${path} (${what}) is ${stats.size} bytes; a settings file is at most ${MAX_ENV_FILE_BYTES}.`,
      );
    }
    const buffer = Buffer.alloc(MAX_ENV_FILE_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_ENV_FILE_BYTES)
      throw new SettingsFileError(
        `settings file ${path} (${what}) is over ${MAX_ENV_FILE_BYTES} bytes; a settings file is at most ${MAX_ENV_FILE_BYTES}.`,
      );
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(parseEnv(buffer.subarray(0, length).toString("utf8")))) {
      if (value !== undefined) values[name] = value;
    }
    return values;
  } finally {
    closeSync(fd);
  }
}

/**
 * Fills in the variables `values` has that `env` does not (the environment wins over the
 * file, as with Node's `--env-file`); returns the names it filled in.
 */
export function fillUnset(env: NodeJS.ProcessEnv, values: Record<string, string>): string[] {
  const filled: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (env[name] === undefined) {
      env[name] = value;
      filled.push(name);
    }
  }
  return filled;
}

function judge(stats: Stats, path: string, what: string, options: SettingsFileOptions): void {
  if (!stats.isFile()) throw new SettingsFileError(`settings file ${path} (${what}) is not a regular file.`);
  if (process.platform === "win32") return;
  if ((stats.mode & 0o002) !== 0) {
    throw new SettingsFileError(
      `refusing settings file ${path} (${what}): every user on this machine can write to it (mode ${octal(stats.mode)}), so anyone could change the app's settings. ` +
        `Fix: chmod o-w ${path}`,
    );
  }
  const uid = options.uid ?? process.getuid?.();
  if (uid === undefined || stats.uid === uid || stats.uid === 0) return;
  const me = uid === process.getuid?.() ? userName() : null;
  throw new SettingsFileError(
    `refusing settings file ${path} (${what}): it belongs to uid ${stats.uid}, not to the user jit-access runs as (${me === null ? "" : `${me}, `}uid ${uid}) nor to root, so another user could change the app's settings. ` +
      `Fix: chown ${me ?? uid} ${path} (or run jit-access as the file's owner)`,
  );
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

function userName(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}
