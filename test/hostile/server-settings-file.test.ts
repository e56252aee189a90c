/**
 * The server reads `.env` from its own working directory at start, as Probot does, says which
 * file in its start-up line, and refuses one that is not the operator's alone. The app runs as
 * a real process (`node dist/main.js`, working directory = its data directory).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { CATALOG, HOSTILE_WORLD_START_MS } from "./helpers/hostile-world.js";

let sim: GitHubSimulator | undefined;
let app: AppProcess | undefined;
let dataDir: string;

beforeAll(async () => {
  await ensureAppBuilt();
}, HOSTILE_WORLD_START_MS);

afterEach(async () => {
  await app?.stop("SIGTERM");
  await sim?.close();
  app = undefined;
  sim = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function startWith(dotEnv: string | null, mode = 0o600): Promise<AppProcess> {
  dataDir = mkdtempSync(join(tmpdir(), "jit-access-dotenv-"));
  if (dotEnv !== null) {
    writeFileSync(join(dataDir, ".env"), dotEnv);
    chmodSync(join(dataDir, ".env"), mode);
  }
  sim = await startSimulator({ port: 0 });
  app = await startAppProcess(sim, { catalog: CATALOG, dataDir, env: { PROD_DB_URL: "x" } });
  return app;
}

/** The start-up line, once the process has written it (its log reaches stdout a moment after /ping answers). */
async function readyLine(started: AppProcess): Promise<Record<string, unknown>> {
  const found = await sim!.waitFor(
    () =>
      started
        .output()
        .split("\n")
        .find((line) => line.includes("jit-access ready")) ?? null,
    {
      timeoutMs: 10_000,
      description: "the start-up line",
    },
  );
  return JSON.parse(found) as Record<string, unknown>;
}

async function status(url: string): Promise<number> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  await response.arrayBuffer();
  return response.status;
}

describe("the server's .env", () => {
  it("is read from the working directory, for variables the environment does not set, and named in the start-up line", async () => {
    const started = await startWith("WEBHOOK_PATH=/hooks/from-dotenv\nLOG_LEVEL=silent\n");
    const ready = await readyLine(started);
    expect(ready).toMatchObject({
      envFile: join(dataDir, ".env"),
      msg: `jit-access ready; settings from the environment and ${join(dataDir, ".env")}`,
    });
    // WEBHOOK_PATH came from the file (LOG_LEVEL did not: the environment sets it).
    expect(await status(`${started.url}/hooks/from-dotenv`)).toBe(400);
    expect(await status(`${started.url}/api/github/webhooks`)).toBe(404);
  }, 60_000);

  it("when there is none, the start-up line says so", async () => {
    const started = await startWith(null);
    expect(await readyLine(started)).toMatchObject({
      envFile: join(dataDir, ".env"),
      msg: `jit-access ready; settings from the environment (no ${join(dataDir, ".env")})`,
    });
  }, 60_000);

  it("is refused when every user can write to it: the app does not start, and says which file and how to fix it", async () => {
    const error = await startWith("GHE_HOST=evil.example\n", 0o666).then(
      () => null,
      (failure: Error) => failure,
    );
    const path = join(dataDir, ".env");
    expect(error?.message).toContain(
      `refusing settings file ${path} (.env in the working directory): every user on this machine can write to it (mode 0666), so anyone could change the app's settings. Fix: chmod o-w ${path}`,
    );
    expect(error?.message).not.toContain("jit-access ready");
  }, 60_000);
});

describe("the server's catalog file", () => {
  it("is refused when every user can write to it: the server grants nothing from it, starts revoke-only, and logs the refusal", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "jit-access-catalog-"));
    const catalog = join(dataDir, "planted-catalog.yml");
    writeFileSync(catalog, CATALOG);
    chmodSync(catalog, 0o646);
    sim = await startSimulator({ port: 0 });
    app = await startAppProcess(sim, { catalog: CATALOG, dataDir, env: { PROD_DB_URL: "x", JIT_CATALOG: catalog } });

    const started = await sim.waitFor(
      () =>
        app!
          .output()
          .split("\n")
          .find((line) => line.includes("the catalog failed to load: starting revoke-only")) ?? null,
      {
        timeoutMs: 10_000,
        description: "the revoke-only line",
      },
    );
    expect(JSON.parse(started)).toMatchObject({
      level: 50,
      catalogError: `refusing settings file ${catalog} (JIT_CATALOG): every user on this machine can write to it (mode 0646), so anyone could change the app's settings. Fix: chmod o-w ${catalog}`,
    });
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
  }, 60_000);
});
