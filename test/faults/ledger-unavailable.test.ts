/**
 * The ledger cannot be written (read-only database, full disk): the app must refuse to grant
 * (the ledger is written before GitHub, so nothing may reach GitHub), say so on the PR, and log
 * the error. SQLite itself refuses the writes (helpers/unavailable-ledger.ts); the app runs in
 * this process against the simulator.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { approve, countRoute, SECRET_PUT } from "./helpers/request-prs.js";
import {
  approveRequest,
  commentBodies,
  expectNoValueLeaked,
  latestCheck,
  REPO,
  runUntilGranted,
  secretValue,
  stageRequest,
  type Stage,
} from "./helpers/scenario.js";
import { openFullLedger, openReadOnlyLedger } from "./helpers/unavailable-ledger.js";

let stage: Stage | undefined;
let store: LedgerStore | undefined;
let dir: string | undefined;
afterEach(async () => {
  expect(stage?.app.sim.violations ?? []).toEqual([]);
  await stage?.app.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  stage = store = dir = undefined;
});

const cases = [
  { what: "read-only", open: openReadOnlyLedger, sqlite: /attempt to write a readonly database/, hint: "the database is read-only" },
  {
    what: "on a full disk",
    open: async (path: string) => openFullLedger(path),
    sqlite: /database or disk is full/,
    hint: "the disk is full",
  },
];

describe("a ledger that cannot be written", () => {
  it.each(cases)(
    "$what: nothing is granted, the PR says the ledger must be fixed, and the error is logged",
    async ({ open, sqlite, hint }) => {
      dir = mkdtempSync(join(tmpdir(), "jit-ledger-"));
      store = await open(join(dir, "jit-access.db"));
      stage = await stageRequest({ store });
      const { app } = stage;
      const review = approveRequest(stage);
      await app.runUntil(() => latestCheck(stage!)?.status === "completed" && commentBodies(stage!).length > 0, {
        maxMs: 60_000,
        what: "the report",
      });

      expect(countRoute(app.sim, SECRET_PUT)).toBe(0);
      expect(secretValue(app)).toBeUndefined();
      expect(await store.listGrants({ owner: "acme", liveOnly: false })).toEqual([]);
      expect(latestCheck(stage)).toMatchObject({
        conclusion: "failure",
        output: { title: "Access could not be granted", summary: expect.stringContaining("could not record the grant in its ledger") },
      });
      const [comment] = commentBodies(stage);
      expect(comment).toMatch(/^\*\*Access could not be granted\*\* for:/);
      expect(comment).toContain("could not record the grant in its ledger, so it wrote nothing");
      expect(comment).toContain(hint);
      const errors = app.logs.filter((line) => line.includes('"level":50') && line.includes("nothing was written to GitHub"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(sqlite);
      expect(app.sim.labels(REPO, stage.pr)).toEqual([]);
      expectNoValueLeaked(stage);
      await review;
    },
  );

  it("once the ledger is writable again, a fresh approval grants", async () => {
    dir = mkdtempSync(join(tmpdir(), "jit-ledger-"));
    const path = join(dir, "jit-access.db");
    store = await openReadOnlyLedger(path);
    stage = await stageRequest({ store });
    const { app } = stage;
    const refused = approveRequest(stage);
    await app.runUntil(() => commentBodies(stage!).length > 0, { maxMs: 60_000, what: "the refusal" });
    await refused;

    const writable = await openLedger(`sqlite:${path}`);
    app.deps.store = writable;
    const review = app.deliver(() => approve(app.sim, REPO, stage!.pr));
    const grant = await runUntilGranted({ app: { ...app, store: writable }, pr: stage.pr });
    expect(grant.state).toBe("active");
    expect(countRoute(app.sim, SECRET_PUT, { ok: true })).toBe(1);
    await review;
    await writable.close();
  });
});

describe("a bug is not the ledger being unavailable", () => {
  it("an error that is no storage failure, thrown while the grant is recorded, is logged as itself: nothing is granted, and nobody is told to fix the ledger", async () => {
    dir = mkdtempSync(join(tmpdir(), "jit-ledger-"));
    const real = await openLedger(`sqlite:${join(dir, "jit-access.db")}`);
    store = real;
    // The ledger works; the code that records the write-ahead mark has a bug.
    const buggy = new Proxy(real, {
      get(target, property, receiver) {
        if (property === "markWriting") {
          return () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'secretWrite')"));
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    stage = await stageRequest({ store: buggy });
    const { app } = stage;
    void approveRequest(stage).catch(() => undefined);
    await app.runUntil(() => app.logs.some((line) => line.includes("reading 'secretWrite'")), {
      maxMs: 60_000,
      what: "the bug's log line",
    });

    expect(countRoute(app.sim, SECRET_PUT)).toBe(0);
    expect(secretValue(app)).toBeUndefined();
    const told = [...commentBodies(stage), latestCheck(stage)?.output?.summary ?? ""].join("\n");
    expect(told).not.toContain("could not record the grant in its ledger");
    expect(app.logs.filter((line) => line.includes("nothing was written to GitHub"))).toEqual([]);
    expect(app.logs.find((line) => line.includes("reading 'secretWrite'"))).toContain("TypeError");
    expectNoValueLeaked(stage);
  });
});
