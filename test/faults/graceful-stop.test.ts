/**
 * The stop sequence of the real process (`node dist/main.js`, src/app/shutdown.ts): on SIGTERM it takes
 * no new work — `/readyz` red, new deliveries refused — while the revocation under way runs to
 * the end and the probes still answer; then it closes and exits 0. A second SIGTERM exits at once.
 * A simulator fault holds the revocation's DELETE until the test lets it go.
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

const SECRET_AT = /\/environments\/production\/secrets\/PROD_DB_URL$/;

let sim: GitHubSimulator | undefined;
let app: AppProcess | undefined;
let release: () => void = () => undefined;
beforeAll(() => ensureAppBuilt(), 180_000);
afterEach(async () => {
  release();
  await app?.stop("SIGKILL");
  await sim?.close();
  if (app) rmSync(app.dataDir, { recursive: true, force: true });
  sim = app = undefined;
});

async function ledger(): Promise<Grant[]> {
  const store = await openLedger(app!.databaseUrl, { readonly: true });
  try {
    return await store.listGrants({ liveOnly: false });
  } finally {
    await store.close();
  }
}

/** A live grant whose pull request is closed; the revocation's DELETE is held when this resolves. */
async function revocationHeld(): Promise<{ pr: number }> {
  sim = await startSimulator();
  createRequestRepo(sim, "acme/api");
  app = await startAppProcess(sim, { catalog: CATALOG, env: { PROD_DB_URL: VALUE }, sweepInterval: "1s" });
  const pr = await openRequest(sim, "acme/api", "2h");
  await approve(sim, "acme/api", pr);
  await sim.waitFor(async () => (await ledger()).some((g) => g.state === "active"), { timeoutMs: 15_000, description: "the grant" });
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = sim.faults.add({ method: "DELETE", path: SECRET_AT, until: released, times: 1 });
  void sim.closePullRequest("acme/api", pr, { merged: false }).catch(() => undefined);
  await sim.waitFor(() => sim!.faults.fired(held) === 1, { timeoutMs: 15_000, description: "the DELETE held" });
  return { pr };
}

async function exitedWithin(ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      app!.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("SIGTERM", () => {
  it("takes no new work, answers its probes while the revocation under way finishes, then exits 0", async () => {
    const { pr } = await revocationHeld();
    process.kill(app!.pid, "SIGTERM");

    const readiness = await sim!.waitFor(
      async () => {
        const response = await fetch(`${app!.url}/readyz`);
        return response.status === 503 ? ((await response.json()) as { reasons: { code: string }[] }) : null;
      },
      { timeoutMs: 10_000, description: "/readyz red" },
    );
    expect(readiness.reasons.map((r) => r.code)).toContain("shutting-down");
    expect((await fetch(`${app!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app!.url}/metrics`)).status).toBe(200);
    // A new delivery is refused (GitHub records it as failed, to be delivered again).
    const delivery = await fetch(`${app!.url}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "d-1" },
      body: "{}",
    });
    expect(delivery.status).toBe(503);
    expect(delivery.headers.get("retry-after")).toBe("30");
    expect(await exitedWithin(500)).toBe(false);

    release();
    expect(await app!.exited).toBe(0);
    expect(await ledger()).toEqual([expect.objectContaining({ state: "revoked" })]);
    expect(sim!.secretValue("acme/api", "production", "PROD_DB_URL")).toBeUndefined();
    expect(sim!.comments("acme/api", pr).some((c) => c.body.includes("PROD_DB_URL"))).toBe(true);
    const output = app!.output();
    expect(output).toContain("jit-access stopped (SIGTERM)");
    expect(output).not.toMatch(/ledger is closed|not handled|failed:/);
    expect(output).not.toContain(VALUE);
  }, 60_000);

  it("a second SIGTERM while stopping exits at once (143), leaving the grant live in the ledger for the next start", async () => {
    await revocationHeld();
    process.kill(app!.pid, "SIGTERM");
    await sim!.waitFor(async () => (await fetch(`${app!.url}/readyz`)).status === 503, { timeoutMs: 10_000, description: "/readyz red" });
    process.kill(app!.pid, "SIGTERM");
    expect(await exitedWithin(5_000)).toBe(true);
    expect(await app!.exited).toBe(143);
    expect(app!.output()).toContain("SIGTERM again while stopping");
    expect(app!.output()).not.toContain("jit-access stopped (SIGTERM)");
    // The DELETE never got its answer: the grant stays live and due, as after a crash.
    expect(await ledger()).toEqual([expect.objectContaining({ state: "active" })]);
  }, 60_000);
});
