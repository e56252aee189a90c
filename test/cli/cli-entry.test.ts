import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { tempLedgerDir } from "../helpers/grant-fixture.js";

/** The `jit-access` entry point as a process: `.env` from the working directory, streams, exit status. */
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
/** tsx runs the TypeScript entry as is; named by URL because the process runs in another directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const run = promisify(execFile);

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
beforeEach(async () => {
  dir = await tempLedgerDir();
  await writeFile(dir.path(".env"), "DATABASE_URL=sqlite:./from-dotenv.db\nLOG_LEVEL=warn\n");
});
afterEach(async () => {
  await dir.remove();
});

async function jitAccess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", TSX, CLI, ...args], { cwd: dir.path("."), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the jit-access process", () => {
  it("reads .env from the working directory and writes results to stdout", async () => {
    const result = await jitAccess("grants", "--json");

    expect(result).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    expect(existsSync(dir.path("from-dotenv.db"))).toBe(true); // the ledger DATABASE_URL in .env names
  });

  it("exits with the command's status, errors on stderr only", async () => {
    const result = await jitAccess("sweep");

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("APP_ID is not set");
  });
});
