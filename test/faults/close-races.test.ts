/**
 * A request PR closed without merging while its grant is being written: whichever step the
 * close lands on, the environment ends without the secret. The app runs in this process
 * against the simulator (helpers/sim-app.ts), on a clock the test moves, so the test can hold
 * the grant's PUT and let it go only once the close handler has looked at the ledger.
 * (Closing while the approval itself is being read is in test/e2e/approval-binding.test.ts.)
 */
import { describe, expect, it } from "@jest/globals";
import type { Grant, GrantFilter } from "../../src/ledger/store.js";
import { countRoute, SECRET_DELETE, SECRET_PUT } from "./helpers/request-prs.js";
import {
  approveRequest,
  closeStageAfterEach,
  commentBodies,
  hungAt,
  REPO,
  requestsTo,
  SECRET_PATH,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";
import type { SimApp } from "./helpers/sim-app.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

/**
 * Resolves with what the close handler found when it lists the PR's live grants: the app's
 * ledger, seen through a wrapper that reports that one read.
 */
function closeHandlerLookup(app: SimApp, prNumber: number): Promise<Grant[]> {
  const store = app.deps.store;
  return new Promise((resolve) => {
    app.deps.store = new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (property === "listGrants") {
          return async (filter?: GrantFilter) => {
            const found = await target.listGrants(filter);
            if (filter?.prNumber === prNumber && filter.liveOnly === true) resolve(found);
            return found;
          };
        }
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  });
}

describe("closing the request PR while its grant is written", () => {
  it("the close finds the grant still `granting` with its PUT in flight: the PUT lands, then the secret is deleted and the grant revoked", async () => {
    stage = await stageRequest({ duration: "2h" });
    const { app, pr } = stage;
    let release!: () => void;
    const held = app.sim.faults.add({
      method: "PUT",
      path: SECRET_PATH,
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const heldPut = hungAt(SECRET_PATH, "PUT");
    const review = approveRequest(stage);
    let closing: Promise<void> | undefined;
    try {
      await app.runUntil(() => app.sim.faults.fired(held) === 1, { maxMs: 60_000, what: "the PUT on its way", ignore: heldPut });
      expect(await theGrant(app)).toMatchObject({ state: "granting" });

      const lookup = closeHandlerLookup(app, pr);
      closing = app.deliver(() => app.sim.closePullRequest(REPO, pr, { merged: false, by: "alice" }));
      expect((await lookup).map((g) => g.state)).toEqual(["granting"]);
    } finally {
      release();
    }

    // Both deliveries are answered once their handlers have written everything they write.
    let answered = 0;
    for (const delivery of [review, closing]) void delivery?.then(() => (answered += 1));
    await app.runUntil(() => answered === 2, { maxMs: 120_000, what: "the approval and the close to be handled" });
    expect(secretValue(app)).toBeUndefined();
    const writes = requestsTo(app, SECRET_PATH).map((r) => `${r.method} ${r.status}`);
    // The secret's metadata is read before the PUT (absent: not someone else's) and after it (the app's mark).
    expect(writes).toEqual(["GET 404", "PUT 201", "GET 200", "DELETE 204"]);
    expect(countRoute(app.sim, SECRET_PUT)).toBe(1);
    expect(countRoute(app.sim, SECRET_DELETE)).toBe(1);
    expect(await theGrant(app)).toMatchObject({ state: "revoked", endReason: "pull request closed without merging" });
    expect(commentBodies(stage).filter((b) => b.startsWith("**Access revoked:**"))).toEqual([
      expect.stringContaining("(`pull request closed without merging`). The secret has been deleted."),
    ]);
    // What the PR shows last is the revocation, not the grant it ended.
    expect(app.sim.labels(REPO, pr)).toEqual(["jit:revoked"]);
    expect(commentBodies(stage).at(-1)).toMatch(/^\*\*Access revoked:\*\*/);
  });

  it("the close lands after the approval was read but before the ledger row: the grant fails, and what it may have written is deleted", async () => {
    stage = await stageRequest({ duration: "2h" });
    const { app, pr } = stage;
    // Hold the last read of the evaluation (the reviewers' team lookups are not needed here:
    // bob is named in CODEOWNERS), i.e. the reviewer's permission.
    let release!: () => void;
    const permissionPath = /\/collaborators\/bob\/permission$/;
    const held = app.sim.faults.add({
      method: "GET",
      path: permissionPath,
      until: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const review = approveRequest(stage);
    try {
      await app.runUntil(() => app.sim.faults.fired(held) === 1, {
        maxMs: 60_000,
        what: "the permission read",
        ignore: hungAt(permissionPath, "GET"),
      });
      await app.deliver(() => app.sim.closePullRequest(REPO, pr, { merged: false, by: "alice" }));
      expect(await theGrant(app)).toBeUndefined();
    } finally {
      release();
    }

    await app.runUntil(
      async () => {
        const grant = await theGrant(app);
        return grant !== undefined && grant.state !== "granting";
      },
      { maxMs: 60_000, what: "the grant to settle" },
    );
    // The PR is told (paced writes, on the test's clock) before the delivery's handler ends.
    await app.runUntil(() => commentBodies(stage!).some((b) => b.includes("the pull request was closed before the secret was written")), {
      maxMs: 60_000,
      what: "the comment that says why nothing was granted",
    });
    await review;
    expect(secretValue(app)).toBeUndefined();
    // The PR is read again alongside the PUT (issue 16: no round trip of its own before it), so
    // the PUT may have been sent; the close seen, what it wrote is deleted and the grant fails.
    expect(countRoute(app.sim, SECRET_PUT)).toBeLessThanOrEqual(1);
    expect(countRoute(app.sim, SECRET_DELETE)).toBe(countRoute(app.sim, SECRET_PUT, { ok: true }));
    expect(await theGrant(app)).toMatchObject({ state: "failed", endReason: "the pull request was closed before the secret was written" });
    expect(app.sim.labels(REPO, pr)).not.toContain("jit:granted");
  });
});
