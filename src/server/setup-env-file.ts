/**
 * Writes the credentials GitHub returned from the manifest flow into `.env`, keeping every
 * other line as it was. A name the file already has is replaced where it stands (the five
 * values belong to one app: an id of one app with the key of another does not work), and the
 * caller reports which names were added, replaced or already held the same value. The new
 * file is written beside the old one with mode 0600, flushed, and renamed over it, so a
 * reader sees the old file or the new one, never half of one; it is checked to read back as
 * the same settings before it replaces anything.
 */
import { accessSync, closeSync, constants, fsyncSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { parseEnv } from "node:util";
import { readEnvFile, SettingsFileError } from "../app/settings-file.js";

/** The names the manifest flow writes, in the order they are written. */
export const CREDENTIAL_NAMES = ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"] as const;
export type CredentialName = (typeof CREDENTIAL_NAMES)[number];
export type Credentials = Record<CredentialName, string>;

export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvFileError";
  }
}

export interface EnvFilePlan {
  /** The new file's text. */
  text: string;
  added: CredentialName[];
  /** Names the file had with another value (or an empty one), now replaced. */
  replaced: CredentialName[];
  /** Names the file already had with exactly this value. */
  unchanged: CredentialName[];
  /** How many other settings the file has, kept as they were. */
  keptOthers: number;
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;
const PLAIN_VALUE = /^[A-Za-z0-9._+/=:@-]+$/;

/** One line per value; the private key as a double-quoted value with `\n` escapes, which `.env` readers expand. */
function encode(name: CredentialName, value: string): string {
  if (name === "PRIVATE_KEY") {
    if (!/^[A-Za-z0-9+/=\n\r -]+$/.test(value))
      throw new EnvFileError("the private key GitHub returned is not a PEM text; nothing was written.");
    return `${name}="${value.replace(/\r?\n/g, "\\n")}"`;
  }
  if (!PLAIN_VALUE.test(value))
    throw new EnvFileError(`the ${name} GitHub returned has characters a .env value cannot hold unquoted; nothing was written.`);
  return `${name}=${value}`;
}

/** Line spans of each assignment (a quoted value may run over several lines). */
function assignments(lines: string[]): Array<{ name: string; start: number; end: number }> {
  const found: Array<{ name: string; start: number; end: number }> = [];
  for (let index = 0; index < lines.length; index += 1) {
    const match = ASSIGNMENT.exec(lines[index]!);
    if (!match) continue;
    const value = match[2]!;
    const quote = value[0];
    let end = index;
    if ((quote === '"' || quote === "'" || quote === "`") && !value.slice(1).includes(quote)) {
      // The value runs on to the first line that closes the quote.
      while (end + 1 < lines.length) {
        end += 1;
        if (lines[end]!.includes(quote)) break;
      }
    }
    found.push({ name: match[1]!, start: index, end });
    index = end;
  }
  return found;
}

export function planEnvFile(existing: string | null, credentials: Credentials): EnvFilePlan {
  const before = existing === null ? {} : (parseEnv(existing) as Record<string, string>);
  const lines = existing === null || existing === "" ? [] : existing.replace(/\n$/, "").split("\n");
  const spans = assignments(lines);
  const added: CredentialName[] = [];
  const replaced: CredentialName[] = [];
  const unchanged: CredentialName[] = [];
  const replace = new Map<number, string | null>();
  const appended: string[] = [];
  for (const name of CREDENTIAL_NAMES) {
    const line = encode(name, credentials[name]);
    const own = spans.filter((span) => span.name === name);
    if (own.length === 0) {
      added.push(name);
      appended.push(line);
      continue;
    }
    (before[name] === credentials[name] ? unchanged : replaced).push(name);
    own.forEach((span, index) => {
      for (let at = span.start; at <= span.end; at += 1) replace.set(at, at === span.start && index === 0 ? line : null);
    });
  }
  const out: string[] = [];
  lines.forEach((text, index) => {
    const replacement = replace.get(index);
    if (replacement === undefined) out.push(text);
    else if (replacement !== null) out.push(replacement);
  });
  if (appended.length > 0) {
    if (out.length > 0 && out.at(-1)!.trim() !== "") out.push("");
    out.push("# The GitHub App, registered from app.yml by jit-access's setup page.", ...appended);
  }
  const text = `${out.join("\n")}\n`;

  // The new file must read back as the old settings plus the new credentials, and nothing else.
  const after = parseEnv(text) as Record<string, string>;
  const others = Object.keys(before).filter((name) => !(CREDENTIAL_NAMES as readonly string[]).includes(name));
  const wrong = [
    ...CREDENTIAL_NAMES.filter((name) => after[name] !== credentials[name]),
    ...others.filter((name) => after[name] !== before[name]),
    ...Object.keys(after).filter((name) => !(name in before) && !(CREDENTIAL_NAMES as readonly string[]).includes(name)),
  ];
  if (wrong.length > 0) {
    throw new EnvFileError(
      `the updated .env would not read back as written (${wrong.join(", ")}); nothing was written. Add the values by hand.`,
    );
  }
  return { text, added, replaced, unchanged, keptOthers: others.length };
}

/**
 * Whether `path` can be written: absent with a writable directory, or a regular file the
 * checks for settings files accept. Returns its text (null when absent); throws EnvFileError
 * saying what to fix. Run before the code is exchanged, so a file that cannot be written
 * never costs the one-time code.
 */
export function readEnvFileForUpdate(path: string): string | null {
  let text: string | null = null;
  try {
    const stats = lstatSync(path);
    if (stats.isSymbolicLink())
      throw new EnvFileError(
        `${path} is a symbolic link; the setup page writes only a regular file. Replace the link with a file, or remove it, and reload this page.`,
      );
    if (!stats.isFile()) throw new EnvFileError(`${path} is not a regular file. Remove it and reload this page.`);
    readEnvFile(path, ".env in the working directory");
    // Judged by the checks above; its text as it stands, to keep every line.
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof EnvFileError) throw error;
    if (error instanceof SettingsFileError) throw new EnvFileError(`${error.message} Then reload this page.`);
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw new EnvFileError(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    throw new EnvFileError(
      `cannot write to ${dirname(path)}, where ${basename(path)} goes. Make it writable for the user jit-access runs as and reload this page.`,
    );
  }
  return text;
}

/** Writes `text` to `path` with mode 0600: a new file beside it, flushed, then renamed over it. */
export function writeEnvFileAtomically(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      const data = Buffer.from(text, "utf8");
      for (let written = 0; written < data.length;) written += writeSync(fd, data, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // already renamed or never written
    }
    throw new EnvFileError(`could not write ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  try {
    const dir = openSync(dirname(path), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems cannot flush a directory; the rename itself is done.
  }
}
