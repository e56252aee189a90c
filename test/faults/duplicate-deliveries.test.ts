/**
 * GitHub delivers a webhook more than once (a redelivery, a retry after a timeout), sometimes
 * while the first is still being handled: the request is granted exactly once — one ledger
 * row, one PUT, one grant comment. The app runs in this process against the simulator.
 */
import { describe, expect, it } from "@jest/globals";
import { approve, countRoute, SECRET_PUT } from "./helpers/request-prs.js";
import { allGrants, closeStageAfterEach, commentBodies, REPO, runUntilGranted, type Stage, stageRequest } from "./helpers/scenario.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

/** One grant, one successful PUT, one grant comment, one label call. */
async function expectGrantedOnce(s: Stage): Promise<void> {
  expect(await allGrants(s.app)).toEqual([expect.objectContaining({ state: "active" })]);
  expect(countRoute(s.app.sim, SECRET_PUT)).toBe(1);
  expect(commentBodies(s).filter((b) => b.startsWith("**Access granted.**"))).toHaveLength(1);
  expect(s.app.sim.requests.filter((r) => r.route === "POST /repos/{owner}/{repo}/issues/{issue_number}/labels")).toHaveLength(1);
  expect((await s.app.store.listAudit()).filter((a) => a.action === "granted")).toHaveLength(1);
}

describe("the same approval delivered more than once", () => {
  it("again after the first was handled: nothing more is written", async () => {
    stage = await stageRequest();
    const { app, pr } = stage;
    const first = app.deliver(() => approve(app.sim, REPO, pr));
    await runUntilGranted(stage);
    await first;
    const delivery = app.sim.lastDelivery!;
    const writesBefore = app.sim.requests.filter((r) => r.method !== "GET").length;

    const again = app.redeliver(delivery.id);
    await app.runUntil(() => delivery.attempts === 2 && delivery.status !== null, { maxMs: 60_000, what: "the redelivery" });
    await again;
    expect(delivery.status).toBe(200);
    expect(app.sim.requests.filter((r) => r.method !== "GET").length).toBe(writesBefore);
    await expectGrantedOnce(stage);
  });

  it("twice at the same time, before either was handled: one grant", async () => {
    stage = await stageRequest();
    const { app, pr } = stage;
    await approve(app.sim, REPO, pr, { deliver: false });
    const { id } = app.sim.lastDelivery!;

    const both = Promise.all([app.redeliver(id), app.redeliver(id)]);
    await runUntilGranted(stage);
    await app.runUntil(() => app.sim.deliveries.find((d) => d.id === id)?.attempts === 2, { maxMs: 60_000, what: "both deliveries" });
    await both;
    expect(app.sim.deliveries.find((d) => d.id === id)?.status).toBe(200);
    await expectGrantedOnce(stage);
  });

  it("the approval and a redelivered `opened` of the same PR at the same time (both evaluations see the approval): one grant", async () => {
    stage = await stageRequest();
    const { app, pr } = stage;
    await approve(app.sim, REPO, pr, { deliver: false });
    const review = app.sim.lastDelivery!;
    const opened = app.sim.deliveries.find((d) => d.event === "pull_request" && d.action === "opened")!;

    const both = Promise.all([app.redeliver(review.id), app.redeliver(opened.id)]);
    await runUntilGranted(stage);
    await both;
    await expectGrantedOnce(stage);
  });
});
