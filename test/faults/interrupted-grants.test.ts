/**
 * A grant whose first write was interrupted: its ledger row says `granting`, a PUT was sent, and
 * the process lost its answer's record (here: the ledger refused the `active` mark once, as when
 * the process dies right after the PUT). Nothing resumes such a grant but the pass over
 * interrupted grants (every sweep; at start, everything recorded before the start) or a fresh
 * approval: it is completed while its approval stands on the same head and request set, and
 * ended at once (its possible secret deleted, the PR told) when it no longer does.
 * The app runs in this process against the simulator, on a clock the test moves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { SecretLocks } from "../../src/ledger/secret-locks.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { INTERRUPTED_AFTER_MS, resumeInterruptedGrants, type ResumeResult } from "../../src/grant/resume-interrupted-grants.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { gatedLedger } from "../helpers/gated-ledger.js";
import { countRoute, SECRET_PUT } from "./helpers/request-prs.js";
import {
  allGrants,
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  expectNoValueLeaked,
  REPO,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";
import { VALUE } from "./helpers/sim-app.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A ledger file in a temp directory of the test's own (the stage does not close a ledger it was given). */
function ledgerUrl(): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-interrupted-"));
  dirs.push(dir);
  return `sqlite:${join(dir, "jit-access.db")}`;
}

/** A ledger whose first `markActive` fails, as if the process died between the PUT and recording it. */
function losingFirstActiveMark(inner: LedgerStore): LedgerStore {
  let failed = false;
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "markActive" && !failed) {
        return async () => {
          failed = true;
          throw new Error("the process died before recording the write");
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Stages a request whose approval's grant is interrupted after its PUT took effect. */
async function interruptedGrant(): Promise<{ stage: Stage; row: Grant; ledger: LedgerStore; url: string }> {
  const url = ledgerUrl();
  const ledger = await openLedger(url);
  const s = await stageRequest({ store: losingFirstActiveMark(ledger) });
  let answered = false;
  void approveRequest(s)
    .catch(() => undefined)
    .then(() => (answered = true));
  await s.app.runUntil(() => answered && secretValue(s.app) !== undefined, { maxMs: 60_000, what: "the interrupted write" });
  const row = (await theGrant(s.app))!;
  expect(row).toMatchObject({ state: "granting", nextAttemptAt: null, pendingEnd: null, secretWrite: "uncertain" });
  expect(secretValue(s.app)).toBe(VALUE);
  return { stage: s, row, ledger, url };
}

/** Runs one pass as a process started after the row was recorded would at its start, moving the clock while it runs. */
async function passAtStart(s: Stage, deps: LifecycleDeps = s.app.deps): Promise<ResumeResult> {
  let result: ResumeResult | null = null;
  const running = resumeInterruptedGrants(deps, s.app.log, { startedAt: s.app.clock.now() }).then((r) => (result = r));
  await s.app.runUntil(() => result !== null, { maxMs: 300_000, what: "the pass over interrupted grants" });
  await running;
  // Its comments and labels go out paced behind it.
  await s.app.runUntil(() => true, { maxMs: 1, what: "settling" });
  for (let i = 0; i < 10; i++) await s.app.clock.advance(1000, () => s.app.settle());
  return result!;
}

async function actions(ledger: LedgerStore, grantId: string): Promise<string[]> {
  return (await ledger.listAudit()).filter((a) => a.grantId === grantId).map((a) => a.action);
}

describe("an interrupted grant whose approval still stands", () => {
  it("is completed by the sweep once it is older than a write takes, and the PR gets the grant comment", async () => {
    const { stage: s, row, ledger } = await interruptedGrant();
    stage = s;
    const { app } = s;
    // Young: a live process may still be writing it, so the sweeps leave it alone.
    await app.clock.advance(60_000, () => app.settle());
    expect((await theGrant(app))!).toMatchObject({ state: "granting", nextAttemptAt: null });

    await app.runUntil(async () => (await theGrant(app))?.state === "active" && app.sim.labels(REPO, s.pr).includes("jit:granted"), {
      stepMs: 5000,
      maxMs: INTERRUPTED_AFTER_MS + 180_000,
      what: "the resumed grant",
    });
    const grant = (await theGrant(app))!;
    expect(grant.id).toBe(row.id);
    // The first PUT may have landed when the row was recorded: the expiry counts from then.
    expect(grant.expiresAt).toEqual(row.expiresAt);
    expect(grant.grantedAt).toEqual(row.createdAt);
    expect(secretValue(app)).toBe(VALUE);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(2);
    expect(await actions(ledger, row.id)).toEqual(["granting", "resumed", "granted"]);
    expect(commentBodies(s).filter((b) => b.startsWith("**Access granted.**"))).toHaveLength(1);
    expectNoValueLeaked(s);
    await ledger.close();
  }, 120_000);

  it("is completed by a fresh approval of the same head, which no longer does nothing", async () => {
    const { stage: s, row, ledger } = await interruptedGrant();
    stage = s;
    const { app } = s;
    await app.deliver(() => app.sim.submitReview(REPO, s.pr, { reviewer: "bob", state: "APPROVED" }));
    await app.runUntil(async () => (await theGrant(app))?.state === "active" && app.sim.labels(REPO, s.pr).includes("jit:granted"), {
      maxMs: 60_000,
      what: "the resumed grant",
    });
    expect((await theGrant(app))!.id).toBe(row.id);
    expect(await actions(ledger, row.id)).toEqual(["granting", "resumed", "granted"]);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(2);
    await ledger.close();
  }, 60_000);

  it("is resumed by one of two processes on the ledger, never by both", async () => {
    const { stage: s, row, ledger, url } = await interruptedGrant();
    stage = s;
    const { app } = s;
    const other = await openLedger(url);
    const depsA: LifecycleDeps = { ...app.deps, store: ledger, locks: new SecretLocks(ledger) };
    const depsB: LifecycleDeps = { ...app.deps, store: other, locks: new SecretLocks(other) };
    let results: ResumeResult[] | null = null;
    const startedAt = app.clock.now();
    const both = Promise.all([
      resumeInterruptedGrants(depsA, app.log, { startedAt, claimOwner: "replica-a" }),
      resumeInterruptedGrants(depsB, app.log, { startedAt, claimOwner: "replica-b" }),
    ]).then((r) => (results = r));
    await app.runUntil(() => results !== null, { maxMs: 300_000, what: "both passes" });
    await both;
    expect(results!.map((r) => r.found).sort()).toEqual([0, 1]);
    expect(results!.reduce((n, r) => n + r.completed, 0)).toBe(1);
    expect((await theGrant(app))!).toMatchObject({ id: row.id, state: "active" });
    expect(await actions(ledger, row.id)).toEqual(["granting", "resumed", "granted"]);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(2);
    await other.close();
    await ledger.close();
  }, 60_000);
});

describe("an interrupted grant whose approval no longer stands", () => {
  it("the PR was closed while no process ran: ended at once, its secret deleted, the PR told", async () => {
    const { stage: s, row, ledger } = await interruptedGrant();
    stage = s;
    const { app } = s;
    await app.sim.closePullRequest(REPO, s.pr, { merged: false, deliver: false });

    const result = await passAtStart(s);
    expect(result).toMatchObject({ found: 1, completed: 0, ended: 1, left: 0 });
    const grant = (await theGrant(app))!;
    expect(grant).toMatchObject({ state: "revoked" });
    expect(grant.endReason).toBe(
      "its write was interrupted, and its approval no longer stands on the same head and request set: the pull request is closed",
    );
    expect(secretValue(app)).toBeUndefined();
    expect(countRoute(app.sim, SECRET_PUT)).toBe(1);
    expect(await actions(ledger, row.id)).toEqual(["granting", "revoked"]);
    expect(commentBodies(s).find((b) => b.startsWith("**Access revoked:**"))).toContain("The secret has been deleted.");
    expectNoValueLeaked(s);
    await ledger.close();
  }, 60_000);

  it("the head moved while no process ran: ended at once, the new head waits for its approval", async () => {
    const { stage: s, row, ledger } = await interruptedGrant();
    stage = s;
    const { app } = s;
    await app.sim.pushToPullRequest(REPO, s.pr, { "notes.md": "more\n" }, { deliver: false });

    const result = await passAtStart(s);
    expect(result).toMatchObject({ found: 1, ended: 1 });
    const grants = await allGrants(app);
    expect(grants).toEqual([expect.objectContaining({ id: row.id, state: "revoked" })]);
    expect(grants[0]!.endReason).toContain("the approvals it needs are missing or were withdrawn");
    expect(secretValue(app)).toBeUndefined();
    expect(commentBodies(s).some((b) => b.startsWith("**Access revoked:**") && b.includes("its write was interrupted"))).toBe(true);
    await ledger.close();
  }, 60_000);
});

describe("a grant being written right now", () => {
  it("is left alone: the pass waits for its writer's lock and finds it written", async () => {
    const url = ledgerUrl();
    const inner = await openLedger(url);
    const gated = gatedLedger(inner);
    stage = await stageRequest({ store: gated.store });
    const { app } = stage;
    // The writer stops right before it records the write: live, holding the secret's lock.
    const held = gated.hold("markActive", 1);
    const approval = approveRequest(stage);
    let reached = false;
    void held.reached.then(() => (reached = true));
    await app.runUntil(() => reached, { maxMs: 60_000, what: "the write held before its record", ignore: () => true });
    const row = (await theGrant(app))!;
    expect(row).toMatchObject({ state: "granting", nextAttemptAt: null, secretWrite: "uncertain" });

    // A young row is not even claimed.
    expect(await resumeInterruptedGrants(app.deps, app.log)).toMatchObject({ found: 0 });
    // One recorded before this "process" started is, and the pass waits for the writer.
    let result: ResumeResult | null = null;
    const pass = resumeInterruptedGrants(app.deps, app.log, { startedAt: app.clock.now() + 1 }).then((r) => (result = r));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(result).toBeNull();
    held.release();
    let answered = false;
    void approval.then(() => (answered = true));
    await app.runUntil(() => result !== null && answered && app.sim.labels(REPO, stage!.pr).includes("jit:granted"), {
      maxMs: 60_000,
      what: "the pass and the grant",
    });
    await pass;
    expect(result).toMatchObject({ found: 1, completed: 0, ended: 0 });
    expect((await theGrant(app))!).toMatchObject({ id: row.id, state: "active" });
    expect(await actions(inner, row.id)).toEqual(["granting", "granted"]);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(1);
    await inner.close();
  }, 60_000);
});
