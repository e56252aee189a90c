import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { GitHubSimulator } from "../../sim/index.js";
import { appOctokit, startCheckedSimulator } from "./helpers.js";

interface Received {
  /** The path the delivery was posted to. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  payload: unknown;
}

const SECRET = "test-webhook-secret";
let sim: GitHubSimulator;
let receiver: Server;
let received: Received[] = [];
/** While true, the receiver answers 500 to every delivery (the app failing). */
let failing = false;

/** A stand-in for the app: verifies the signature like Probot and answers 202 (401 if it does not verify). */
const base = (): string => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

function startReceiver(): Promise<string> {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`);
      const given = Buffer.from(String(request.headers["x-hub-signature-256"] ?? ""));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        response.writeHead(401).end();
        return;
      }
      received.push({ path: request.url ?? "", headers: request.headers, body, payload: JSON.parse(body) as unknown });
      response.writeHead(failing ? 500 : 202).end();
    });
  });
  return new Promise((resolve) => receiver.listen(0, "127.0.0.1", () => resolve(`${base()}/api/github/webhooks`)));
}

beforeAll(async () => {
  const url = await startReceiver();
  sim = await startCheckedSimulator({ webhookUrl: url, webhookSecret: SECRET });
  sim.createRepo("acme/api", { installationId: 42, collaborators: { alice: "write", bob: "admin" } });
  sim.commit("acme/api", "feature", { "jit-requests.yml": "requests: []\n" });
});
afterAll(async () => {
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  received = [];
});

const only = (): Received => {
  expect(received).toHaveLength(1);
  return received[0] as Received;
};

describe("webhook deliveries", () => {
  let number: number;

  it("delivers pull_request.opened, signed, and returns after the app answered", async () => {
    number = await sim.openPullRequest("acme/api", { head: "feature", author: "alice", title: "Need access" });
    const { headers, payload } = only();
    expect(headers).toMatchObject({
      "x-github-event": "pull_request",
      "x-github-delivery": expect.stringMatching(/^[0-9a-f-]{36}$/),
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/sim",
    });
    expect(payload).toMatchObject({
      action: "opened",
      number,
      installation: { id: 42 },
      sender: { login: "alice" },
      repository: { full_name: "acme/api", default_branch: "main", owner: { login: "acme" } },
      organization: { login: "acme" },
      pull_request: {
        number,
        title: "Need access",
        head: { ref: "feature", sha: sim.branchSha("acme/api", "feature") },
        base: { ref: "main" },
        user: { login: "alice" },
      },
    });
    expect(sim.lastDelivery).toMatchObject({
      id: headers["x-github-delivery"],
      event: "pull_request",
      action: "opened",
      status: 202,
      attempts: 1,
    });
  });

  it("points every URL in the payload at the simulator", () => {
    const body = sim.lastDelivery?.body ?? "";
    expect(body).not.toContain("api.github.com");
    expect(body).not.toContain("Codertocat/Hello-World");
    expect(body).toContain(`${sim.apiUrl}/repos/acme/api`);
  });

  it("delivers synchronize with before and after", async () => {
    const before = sim.pullRequest("acme/api", number).headSha;
    const after = await sim.pushToPullRequest("acme/api", number, { "jit-requests.yml": "requests:\n  - secret: A\n" });
    expect(only().payload).toMatchObject({ action: "synchronize", before, after, pull_request: { head: { sha: after } } });
  });

  it("delivers pull_request_review.submitted with a lower-case state, then dismissed", async () => {
    const reviewId = await sim.submitReview("acme/api", number, { reviewer: "bob", state: "APPROVED" });
    expect(only().payload).toMatchObject({
      action: "submitted",
      sender: { login: "bob" },
      review: { id: reviewId, state: "approved", commit_id: sim.pullRequest("acme/api", number).headSha, user: { login: "bob" } },
      pull_request: { number },
    });
    received = [];
    await sim.dismissReview("acme/api", number, reviewId);
    expect(only().payload).toMatchObject({ action: "dismissed", review: { id: reviewId, state: "dismissed" } });
  });

  it("delivers issue_comment.created for a comment on the pull request, with the PR as an issue, then edited", async () => {
    const id = await sim.commentOnPullRequest("acme/api", number, { author: "alice", body: "/jit status" });
    expect(only()).toMatchObject({ headers: { "x-github-event": "issue_comment" } });
    expect(only().payload).toMatchObject({
      action: "created",
      sender: { login: "alice" },
      installation: { id: 42 },
      issue: { number, user: { login: "alice" }, pull_request: { url: `${sim.apiUrl}/repos/acme/api/pulls/${number}` } },
      comment: { id, body: "/jit status", user: { login: "alice", type: "User" }, performed_via_github_app: null },
    });
    received = [];
    await sim.commentOnPullRequest("acme/api", number, { author: "alice", body: "/jit revoke", edit: id });
    expect(only().payload).toMatchObject({ action: "edited", comment: { id, body: "/jit revoke" } });
  });

  it("delivers edited with GitHub's changes object", async () => {
    await sim.editPullRequest("acme/api", number, { title: "Need access, please" });
    expect(only().payload).toMatchObject({
      action: "edited",
      changes: { title: { from: "Need access" } },
      pull_request: { title: "Need access, please" },
    });
  });

  it("delivers closed with merged set", async () => {
    await sim.closePullRequest("acme/api", number, { merged: true, by: "bob" });
    expect(only().payload).toMatchObject({ action: "closed", sender: { login: "bob" }, pull_request: { state: "closed", merged: true } });
  });

  it("records without sending when deliver is false, and redelivers the same body under the same id", async () => {
    sim.commit("acme/api", "later", { "x.txt": "x\n" });
    await sim.openPullRequest("acme/api", { head: "later", author: "alice", deliver: false });
    const recorded = sim.lastDelivery;
    expect(received).toEqual([]);
    expect(recorded).toMatchObject({ status: null, attempts: 0 });

    const first = await sim.redeliver(recorded?.id ?? "");
    const second = await sim.redeliver(recorded?.id ?? "");
    expect(second).toMatchObject({ status: 202, attempts: 2 });
    expect(first.id).toBe(recorded?.id);
    expect(received.map((delivery) => delivery.headers["x-github-delivery"])).toEqual([recorded?.id, recorded?.id]);
    expect(received.map((delivery) => delivery.body)).toEqual([recorded?.body, recorded?.body]);
  });

  it("sends a raw body with a wrong signature, which the receiver refuses", async () => {
    const status = await sim.deliverRaw({ event: "pull_request", body: '{"action":"opened"}', signature: "sha256=0000" });
    expect(status).toBe(401);
    expect(await sim.deliverRaw({ event: "ping", body: '{"zen":"ok"}' })).toBe(202);
  });

  it("logs every attempt, and redelivers a failed one on request: the same payload and guid, a new log id flagged as a redelivery", async () => {
    const app = appOctokit(sim);
    failing = true;
    const delivery = await sim.deliver("ping", { zen: "Design for failure." });
    failing = false;
    const { data: log } = await app.rest.apps.listWebhookDeliveries({ per_page: 100 });
    const failed = log.find((entry) => entry.guid === delivery.id)!;
    expect(failed).toMatchObject({ status_code: 500, redelivery: false, event: "ping" });
    expect(failed.status).not.toBe("OK");

    const answer = await app.rest.apps.redeliverWebhookDelivery({ delivery_id: failed.id });
    expect(answer.status).toBe(202);
    await sim.waitFor(() => received.length === 2, { description: "the redelivery" });
    expect(received.map((entry) => entry.headers["x-github-delivery"])).toEqual([delivery.id, delivery.id]);
    expect(received[1]!.body).toBe(received[0]!.body);

    const { data: after } = await app.rest.apps.listWebhookDeliveries({ per_page: 100 });
    const attempts = after.filter((entry) => entry.guid === delivery.id);
    expect(attempts).toMatchObject([
      { redelivery: true, status_code: 202, status: "OK" },
      { id: failed.id, redelivery: false, status_code: 500 },
    ]);
    expect(attempts[0]!.id).not.toBe(failed.id);
    await expect(app.rest.apps.redeliverWebhookDelivery({ delivery_id: 999_999 })).rejects.toMatchObject({ status: 404 });
    expect(sim.violations).toEqual([]);
  });

  it("fails with a clear message when nothing listens at the webhook URL", async () => {
    sim.setWebhookUrl("http://127.0.0.1:9/api/github/webhooks");
    await expect(sim.deliver("ping", { zen: "Keep it logically awesome." })).rejects.toThrow(/is the app listening there\?/);
  });
});

describe("deliveries spread over several replicas", () => {
  it("go to each URL in turn, every k-th to two at once under one delivery id, until setWebhookUrl undoes it", async () => {
    const urls = ["/r0", "/r1", "/r2"].map((path) => `${base()}${path}`);
    sim.setWebhookUrls(urls, { twiceEvery: 2 });
    try {
      for (let i = 0; i < 4; i++) await sim.deliver("ping", { zen: `spread ${i}` });
      const posted = received.map((r) => ({ path: r.path, zen: (r.payload as { zen: string }).zen, id: r.headers["x-github-delivery"] }));
      const sorted = (paths: string[]): string[] => [...paths].sort();
      const byZen = (zen: string) => posted.filter((p) => p.zen === zen);
      expect(byZen("spread 0").map((p) => p.path)).toEqual(["/r0"]);
      expect(sorted(byZen("spread 1").map((p) => p.path))).toEqual(["/r1", "/r2"]);
      expect(byZen("spread 2").map((p) => p.path)).toEqual(["/r2"]);
      expect(sorted(byZen("spread 3").map((p) => p.path))).toEqual(["/r0", "/r1"]);
      expect(new Set(byZen("spread 3").map((p) => p.id)).size).toBe(1);
      expect(sim.deliveries.at(-1)).toMatchObject({ status: 202, attempts: 1 });

      // One of the two answers is enough; a delivery is lost only when every target failed.
      sim.setWebhookUrls(["http://127.0.0.1:9/api/github/webhooks", urls[0]!], { twiceEvery: 1 });
      await expect(sim.deliver("ping", { zen: "one down" })).resolves.toMatchObject({ status: 202 });
      sim.setWebhookUrls(["http://127.0.0.1:9/api/github/webhooks"]);
      await expect(sim.deliver("ping", { zen: "all down" })).rejects.toThrow(/is the app listening there\?/);
      expect(() => sim.setWebhookUrls([])).toThrow(/at least one URL/);
    } finally {
      sim.setWebhookUrl(`${base()}/api/github/webhooks`);
    }
    received = [];
    await sim.deliver("ping", { zen: "back to one" });
    expect(only().path).toBe("/api/github/webhooks");
  });
});
