/**
 * The app process is killed (SIGKILL) at the worst moments of a grant and of a sweep, then
 * started again on the same data directory. The app runs as operators run it — `node
 * dist/main.js` in its own process (sim/app-process.ts) on real time — because the fault is the
 * process dying. A simulator fault holds the app at the chosen point: a PUT or DELETE that is
 * never answered (`hang`), or one that takes effect and is never answered (`afterEffect`).
 *
 * After the restart: a grant whose write was cut off is completed while its approval stands, or
 * ended at once (its secret deleted, the PR told) when it no longer does; every grant ends at its
 * expiry (a short one here, so the test waits for it), no secret is left in an environment
 * without a live ledger row, and nothing is granted twice — not even when the approval is
 * delivered again to the new process.
 */
import { rmSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type FaultSpec, type GitHubSimulator } from "../../sim/index.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant } from "../../src/ledger/store.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { approve, countRoute, createRequestRepo, openRequest, SECRET_DELETE, SECRET_PUT } from "./helpers/request-prs.js";
import { CATALOG, VALUE } from "./helpers/sim-app.js";

const SWEEP_INTERVAL_MS = 1000;
/**
 * Short, so that the test can wait for the expiry in real time, yet long enough that a crash,
 * a restart and a redelivery fit before it on a loaded machine (6 s did not, under load).
 */
const DURATION = "12s";
/** How late a revocation may be after a restart: two sweeps, plus room for a busy machine. */
const LATENESS_MS = 2 * SWEEP_INTERVAL_MS + 4000;
const SECRET_AT = /\/environments\/production\/secrets\/PROD_DB_URL$/;

let sim: GitHubSimulator | undefined;
let app: AppProcess | undefined;
beforeAll(() => ensureAppBuilt(), 180_000);
afterEach(async () => {
  await app?.stop("SIGKILL");
  await sim?.close();
  if (app) rmSync(app.dataDir, { recursive: true, force: true });
  sim = app = undefined;
});

function start(dataDir?: string): Promise<AppProcess> {
  return startAppProcess(sim!, {
    catalog: CATALOG,
    env: { PROD_DB_URL: VALUE },
    sweepInterval: `${SWEEP_INTERVAL_MS / 1000}s`,
    logLevel: "trace",
    ...(dataDir ? { dataDir } : {}),
  });
}

/** The ledger as it is on disk, read the way an operator would (read-only, next to the app). */
async function ledger(): Promise<Grant[]> {
  const store = await openLedger(app!.databaseUrl, { readonly: true });
  try {
    return await store.listGrants({ liveOnly: false });
  } finally {
    await store.close();
  }
}

/** The actions of a grant's audit records, in order. */
async function auditActions(grantId: string): Promise<string[]> {
  const store = await openLedger(app!.databaseUrl, { readonly: true });
  try {
    return (await store.listAudit()).filter((a) => a.grantId === grantId).map((a) => a.action);
  } finally {
    await store.close();
  }
}

/** Kills the app and starts a new process on its data directory; returns when it answers. */
async function crashAndRestart(whileDown?: () => Promise<void>): Promise<number> {
  const { dataDir } = app!;
  expect(await app!.stop("SIGKILL")).toBeNull();
  await whileDown?.();
  app = await start(dataDir);
  return Date.now();
}

/** A secret present in an environment always has a live ledger row. */
async function expectNoSecretWithoutLiveRow(repos: string[]): Promise<void> {
  const live = (await ledger()).filter((g) => g.state === "granting" || g.state === "active");
  for (const repo of repos) {
    if (sim!.secretValue(repo, "production", "PROD_DB_URL") !== undefined) {
      expect(live.some((g) => `${g.owner}/${g.repo}` === repo)).toBe(true);
    }
  }
}

/** Waits until every grant has ended; checks each ended at its expiry, not before, not much after. */
async function expectAllEndedOnTime(restartedAt: number, count: number): Promise<Grant[]> {
  const latest = Math.max(...(await ledger()).map((g) => g.expiresAt.getTime()), restartedAt);
  await sim!.waitFor(async () => (await ledger()).every((g) => g.state === "expired"), {
    timeoutMs: Math.max(0, latest - Date.now()) + LATENESS_MS + 5000,
    intervalMs: 200,
    description: "every grant to end",
  });
  const grants = await ledger();
  expect(grants).toHaveLength(count);
  for (const grant of grants) {
    expect(grant.endReason).toBe("expired");
    expect(grant.endedAt!.getTime()).toBeGreaterThanOrEqual(grant.expiresAt.getTime());
    expect(grant.endedAt!.getTime()).toBeLessThanOrEqual(Math.max(grant.expiresAt.getTime(), restartedAt) + LATENESS_MS);
  }
  return grants;
}

function expectNoValueInOutput(): void {
  expect(app!.output()).not.toContain(VALUE);
}

describe("killed while a grant is being written", () => {
  const cases: { when: string; fault: FaultSpec; written: boolean }[] = [
    {
      when: "after the ledger row, before the PUT",
      fault: { method: "PUT", path: SECRET_AT, hang: true, times: 1 },
      written: false,
    },
    {
      when: "after the PUT took effect, before the row is marked active",
      fault: { method: "PUT", path: SECRET_AT, afterEffect: true, hang: true, times: 1 },
      written: true,
    },
  ];

  /** Opens a request, approves it, and holds the grant's PUT with `fault`; returns the write-ahead row. */
  async function heldGrant(fault: FaultSpec, written: boolean): Promise<{ pr: number; row: Grant; delivery: Promise<string> }> {
    sim = await startSimulator();
    createRequestRepo(sim, "acme/api", { installationId: 42 });
    app = await start();
    const pr = await openRequest(sim, "acme/api", DURATION);
    const held = sim.faults.add(fault);
    const delivery = approve(sim, "acme/api", pr).then(
      () => "answered",
      () => "connection lost",
    );
    await sim.waitFor(() => sim!.faults.fired(held) === 1, { timeoutMs: 15_000, description: "the held PUT" });

    // Write-ahead: the row (expiry fixed) exists before anything reaches GitHub.
    const [row] = await ledger();
    expect(row).toMatchObject({ state: "granting", grantedAt: null });
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe(written ? VALUE : undefined);
    await expectNoSecretWithoutLiveRow(["acme/api"]);
    return { pr, row: row!, delivery };
  }

  it.each(cases)(
    "$when: the new process completes the grant while its approval stands, once, and it ends at the expiry the ledger fixed first",
    async ({ fault, written }) => {
      const { pr, row, delivery } = await heldGrant(fault, written);

      const restartedAt = await crashAndRestart();
      // The delivery was recorded in the inbox and answered 202 before the grant started.
      expect(await delivery).toBe("answered");
      await expectNoSecretWithoutLiveRow(["acme/api"]);
      // Recorded before the new process started, so no live process can be writing it: resumed at its start.
      await sim!.waitFor(async () => (await auditActions(row.id)).includes("granted"), {
        timeoutMs: 10_000,
        intervalMs: 100,
        description: "the resumed grant",
      });
      expect(await auditActions(row.id)).toEqual(["granting", "resumed", "granted"]);
      await sim!.waitFor(() => sim!.comments("acme/api", pr).some((c) => c.body.startsWith("**Access granted.**")), {
        description: "the grant comment",
      });
      // The approval delivered again to the new process grants nothing twice.
      const again = await sim!.redeliver(sim!.deliveries.at(-1)!.id);
      expect(again.status).toBe(202);
      expect(await ledger()).toEqual([expect.objectContaining({ id: row.id })]);

      const [ended] = await expectAllEndedOnTime(restartedAt, 1);
      // The first PUT may have landed when the row was written: the expiry counts from the row.
      expect(ended!.expiresAt).toEqual(row.expiresAt);
      const expired = await sim!.waitFor(() => sim!.comments("acme/api", pr).find((c) => c.body.startsWith("**Access expired:**")), {
        description: "the expiry comment",
      });
      expect(expired.body).toContain("The secret has been deleted.");
      expect(sim!.secretValue("acme/api", "production", "PROD_DB_URL")).toBeUndefined();
      expect(countRoute(sim!, SECRET_PUT)).toBe(2);
      expect(countRoute(sim!, SECRET_DELETE)).toBe(1);
      expect(sim!.violations).toEqual([]);
      expectNoValueInOutput();
    },
    60_000,
  );

  it.each(cases)(
    "$when, and the PR is closed while no process runs: the new process ends the grant at once and tells the PR",
    async ({ fault, written }) => {
      const { pr, row, delivery } = await heldGrant(fault, written);

      await crashAndRestart(async () => {
        // The close is not delivered: no process was there to receive it.
        await sim!.closePullRequest("acme/api", pr, { merged: false, deliver: false });
      });
      expect(await delivery).toBe("answered");
      const comment = await sim!.waitFor(() => sim!.comments("acme/api", pr).find((c) => c.body.startsWith("**Access revoked:**")), {
        timeoutMs: 10_000,
        description: "the comment saying the grant ended",
      });
      expect(comment.body).toContain("its write was interrupted, and its approval no longer stands on the same head and request set");
      expect(comment.body).toContain("the pull request is closed");
      expect(comment.body).toContain(written ? "The secret has been deleted." : "The secret was already gone from the environment.");
      const [ended] = await ledger();
      expect(ended).toMatchObject({ id: row.id, state: "revoked" });
      expect(ended!.endedAt!.getTime()).toBeLessThan(row.expiresAt.getTime());
      expect(await auditActions(row.id)).toEqual(["granting", "revoked"]);
      expect(sim!.secretValue("acme/api", "production", "PROD_DB_URL")).toBeUndefined();
      expect(countRoute(sim!, SECRET_PUT)).toBe(1);
      expect(countRoute(sim!, SECRET_DELETE)).toBe(1);
      expect(sim!.violations).toEqual([]);
      expectNoValueInOutput();
    },
    60_000,
  );
});

describe("killed during a sweep", () => {
  it("with one DELETE unanswered and another answered but lost: after the restart every grant ends and no secret is left", async () => {
    sim = await startSimulator();
    const repos = ["acme/api", "acme/web", "acme/jobs"];
    repos.forEach((repo, i) => createRequestRepo(sim!, repo, { installationId: 100 + i }));
    app = await start();
    const prs = await Promise.all(repos.map((repo) => openRequest(sim!, repo, DURATION)));
    await Promise.all(repos.map((repo, i) => approve(sim!, repo, prs[i]!)));
    await sim.waitFor(async () => (await ledger()).filter((g) => g.state === "active").length === 3, {
      timeoutMs: 15_000,
      description: "three grants",
    });

    const unanswered = sim.faults.add({
      method: "DELETE",
      path: /^\/repos\/acme\/api\/environments\/production\/secrets\/PROD_DB_URL$/,
      hang: true,
      times: 1,
    });
    const lost = sim.faults.add({
      method: "DELETE",
      path: /^\/repos\/acme\/web\/environments\/production\/secrets\/PROD_DB_URL$/,
      afterEffect: true,
      hang: true,
      times: 1,
    });
    await sim.waitFor(() => sim!.faults.fired(unanswered) === 1 && sim!.faults.fired(lost) === 1, {
      timeoutMs: 20_000,
      description: "both DELETEs held",
    });
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe(VALUE);
    expect(sim.secretValue("acme/web", "production", "PROD_DB_URL")).toBeUndefined();
    await expectNoSecretWithoutLiveRow(repos);

    const restartedAt = await crashAndRestart();
    await expectAllEndedOnTime(restartedAt, 3);
    for (const repo of repos) expect(sim.secretValue(repo, "production", "PROD_DB_URL")).toBeUndefined();
    expect(countRoute(sim, SECRET_PUT)).toBe(3);
    // acme/api: held, then deleted; acme/web: deleted by the held request, then 404 (gone); acme/jobs: once.
    expect(
      sim.requests
        .filter((r) => r.route === SECRET_DELETE)
        .map((r) => `${r.path.split("/")[3]} ${r.status}`)
        .sort(),
    ).toEqual(expect.arrayContaining(["api 204", "web 404", "jobs 204"]));
    expect(sim.violations).toEqual([]);
    expectNoValueInOutput();
  }, 60_000);
});

describe("stopped (SIGTERM) while a revocation is under way", () => {
  it("the process finishes the revocation, tells the PR, closes the ledger after it and exits 0", async () => {
    sim = await startSimulator();
    createRequestRepo(sim, "acme/api");
    app = await start();
    const pr = await openRequest(sim, "acme/api", DURATION);
    await approve(sim, "acme/api", pr);
    await sim.waitFor(async () => (await ledger()).some((g) => g.state === "active"), { timeoutMs: 15_000, description: "the grant" });

    // The expiry's DELETE is answered late: the stop signal arrives while it is held.
    const slow = sim.faults.add({ method: "DELETE", path: SECRET_AT, delayMs: 2000, times: 1 });
    await sim.waitFor(() => sim!.faults.fired(slow) === 1, { timeoutMs: 20_000, description: "the DELETE held" });
    expect(await app.stop("SIGTERM")).toBe(0);

    const [grant] = await ledger();
    expect(grant).toMatchObject({ state: "expired", endReason: "expired" });
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBeUndefined();
    expect(sim.comments("acme/api", pr).some((c) => c.body.startsWith("**Access expired:**"))).toBe(true);
    expect(countRoute(sim, SECRET_DELETE)).toBe(1);
    const output = app.output();
    expect(output).toContain("jit-access stopped (SIGTERM)");
    expect(output).not.toMatch(/connection is not open|ledger is closed|not handled|failed:/);
    expectNoValueInOutput();
  }, 60_000);
});
