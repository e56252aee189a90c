import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SecretSource } from "../../src/policy/catalog.js";
import {
  MAX_SECRET_VALUE_BYTES,
  SecretSourceError,
  readAtMost,
  readSecretValue,
  readSecretValueSettled,
  withReadDeadline,
} from "../../src/grant/read-secret-value.js";

/** Resolves to the error readSecretValue rejects with; fails the test if it resolves. */
async function rejection(source: SecretSource, env: NodeJS.ProcessEnv = {}): Promise<SecretSourceError> {
  const error = await readSecretValue(source, env).then(
    () => {
      throw new Error("expected readSecretValue to reject");
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SecretSourceError);
  return error as SecretSourceError;
}

describe("readSecretValue from an environment variable", () => {
  it("returns the variable's value unchanged", async () => {
    const value = "postgres://app:pw@db/prod\n";
    expect(await readSecretValue({ kind: "env", variable: "PROD_DB_URL" }, { PROD_DB_URL: value })).toBe(value);
  });

  it("reads process.env by default", async () => {
    process.env.JIT_TEST_READ_SECRET_VALUE = "from-process-env";
    try {
      expect(await readSecretValue({ kind: "env", variable: "JIT_TEST_READ_SECRET_VALUE" })).toBe("from-process-env");
    } finally {
      delete process.env.JIT_TEST_READ_SECRET_VALUE;
    }
  });

  it.each([
    ["missing", {}, "environment variable PROD_DB_URL is not set in the app's environment"],
    ["empty", { PROD_DB_URL: "" }, "environment variable PROD_DB_URL is empty in the app's environment"],
  ])("rejects a %s variable", async (_, env, message) => {
    const error = await rejection({ kind: "env", variable: "PROD_DB_URL" }, env);
    expect(error.message).toBe(message);
    expect(error.source).toEqual({ kind: "env", variable: "PROD_DB_URL" });
  });

  it("accepts exactly 48 KiB and rejects one byte more, giving only the length", async () => {
    const source: SecretSource = { kind: "env", variable: "BIG" };
    const limit = "s".repeat(MAX_SECRET_VALUE_BYTES);
    expect(await readSecretValue(source, { BIG: limit })).toBe(limit);
    const error = await rejection(source, { BIG: `${limit}S` });
    expect(error.message).toBe(
      `the value from environment variable BIG is ${MAX_SECRET_VALUE_BYTES + 1} bytes; GitHub accepts at most 49152 bytes (48 KB) per secret`,
    );
  });

  it("counts the limit in UTF-8 bytes, not characters", async () => {
    const value = "é".repeat(MAX_SECRET_VALUE_BYTES / 2 + 1); // 2 bytes each
    const error = await rejection({ kind: "env", variable: "WIDE" }, { WIDE: value });
    expect(error.message).toContain(`is ${MAX_SECRET_VALUE_BYTES + 2} bytes`);
    expect(error.message).not.toContain("é");
  });
});

describe("readSecretValue from a file", () => {
  let dir: string;
  const file = (name: string): SecretSource => ({ kind: "file", path: join(dir, name) });
  const path = (name: string): string => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "jit-read-secret-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["no trailing newline", "value", "value"],
    ["one trailing \\n", "value\n", "value"],
    ["one trailing \\r\\n", "value\r\n", "value"],
    ["two trailing newlines (only one is stripped)", "value\n\n", "value\n"],
    ["inner newlines", "line1\nline2\n", "line1\nline2"],
    ["leading and trailing spaces (kept)", "  value  \n", "  value  "],
    ["unicode", "秘密 🔐 e\u0301\n", "秘密 🔐 e\u0301"],
    ["a trailing \\r alone (kept)", "value\r", "value\r"],
  ])("reads a file with %s", async (name, content, expected) => {
    const fileName = `case-${name.replace(/\W+/g, "-")}`;
    await writeFile(path(fileName), content, "utf8");
    expect(await readSecretValue(file(fileName))).toBe(expected);
  });

  it("rejects a missing file with the error code and the path", async () => {
    const error = await rejection(file("does-not-exist"));
    expect(error.message).toBe(`file ${path("does-not-exist")} cannot be read: ENOENT`);
  });

  it("rejects a directory", async () => {
    await mkdir(path("a-directory"));
    const error = await rejection(file("a-directory"));
    expect(error.message).toBe(
      `file ${path("a-directory")} is not a regular file (it is a directory); point the source at a file that holds the value`,
    );
  });

  it.each([
    ["empty", ""],
    ["only a newline", "\n"],
    ["only \\r\\n", "\r\n"],
  ])("rejects a file that is %s", async (name, content) => {
    const fileName = `empty-${name.replace(/\W+/g, "-")}`;
    await writeFile(path(fileName), content);
    const error = await rejection(file(fileName));
    expect(error.message).toBe(`file ${path(fileName)} is empty`);
  });

  it("rejects a file that is not UTF-8 text, without its content", async () => {
    await writeFile(path("binary"), Buffer.from([0x73, 0x65, 0x63, 0xff, 0xfe, 0x72]));
    const error = await rejection(file("binary"));
    expect(error.message).toBe(`file ${path("binary")} is not valid UTF-8 text`);
  });

  it("accepts 48 KiB plus a trailing newline", async () => {
    const value = "f".repeat(MAX_SECRET_VALUE_BYTES);
    await writeFile(path("limit"), `${value}\r\n`);
    expect(await readSecretValue(file("limit"))).toBe(value);
  });

  it.each([
    ["one byte over, with a newline", `${"f".repeat(MAX_SECRET_VALUE_BYTES)}F\n`, MAX_SECRET_VALUE_BYTES + 1],
    ["far over (refused before reading)", "f".repeat(MAX_SECRET_VALUE_BYTES * 3), MAX_SECRET_VALUE_BYTES * 3],
  ])("rejects a value %s, giving only the length", async (name, content, bytes) => {
    const fileName = `big-${name.replace(/\W+/g, "-")}`;
    await writeFile(path(fileName), content);
    const error = await rejection(file(fileName));
    expect(error.message).toMatch(new RegExp(`is ${bytes} bytes; GitHub accepts at most 49152 bytes \\(48 KB\\) per secret$`));
    expect(error.message).not.toContain("fff");
  });

  it("rejects a path that cannot be opened (a file used as a directory)", async () => {
    await writeFile(path("plain-file"), "value");
    const error = await rejection(file("plain-file/child"));
    expect(error.message).toBe(`file ${path("plain-file/child")} cannot be read: ENOTDIR`);
  });

  it("never puts the file's content in an error", async () => {
    const content = "TOP-SECRET-CONTENT";
    await writeFile(path("not-utf8-secret"), Buffer.concat([Buffer.from(content), Buffer.from([0xc3, 0x28])]));
    const error = await rejection(file("not-utf8-secret"));
    expect(`${error.message} ${String(error.cause)}`).not.toContain(content);
  });
});

describe("readSecretValue reads only what a secret's source should hold", () => {
  let dir: string;
  const path = (name: string): string => join(dir, name);
  const file = (name: string): SecretSource => ({ kind: "file", path: path(name) });
  const outside = (_root: string) => "; a secret's file must be a regular file outside /proc, /dev, /sys";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "jit-hostile-source-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses /dev/zero, which never ends", async () => {
    const error = await rejection({ kind: "file", path: "/dev/zero" });
    expect(error.message).toBe(`file /dev/zero is under /dev${outside("/dev")}`);
  });

  it("refuses /proc/self/environ, which holds the app's own credentials", async () => {
    const error = await rejection({ kind: "file", path: "/proc/self/environ" });
    expect(error.message).toMatch(/^file \/proc\/self\/environ is under \/proc \(it resolves to \/proc\/\d+\/environ\); /u);
  });

  it("refuses a symlink to /proc/self/environ, naming where it leads", async () => {
    await symlink("/proc/self/environ", path("innocent-looking"));
    const error = await rejection(file("innocent-looking"));
    expect(error.message).toMatch(
      new RegExp(`^file ${path("innocent-looking")} is under /proc \\(it resolves to /proc/\\d+/environ\\); `, "u"),
    );
  });

  it("refuses a chain of symlinks that ends in /dev", async () => {
    await symlink("/dev/urandom", path("hop-2"));
    await symlink(path("hop-2"), path("hop-1"));
    const error = await rejection(file("hop-1"));
    expect(error.message).toBe(`file ${path("hop-1")} is under /dev (it resolves to /dev/urandom)${outside("/dev")}`);
  });

  it.each(
    [
      ["/sys/kernel", "/sys"],
      ["/proc", "/proc"],
      ["/dev", "/dev"],
    ].filter(([path]) => existsSync(path as string)),
  )("refuses %s", async (path, root) => {
    const error = await rejection({ kind: "file", path });
    expect(error.message).toBe(`file ${path} is under ${root}${outside(root)}`);
  });

  it("follows symlinks to a regular file, as Kubernetes mounts secrets (..data/…)", async () => {
    await mkdir(path("..2026_01_01"));
    await writeFile(path("..2026_01_01/db-url"), "postgres://db/prod\n");
    await symlink(path("..2026_01_01"), path("..data"));
    await symlink(path("..data/db-url"), path("db-url"));
    expect(await readSecretValue(file("db-url"))).toBe("postgres://db/prod");
  });

  it("refuses a FIFO at once instead of waiting for a writer", async () => {
    const made = spawnSync("mkfifo", [path("fifo")]);
    expect(made.status).toBe(0);
    const error = await rejection(file("fifo"));
    expect(error.message).toBe(
      `file ${path("fifo")} is not a regular file (it is a FIFO); point the source at a file that holds the value`,
    );
  });

  it("refuses a file larger than a secret, naming only its size", async () => {
    await writeFile(path("huge"), Buffer.alloc(10 * 1024 * 1024, 0x61));
    const error = await rejection(file("huge"));
    expect(error.message).toBe(`file ${path("huge")} is ${10 * 1024 * 1024} bytes; GitHub accepts at most 49152 bytes (48 KB) per secret`);
  });

  it("counts the bytes it reads, not the size the file system reports, and reads one byte over at most", async () => {
    // A handle like a /proc file: it claims nothing about its size and never ends.
    let offered = 0;
    const endless = {
      read: async (buffer: Buffer, offset: number, length: number) => {
        buffer.fill(0x61, offset, offset + length);
        offered += length;
        return { bytesRead: length };
      },
    };
    expect(await readAtMost(endless, 100)).toBeNull();
    expect(offered).toBe(101);
    const short = { read: async (_buffer: Buffer, _offset: number, _length: number) => ({ bytesRead: 0 }) };
    expect(await readAtMost(short, 100)).toEqual(Buffer.alloc(0));
  });

  it("stops waiting for a read that does not answer", async () => {
    const stuck = { read: () => new Promise<{ bytesRead: number }>(() => undefined) };
    const source: SecretSource = { kind: "file", path: "/mnt/stuck" };
    const outcome = await withReadDeadline(source, 20, (deadline) => readAtMost(stuck, 10, deadline)).then(
      () => "resolved",
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(SecretSourceError);
    expect((outcome as Error).message).toBe("reading file /mnt/stuck took over 20 ms; a secret's file must answer at once");
  });

  it("refuses a file that starts with a byte order mark", async () => {
    await writeFile(path("bom"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("value\n")]));
    const error = await rejection(file("bom"));
    expect(error.message).toBe(
      `the value from file ${path("bom")} starts with a byte order mark (U+FEFF), which would become part of the secret; save it without one`,
    );
  });

  it("refuses an env: value that starts with a byte order mark", async () => {
    const error = await rejection({ kind: "env", variable: "BOM" }, { BOM: "\uFEFFvalue" });
    expect(error.message).toBe(
      "the value from environment variable BOM starts with a byte order mark (U+FEFF), which would become part of the secret; save it without one",
    );
  });

  it("refuses an env: value that was not UTF-8 (Node.js decodes such bytes to U+FFFD)", async () => {
    const error = await rejection({ kind: "env", variable: "LATIN1" }, { LATIN1: "pass\uFFFDword" });
    expect(error.message).toBe(
      "environment variable LATIN1 is not valid UTF-8 text (Node.js shows such bytes as U+FFFD, which it holds); set it to UTF-8 text, or use a file: source",
    );
    expect(error.message).not.toContain("pass");
  });

  it("sees U+FFFD where the process environment held bytes that are not UTF-8", () => {
    const probe = spawnSync(
      "bash",
      [
        "-c",
        "LATIN1=$(printf 'caf\\351') exec \"$0\" -e 'process.stdout.write(String(process.env.LATIN1.includes(\"\\uFFFD\")))'",
        process.execPath,
      ],
      {
        encoding: "utf8",
      },
    );
    expect(probe.stdout).toBe("true");
  });

  it("hands a source problem back instead of throwing, for a read done before the lock", async () => {
    expect(await readSecretValueSettled({ kind: "env", variable: "X" }, { X: "v" })).toEqual({ ok: true, value: "v" });
    const read = await readSecretValueSettled({ kind: "file", path: "/dev/zero" });
    expect(read.ok).toBe(false);
    expect(read.ok ? null : read.error).toBeInstanceOf(SecretSourceError);
  });
});
