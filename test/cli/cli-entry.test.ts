import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { appPrivateKey } from "../helpers/cli-harness.js";
import { tempLedgerDir } from "../helpers/grant-fixture.js";

/**
 * The `jit-access` entry point as a process: settings from the environment and only from a file
 * the operator names, streams, exit status.
 */
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
/** tsx runs the TypeScript entry as is; named by URL because the process runs in another directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const run = promisify(execFile);

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
beforeEach(async () => {
  dir = await tempLedgerDir();
  await writeFile(dir.path(".env"), "DATABASE_URL=sqlite:./from-dotenv.db\nLOG_LEVEL=warn\n");
  chmodSync(dir.path(".env"), 0o600);
});
afterEach(async () => {
  await dir.remove();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function jitAccess(args: string[], extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Run> {
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...extraEnv };
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", TSX, ...nodeArgs, CLI, ...args], { cwd: dir.path("."), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the jit-access process", () => {
  it("does not read .env from the working directory", async () => {
    const result = await jitAccess(["grants", "--json"], { DATABASE_URL: "sqlite:./from-environment.db" });

    expect(result).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    expect(existsSync(dir.path("from-environment.db"))).toBe(true);
    expect(existsSync(dir.path("from-dotenv.db"))).toBe(false);
  });

  it.each([
    ["--env-file PATH before the command", ["--env-file", ".env", "grants", "--json"], {}],
    ["--env-file=PATH after the command", ["grants", "--json", "--env-file=.env"], {}],
    ["JIT_ENV_FILE", ["grants", "--json"], { JIT_ENV_FILE: ".env" }],
  ])("reads the settings file named by %s", async (_how, args, env) => {
    const result = await jitAccess(args, env);

    expect(result).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    expect(existsSync(dir.path("from-dotenv.db"))).toBe(true); // the ledger DATABASE_URL in the file names
  });

  it("lets the environment win over the settings file", async () => {
    const result = await jitAccess(["--env-file", ".env", "grants", "--json"], { DATABASE_URL: "sqlite:./from-environment.db" });

    expect(result.code).toBe(0);
    expect(existsSync(dir.path("from-environment.db"))).toBe(true);
    expect(existsSync(dir.path("from-dotenv.db"))).toBe(false);
  });

  it("refuses a world-writable settings file, naming it and the fix, and does nothing", async () => {
    chmodSync(dir.path(".env"), 0o666);
    const result = await jitAccess(["--env-file", ".env", "grants", "--json"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "jit-access: refusing settings file .env (--env-file): every user on this machine can write to it (mode 0666), so anyone could change the app's settings. Fix: chmod o-w .env\n",
    );
    expect(existsSync(dir.path("from-dotenv.db"))).toBe(false);
  });

  it("refuses a missing settings file named by JIT_ENV_FILE", async () => {
    const result = await jitAccess(["grants"], { JIT_ENV_FILE: "/nonexistent/jit.env" });

    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: "jit-access: settings file /nonexistent/jit.env (JIT_ENV_FILE) does not exist.\n",
    });
  });

  it("does not read JIT_CATALOG from a .env in the working directory; reads it from --env-file (the control)", async () => {
    // A broken catalog named only in the working directory's .env: a sweep must not see it.
    await writeFile(dir.path(".env"), "JIT_CATALOG=./broken-catalog.yml\n");
    chmodSync(dir.path(".env"), 0o600);
    await writeFile(dir.path("broken-catalog.yml"), "secrets: [not, a, map]\n");
    const env = { APP_ID: "1", PRIVATE_KEY: appPrivateKey(), DATABASE_URL: dir.url(), LOG_LEVEL: "warn" };

    const notRead = await jitAccess(["sweep"], env);
    expect(notRead).toEqual({ code: 0, stdout: "swept: 0 due, 0 ended, 0 still due\n", stderr: "" });

    const read = await jitAccess(["--env-file", ".env", "sweep"], env);
    expect(read.code).toBe(1);
    expect(read.stdout).toBe("swept: 0 due, 0 ended, 0 still due\n");
    expect(read.stderr).toContain(
      "jit-access sweep: the catalog (JIT_CATALOG) could not be loaded, so 0 deferred grants waiting for a retry were not retried",
    );
    expect(read.stderr).toContain("./broken-catalog.yml:1:");
  });

  it("reports a promise that failed with nothing awaiting it in one line, finishes the command, exits 1", async () => {
    const env = { APP_ID: "1", PRIVATE_KEY: appPrivateKey(), DATABASE_URL: dir.url(), LOG_LEVEL: "warn" };
    const strayRejection = new URL("../fixtures/process/stray-rejection-on-output.mjs", import.meta.url).href;

    const result = await jitAccess(["sweep"], env, ["--import", strayRejection]);

    // Node's default would end the process with the error's stack and no word from jit-access.
    expect(result).toEqual({
      code: 1,
      stdout: "swept: 0 due, 0 ended, 0 still due\n",
      stderr: "jit-access: an unexpected error was not handled: a stray failure nothing awaited\n",
    });
  });

  it("exits with the command's status, errors on stderr only", async () => {
    const result = await jitAccess(["sweep"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("APP_ID is not set");
  });
});

/**
 * An operator runs `jit-access reconcile` inside a checkout someone else controls, whose `.env`
 * points GHE_HOST at the attacker's listener. The App's JWT must not go there.
 */
describe("a .env in the working directory that sets GHE_HOST", () => {
  let listener: Server;
  let seen: IncomingHttpHeaders[];
  let connections: number;

  beforeEach(async () => {
    seen = [];
    connections = 0;
    listener = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(401, { "content-type": "application/json" }).end('{"message":"Bad credentials"}');
    });
    listener.on("connection", () => connections++);
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as AddressInfo).port;
    await writeFile(dir.path(".env"), `GHE_HOST=127.0.0.1:${port}\nGHE_PROTOCOL=http\n`);
    chmodSync(dir.path(".env"), 0o600);
    await writeFile(
      dir.path("catalog.yml"),
      'secrets:\n  PROD_DB_URL:\n    source: env:PROD_DB_URL\n    repositories: ["acme/api"]\n    environments: [production]\n    max_duration: 4h\n',
    );
    // Requests anywhere but loopback are answered 401 inside the CLI process (and say where they went).
    await writeFile(
      dir.path("block-network.mjs"),
      `const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (url.hostname !== "127.0.0.1") {
    process.stderr.write("test: blocked a request to " + url.host + "\\n");
    return new Response('{"message":"blocked by the test"}', { status: 401, headers: { "content-type": "application/json" } });
  }
  return realFetch(input, init);
};
`,
    );
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  const operatorEnv = (): Record<string, string> => ({
    APP_ID: "1",
    PRIVATE_KEY: appPrivateKey(),
    DATABASE_URL: dir.url(),
    JIT_CATALOG: dir.path("catalog.yml"),
    LOG_LEVEL: "warn",
  });
  const blockNetwork = (): string[] => ["--import", pathToFileURL(dir.path("block-network.mjs")).href];

  it("is not read: no connection reaches the listener; the CLI goes to api.github.com", async () => {
    const result = await jitAccess(["reconcile", "--dry-run"], operatorEnv(), blockNetwork());

    expect(connections).toBe(0);
    expect(result.stderr).toContain("test: blocked a request to api.github.com");
  });

  it("is read when named with --env-file (the control): the listener receives the App's JWT", async () => {
    await jitAccess(["reconcile", "--dry-run", "--env-file", ".env"], operatorEnv(), blockNetwork());

    expect(connections).toBeGreaterThan(0);
    expect(seen[0]?.authorization).toMatch(/^bearer ey/i);
  });
});
