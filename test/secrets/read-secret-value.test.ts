import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SecretSource } from "../../src/policy/catalog.js";
import { MAX_SECRET_VALUE_BYTES, SecretSourceError, readSecretValue } from "../../src/secrets/read-secret-value.js";

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
    expect(error.message).toBe(`file ${path("a-directory")} cannot be read: EISDIR`);
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
