/**
 * The delivery catch-up against the simulator's delivery log (checked against GitHub's REST
 * description) and a real ledger: a failed delivery is asked for once, never again (even when
 * the redelivery fails too), not when the inbox holds it, and not beyond GitHub's three days.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import type { GitHubSimulator } from "../../sim/index.js";
import type { AppOctokit } from "../../src/github/repo-client.js";
import { catchUpDeliveries, REDELIVERY_WINDOW_MS, type DeliveryCatchUpDeps } from "../../src/inbox/delivery-catch-up.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { appOctokit, startCheckedSimulator } from "../sim/helpers.js";

const REDELIVERY = "POST /app/hook/deliveries/{delivery_id}/attempts";

let sim: GitHubSimulator;
let receiver: Server;
let store: LedgerStore;
let clock: ManualClock;
/** What the stand-in for the app answers. */
let answer = 500;
let received: string[] = [];
/** Moves the simulator's clock ahead of real time (the app's JWTs are signed on real time). */
let simAhead = 0;

beforeEach(async () => {
  answer = 500;
  received = [];
  simAhead = 0;
  receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received.push(String(request.headers["x-github-delivery"]));
      response.writeHead(answer).end();
    });
  });
  const url = await new Promise<string>((resolve) =>
    receiver.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`)),
  );
  clock = new ManualClock(Date.now());
  sim = await startCheckedSimulator({ webhookUrl: url, clock: () => new Date(Date.now() + simAhead) });
  store = await openLedger("sqlite::memory:");
});
afterEach(async () => {
  await store.close();
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const deps = (): DeliveryCatchUpDeps => ({ store, clock, appOctokit: async () => appOctokit(sim) as unknown as AppOctokit });
const asked = (): number => sim.requests.filter((request) => request.route === REDELIVERY).length;

describe("the delivery catch-up", () => {
  it("asks once for a failed delivery, and never again, even when the redelivery failed too", async () => {
    const failed = await sim.deliver("ping", { zen: "Approachable is better than simple." });
    expect(failed.status).toBe(500);
    const logs = recordingLog();

    const first = await catchUpDeliveries(deps(), logs.log);
    expect(first).toMatchObject({ failed: 1, redelivered: [failed.id], askedBefore: 0, failures: [] });
    await sim.waitFor(() => received.length === 2, { description: "the redelivery" });
    expect(received).toEqual([failed.id, failed.id]);

    const second = await catchUpDeliveries(deps(), logs.log);
    expect(second).toMatchObject({ failed: 1, redelivered: [], askedBefore: 1 });
    expect(asked()).toBe(1);
    expect(sim.violations).toEqual([]);
  });

  it("does not ask for a delivery that a later attempt delivered, or that the inbox holds", async () => {
    const delivered = await sim.deliver("ping", { zen: "one" });
    answer = 202;
    await sim.redeliver(delivered.id);
    answer = 500;
    const held = await sim.deliver("ping", { zen: "two" });
    await store.recordDelivery({ id: held.id, event: "ping", payload: held.body, receivedAt: new Date(clock.now()) });

    const report = await catchUpDeliveries(deps(), recordingLog().log);
    expect(report).toMatchObject({ failed: 1, redelivered: [] });
    expect(asked()).toBe(0);
  });

  it("leaves deliveries older than GitHub's three-day window", async () => {
    await sim.deliver("ping", { zen: "old" });
    // Three days and a minute later (on the simulator's clock, and on the app's).
    simAhead = REDELIVERY_WINDOW_MS + 60_000;
    const recent = await sim.deliver("ping", { zen: "recent" });
    simAhead = 0;
    await clock.advance(REDELIVERY_WINDOW_MS + 120_000);
    const report = await catchUpDeliveries(deps(), recordingLog().log);
    expect(report).toMatchObject({ failed: 1, redelivered: [recent.id] });
    expect(asked()).toBe(1);
  });

  it("reads the log page by page, following its cursor", async () => {
    const failed = await sim.deliver("ping", { zen: "first" });
    answer = 202;
    for (let n = 0; n < 120; n += 1) await sim.deliver("ping", { n });
    // The failed one, the oldest, is on the second page of 100.
    const report = await catchUpDeliveries(deps(), recordingLog().log);
    expect(report).toMatchObject({ attempts: 121, failed: 1, redelivered: [failed.id] });
    expect(sim.requests.filter((request) => request.route === "GET /app/hook/deliveries")).toHaveLength(2);
  });
});
