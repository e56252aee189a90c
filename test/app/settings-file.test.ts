/**
 * Settings files (a `.env`, the catalog, the App's key) are read only when nobody but the
 * operator can have written them; everything else is refused with the file and the fix named.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { checkSettingsFile, fillUnset, MAX_ENV_FILE_BYTES, readEnvFile, SettingsFileError } from "../../src/app/settings-file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "jit-settings-file-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function envFile(text: string, mode = 0o600): string {
  const path = join(dir, "env");
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

/** The error `work` throws; fails the test when it throws none or another kind. */
function refusal(work: () => unknown): SettingsFileError {
  try {
    work();
  } catch (error) {
    if (error instanceof SettingsFileError) return error;
    throw error;
  }
  throw new Error("expected a SettingsFileError");
}

/**
 * A file owned by a user other than the one the check is made for, and that user: as root,
 * the file is given to uid 4242 and checked for root's own uid; otherwise the file is the
 * test's and is checked for a uid that is not the test's (nor root).
 */
function fileOfAnotherUser(): { path: string; uid: number | undefined } {
  const path = envFile("APP_ID=1\n");
  if (process.getuid?.() === 0) {
    chownSync(path, 4242, 4242);
    return { path, uid: undefined };
  }
  return { path, uid: (process.getuid?.() ?? 1000) + 1 };
}

describe("readEnvFile", () => {
  it("reads KEY=value lines as Node's --env-file does: comments, quotes, export-less", () => {
    const path = envFile('# settings\nAPP_ID=12\nDATABASE_URL="sqlite:/var/lib/jit/ledger.db"\nEMPTY=\nSPACED = value with spaces \n');
    expect(readEnvFile(path, "--env-file")).toEqual({
      APP_ID: "12",
      DATABASE_URL: "sqlite:/var/lib/jit/ledger.db",
      EMPTY: "",
      SPACED: "value with spaces",
    });
  });

  it("refuses a file every user can write, naming it and the chmod that fixes it", () => {
    const path = envFile("GHE_HOST=evil.example\n", 0o666);
    const error = refusal(() => readEnvFile(path, "--env-file"));
    expect(error.message).toBe(
      `refusing settings file ${path} (--env-file): every user on this machine can write to it (mode 0666), so anyone could change the app's settings. Fix: chmod o-w ${path}`,
    );
    expect(error.reason).toBe("unsafe");
  });

  it("refuses a file of another user, naming it, the owner and the chown that fixes it", () => {
    const { path, uid } = fileOfAnotherUser();
    const error = refusal(() => readEnvFile(path, "JIT_ENV_FILE", uid === undefined ? {} : { uid }));
    expect(error.message).toMatch(
      new RegExp(
        `^refusing settings file ${path} \\(JIT_ENV_FILE\\): it belongs to uid \\d+, not to the user jit-access runs as \\(.*uid \\d+\\) nor to root`,
      ),
    );
    expect(error.message).toMatch(new RegExp(`Fix: chown \\S+ ${path} \\(or run jit-access as the file's owner\\)$`));
  });

  it("accepts a file of root, and a group-readable file of the user's own", () => {
    // /etc/passwd is root's and world-readable on every Linux system.
    expect(() => checkSettingsFile("/etc/passwd", "JIT_CATALOG", { uid: 4242 })).not.toThrow();
    expect(readEnvFile(envFile("A=1\n", 0o640), ".env")).toEqual({ A: "1" });
  });

  it("follows a symlink and judges the file it points to (a mounted ConfigMap is a link)", () => {
    const target = envFile("A=1\n");
    const link = join(dir, "link");
    symlinkSync(target, link);
    expect(readEnvFile(link, "--env-file")).toEqual({ A: "1" });
    chmodSync(target, 0o666);
    expect(refusal(() => readEnvFile(link, "--env-file")).message).toContain("every user on this machine can write to it");
  });

  it("refuses a FIFO at once instead of waiting for a writer", () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    expect(refusal(() => readEnvFile(fifo, "--env-file")).message).toBe(`settings file ${fifo} (--env-file) is not a regular file.`);
  });

  it("refuses a directory, a missing file, and a file too big to be settings", () => {
    expect(refusal(() => readEnvFile(dir, "--env-file")).message).toBe(`settings file ${dir} (--env-file) is not a regular file.`);
    const missing = refusal(() => readEnvFile(join(dir, "nope"), "--env-file"));
    expect(missing.message).toBe(`settings file ${join(dir, "nope")} (--env-file) does not exist.`);
    expect(missing.reason).toBe("missing");
    const big = envFile(`A=${"x".repeat(MAX_ENV_FILE_BYTES)}\n`);
    expect(refusal(() => readEnvFile(big, "--env-file")).message).toMatch(/is \d+ bytes; a settings file is at most 262144\.$/);
  });
});

describe("checkSettingsFile", () => {
  it("refuses a world-writable catalog", () => {
    const path = envFile("secrets: {}\n", 0o646);
    expect(refusal(() => checkSettingsFile(path, "JIT_CATALOG")).message).toBe(
      `refusing settings file ${path} (JIT_CATALOG): every user on this machine can write to it (mode 0646), so anyone could change the app's settings. Fix: chmod o-w ${path}`,
    );
  });

  it("with ifPresent, leaves a missing file or a directory to the caller's loader", () => {
    expect(() => checkSettingsFile(join(dir, "nope"), "JIT_CATALOG", { ifPresent: true })).not.toThrow();
    expect(() => checkSettingsFile(dir, "JIT_CATALOG", { ifPresent: true })).not.toThrow();
    expect(refusal(() => checkSettingsFile(join(dir, "nope"), "JIT_CATALOG")).reason).toBe("missing");
  });
});

describe("fillUnset", () => {
  it("fills in only what the environment does not set: the environment wins", () => {
    const env: NodeJS.ProcessEnv = { GHE_HOST: "ghe.internal", EMPTY: "" };
    expect(fillUnset(env, { GHE_HOST: "evil.example", APP_ID: "7", EMPTY: "x" })).toEqual(["APP_ID"]);
    expect(env).toEqual({ GHE_HOST: "ghe.internal", APP_ID: "7", EMPTY: "" });
  });
});
