/**
 * Webhooks reach the app over HTTP as GitHub sends them. A delivery without the right
 * signature must be refused with a 4xx before any handler runs, and change nothing: no GitHub
 * API call, no check run, no ledger row. A correctly signed delivery for a repository that no
 * catalog secret may go to must change nothing either. The app runs as a real process.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { signBody } from "../../sim/index.js";
import { HOSTILE_WORLD_START_MS, type HostileWorld, OUTSIDE_REPO, REPO, requestFor, startHostileWorld } from "./helpers/hostile-world.js";

let world: HostileWorld;
let body: string;
let headSha: string;

beforeAll(async () => {
  // No sweep during the test, and the workflow gate's start-up catch-up (which lists the
  // installations' runs) over before it begins: every API call after a delivery is the delivery's doing.
  world = await startHostileWorld({ logLevel: "debug", sweepInterval: "1h" });
  const { sim } = world;
  await sim.waitFor(() => world.app.output().includes("gate catch-up done") || null, {
    timeoutMs: 30_000,
    description: "the gate's start-up catch-up",
  });
  headSha = sim.commit(REPO, "need-db", { "jit-requests.yml": requestFor("2h") }, { from: "main", author: "alice" });
  await sim.openPullRequest(REPO, { head: "need-db", base: "main", author: "alice", title: "Access for INC-4211", deliver: false });
  body = sim.lastDelivery?.body ?? "";
}, HOSTILE_WORLD_START_MS);

afterAll(async () => {
  await world?.close();
});

/** Posts to the app's webhook endpoint with exactly these headers. */
async function post(payload: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${world.app.url}/api/github/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": crypto.randomUUID(), ...headers },
    body: payload,
  });
  await response.arrayBuffer();
  return response.status;
}

describe("a webhook without the right signature", () => {
  const otherBody = (): string => body.replace('"opened"', '"synchronize"');
  it.each([
    [
      "a signature made with another secret",
      () => post(body, { "x-hub-signature-256": `sha256=${createHmac("sha256", "not-the-secret").update(body).digest("hex")}` }),
    ],
    ["no signature header", () => post(body, {})],
    ["an empty signature", () => post(body, { "x-hub-signature-256": "" })],
    [
      "the right signature for a different body",
      () => post(otherBody(), { "x-hub-signature-256": signBody(world.sim.webhookSecret, body) }),
    ],
    [
      "a signature truncated to its prefix",
      () => post(body, { "x-hub-signature-256": signBody(world.sim.webhookSecret, body).slice(0, 20) }),
    ],
    [
      "only the legacy SHA-1 header",
      () => post(body, { "x-hub-signature": `sha1=${createHmac("sha1", world.sim.webhookSecret).update(body).digest("hex")}` }),
    ],
    [
      "a sha1= value in the SHA-256 header",
      () => post(body, { "x-hub-signature-256": `sha1=${createHmac("sha1", world.sim.webhookSecret).update(body).digest("hex")}` }),
    ],
  ])("is refused (%s) and changes nothing", async (_name, send) => {
    const before = world.sim.requests.length;
    const status = await send();
    expect(status).toBe(400);
    expect(world.sim.requests.slice(before)).toEqual([]);
    expect(world.sim.checkRuns(REPO, { headSha })).toEqual([]);
  });

  it("is refused through the simulator's raw delivery too", async () => {
    const before = world.sim.requests.length;
    expect(await world.sim.deliverRaw({ event: "pull_request", body, signature: "sha256=0000" })).toBe(400);
    expect(world.sim.requests.slice(before)).toEqual([]);
  });
});

describe("a correctly signed webhook", () => {
  it("for a repository outside the catalog is answered and changes nothing: not one API call", async () => {
    const before = world.sim.requests.length;
    const sha = world.sim.commit(OUTSIDE_REPO, "grab", { "jit-requests.yml": requestFor("2h") }, { from: "main", author: "mallory" });
    await world.sim.openPullRequest(OUTSIDE_REPO, { head: "grab", base: "main", author: "mallory", title: "Give me the database" });
    expect(world.sim.lastDelivery?.status).toBeLessThan(300);
    expect(world.sim.requests.slice(before)).toEqual([]);
    expect(world.sim.checkRuns(OUTSIDE_REPO, { headSha: sha })).toEqual([]);
  });

  // Last: the control. The same body, signed, is acted on, so the refusals above were refusals.
  it("with the body the refused deliveries carried is acted on: the check run appears", async () => {
    const status = await world.sim.deliverRaw({ event: "pull_request", body });
    expect(status).toBeLessThan(300);
    const check = await world.sim.waitFor(() => world.sim.checkRuns(REPO, { headSha, name: "jit-access" })[0], {
      description: "the check run",
    });
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(world.sim.violations).toEqual([]);
  });
});
