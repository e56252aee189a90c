/**
 * The real process (`node dist/main.js`) when a promise fails with nothing awaiting it, as a bug
 * in a handler or a timer would leave one: it logs one line and keeps serving (src/main.ts's
 * `unhandledRejection` handler); Node's default would end it and drop the expiry timers and the
 * deliveries under way. The failure is made by a module loaded with `--import` (NODE_OPTIONS)
 * on SIGUSR2.
 */
import { rmSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant } from "../../src/ledger/store.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { approve, createRequestRepo, openRequest } from "./helpers/request-prs.js";
import { CATALOG, VALUE } from "./helpers/sim-app.js";

const STRAY_REJECTION = new URL("../fixtures/process/stray-rejection-on-signal.mjs", import.meta.url).href;
const LOGGED = "jit-access: an unexpected error was not handled: a stray failure nothing awaited";

let sim: GitHubSimulator | undefined;
let app: AppProcess | undefined;
beforeAll(() => ensureAppBuilt(), 180_000);
afterEach(async () => {
  await app?.stop("SIGKILL");
  await sim?.close();
  if (app) rmSync(app.dataDir, { recursive: true, force: true });
  sim = app = undefined;
});

async function grants(): Promise<Grant[]> {
  const store = await openLedger(app!.databaseUrl, { readonly: true });
  try {
    return await store.listGrants({ liveOnly: false });
  } finally {
    await store.close();
  }
}

describe("a promise that fails with nothing awaiting it, in the running server", () => {
  it("is logged in one line; the process keeps serving: probes answer, a request is granted, SIGTERM stops it cleanly", async () => {
    sim = await startSimulator();
    createRequestRepo(sim, "acme/api");
    app = await startAppProcess(sim, {
      catalog: CATALOG,
      env: { PROD_DB_URL: VALUE, NODE_OPTIONS: `--import=${STRAY_REJECTION}` },
    });

    let ended = false;
    void app.exited.then(() => (ended = true));
    process.kill(app.pid, "SIGUSR2");
    await sim.waitFor(() => ended || app!.output().includes(LOGGED), { timeoutMs: 15_000, description: "the stray failure logged" });
    expect(ended).toBe(false);
    expect(app.output()).toContain(LOGGED);

    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const pr = await openRequest(sim, "acme/api", "2h");
    await approve(sim, "acme/api", pr);
    await sim.waitFor(async () => (await grants()).some((grant) => grant.state === "active"), {
      timeoutMs: 15_000,
      description: "the grant written after the stray failure",
    });
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe(VALUE);

    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.output().split(LOGGED)).toHaveLength(2); // logged once
    expect(app.output()).not.toContain("Error: a stray failure"); // Node's own report, with the stack
  }, 90_000);
});
