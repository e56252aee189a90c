import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterEach, describe, expect, it } from "@jest/globals";
import { generateAppPrivateKey } from "../../sim/app-auth.js";
import {
  EnvFileError,
  planEnvFile,
  readEnvFileForUpdate,
  writeEnvFileAtomically,
  type Credentials,
} from "../../src/server/setup-env-file.js";

const PEM = generateAppPrivateKey();
const CREDENTIALS: Credentials = {
  APP_ID: "1234",
  PRIVATE_KEY: PEM,
  WEBHOOK_SECRET: "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4",
  GITHUB_CLIENT_ID: "Iv1.0123456789abcdef",
  GITHUB_CLIENT_SECRET: "abcdef0123456789abcdef0123456789abcdef01",
};

describe("planEnvFile", () => {
  it("adds all five to a missing file, as values a .env reader gets back exactly", () => {
    const plan = planEnvFile(null, CREDENTIALS);
    expect(plan).toMatchObject({
      added: ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"],
      replaced: [],
      unchanged: [],
      keptOthers: 0,
    });
    expect(parseEnv(plan.text)).toEqual(CREDENTIALS);
    // The key is one line: no PEM line can be mistaken for a setting.
    expect(plan.text.split("\n").filter((line) => line.startsWith("PRIVATE_KEY="))).toHaveLength(1);
  });

  it("keeps every other line as written, replaces a name where it stands, and says which", () => {
    const existing = [
      "# operator's notes",
      "JIT_CATALOG=/etc/jit/catalog.yml",
      'NOTE="a value',
      'over two lines"',
      "APP_ID=",
      "export GITHUB_CLIENT_ID=Iv1.old",
      "LOG_LEVEL=debug # inline comment",
      "GITHUB_CLIENT_ID=Iv1.older",
      "",
    ].join("\n");
    const plan = planEnvFile(existing, CREDENTIALS);
    expect(plan.added).toEqual(["PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET"]);
    expect(plan.replaced).toEqual(["APP_ID", "GITHUB_CLIENT_ID"]);
    expect(plan.keptOthers).toBe(3);
    const lines = plan.text.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "# operator's notes",
      "JIT_CATALOG=/etc/jit/catalog.yml",
      'NOTE="a value',
      'over two lines"',
      "APP_ID=1234",
      "GITHUB_CLIENT_ID=Iv1.0123456789abcdef",
      "LOG_LEVEL=debug # inline comment",
    ]);
    expect(plan.text).not.toContain("Iv1.old");
    const after = parseEnv(plan.text);
    expect(after).toEqual({ ...parseEnv(existing), ...CREDENTIALS });
  });

  it("reports values the file already holds as unchanged", () => {
    const first = planEnvFile("JIT_CATALOG=c.yml\n", CREDENTIALS);
    const again = planEnvFile(first.text, CREDENTIALS);
    expect(again).toMatchObject({
      added: [],
      replaced: [],
      unchanged: ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"],
      keptOthers: 1,
    });
    expect(again.text).toBe(first.text);
  });

  it("refuses a value a .env line cannot hold, and a file that would not read back as written", () => {
    expect(() => planEnvFile(null, { ...CREDENTIALS, WEBHOOK_SECRET: "a b#c" })).toThrow(EnvFileError);
    expect(() => planEnvFile(null, { ...CREDENTIALS, PRIVATE_KEY: 'x"\nEVIL=1' })).toThrow(/not a PEM text; nothing was written/);
    // An unterminated quote swallows what follows it: the credentials would not read back.
    expect(() => planEnvFile('BROKEN="never closed\n', CREDENTIALS)).toThrow(/would not read back as written/);
  });
});

describe("writing .env", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces the file with one of mode 0600 and leaves no temporary file", () => {
    dir = mkdtempSync(join(tmpdir(), "jit-env-"));
    const path = join(dir, ".env");
    writeFileSync(path, "LOG_LEVEL=info\n", { mode: 0o644 });
    const plan = planEnvFile(readEnvFileForUpdate(path), CREDENTIALS);
    writeEnvFileAtomically(path, plan.text);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe(plan.text);
    expect(readdirSync(dir)).toEqual([".env"]);
  });

  it("reads a missing file as none, and refuses a link, a file others can write, and a directory it cannot write", () => {
    dir = mkdtempSync(join(tmpdir(), "jit-env-"));
    const path = join(dir, ".env");
    expect(readEnvFileForUpdate(path)).toBeNull();
    writeFileSync(join(dir, "real.env"), "A=1\n", { mode: 0o600 });
    symlinkSync(join(dir, "real.env"), path);
    expect(() => readEnvFileForUpdate(path)).toThrow(/is a symbolic link/);
    rmSync(path);
    writeFileSync(path, "A=1\n");
    chmodSync(path, 0o666);
    expect(() => readEnvFileForUpdate(path)).toThrow(/every user on this machine can write to it/);
    chmodSync(path, 0o600);
    expect(readEnvFileForUpdate(path)).toBe("A=1\n");
    if (process.getuid?.() !== 0) {
      chmodSync(dir, 0o500);
      try {
        expect(() => readEnvFileForUpdate(path)).toThrow(/cannot write to/);
      } finally {
        chmodSync(dir, 0o700);
      }
    }
  });
});
