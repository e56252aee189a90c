/**
 * Notifications outside GitHub: events queued in the ledger's outbox by the lifecycle, delivered
 * by the worker to a real HTTP receiver on this machine — signed, in the documented shape, as a
 * Slack message for a Slack webhook, retried after the receiver was down, never with a value.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { expireGrant } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { notifyExpiringSoon } from "../../src/feedback/notify-lifecycle.js";
import { revokeGrant } from "../../src/revoke/revoke-grant.js";
import { OutboxNotifier } from "../../src/feedback/notifier.js";
import { isSlackWebhook, webUrlFor } from "../../src/feedback/notify-event.js";
import { NOTIFY_GIVE_UP_MS, notifyBackoffMs, NotificationWorker, type Fetch } from "../../src/feedback/outbox-worker.js";
import type { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";

const SECRET = "a-notify-secret-of-32-characters";
/** The value behind PROD_DB_URL in these tests; it must never reach a receiver. */
const VALUE = "postgres://app:hunter2-value-that-must-not-leak@db.internal/prod";
const HOUR = 3_600_000;
const SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A receiver on 127.0.0.1 that records every POST and answers `status`. */
class Receiver {
  received: Received[] = [];
  status = 204;
  #server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(path = "/jit"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
}

let store: LedgerStore;
let deps: LifecycleDeps;
let clock: ManualClock;
let receiver: Receiver;
const { log } = recordingLog();

beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  ({ deps, clock } = revocationDeps(store));
  deps.sourceEnv = { PROD_DB_URL: VALUE };
  nock.enableNetConnect("127.0.0.1");
  receiver = new Receiver();
  await receiver.start();
});
afterEach(async () => {
  await receiver.stop();
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
});

function notifierFor(...urls: string[]): OutboxNotifier {
  return new OutboxNotifier({ store, urls, webUrl: "https://github.com", log });
}

function worker(fetch?: Fetch): NotificationWorker {
  return new NotificationWorker({ store, clock, log, secret: SECRET, ...(fetch ? { fetch } : {}) });
}

/** Everything the PR hears when its last grant ends. */
function prTold(gh: GitHubMock): GitHubMock {
  return gh.comment(7).setLabels(7);
}

describe("notifications", () => {
  it("an expiry is queued by the lifecycle and POSTed signed, in the documented shape", async () => {
    deps.notifier = notifierFor(receiver.url());
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 2 * HOUR) });
    prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"));
    await expireGrant(deps, grant, log);
    expect(receiver.received).toEqual([]); // queued only: the lifecycle never waits for a receiver

    expect(await worker().deliverDue()).toEqual({ delivered: 1, failed: 0, abandoned: 0 });
    const [delivery] = receiver.received;
    const expected = `sha256=${createHmac("sha256", SECRET).update(delivery!.body).digest("hex")}`;
    expect(delivery!.headers["x-jit-signature-256"]).toBe(expected);
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(delivery!.headers["x-jit-event"]).toBe("expired");
    const event = JSON.parse(delivery!.body) as Record<string, unknown>;
    expect(event).toEqual({
      version: 1,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      event: "expired",
      at: "2026-03-01T10:00:00.000Z",
      repository: "acme/api",
      pull_request: { number: 7, url: "https://github.com/acme/api/pull/7" },
      secret: "PROD_DB_URL",
      environment: "production",
      requester: "alice",
      approvers: ["bob"],
      expires_at: "2026-03-01T10:00:00.000Z",
      reasons: { request: "INC-4211: inspect stuck migrations", event: null },
      break_glass: false,
      grant_id: grant.id,
    });
    const [stored] = await store.listNotifications();
    expect(stored).toMatchObject({ deliveredAt: new Date(EXPIRY_START), attempts: 0 });
    // Delivered once: the next pass sends nothing.
    expect(await worker().deliverDue()).toEqual({ delivered: 0, failed: 0, abandoned: 0 });
  });

  it("a revocation carries its reason; every URL gets its own copy; expiring_soon is ready for the reminder", async () => {
    const second = new Receiver();
    await second.start();
    try {
      deps.notifier = notifierFor(receiver.url("/a"), second.url("/b"));
      const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) });
      await notifyExpiringSoon(deps, grant);
      prTold(new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL"));
      await revokeGrant(deps, { grant, kind: "revoked", reason: "done early", actor: "operator:dana" }, log);
      await worker().deliverDue();
      for (const r of [receiver, second]) {
        const events = r.received.map((d) => JSON.parse(d.body) as { event: string; reasons: unknown; expires_at: string });
        expect(events.map((e) => e.event).sort()).toEqual(["expiring_soon", "revoked"]);
        expect(events.find((e) => e.event === "revoked")!.reasons).toEqual({
          request: "INC-4211: inspect stuck migrations",
          event: "done early",
        });
      }
      // The same event, the same id, at both URLs.
      const ids = (r: Receiver) => r.received.map((d) => (JSON.parse(d.body) as { id: string }).id).sort();
      expect(ids(receiver)).toEqual(ids(second));
    } finally {
      await second.stop();
    }
  });

  it("a Slack incoming webhook gets a Slack message with a link to the pull request, its text escaped", async () => {
    expect(isSlackWebhook(SLACK_URL)).toBe(true);
    expect(isSlackWebhook("https://hooks.slack.com.example.org/services/x")).toBe(false);
    deps.notifier = notifierFor(SLACK_URL);
    const grant = await seedGrant(store, {
      createdAt: new Date(EXPIRY_START - HOUR),
      reason: "INC-1 <!channel> & <https://evil.example|click>",
    });
    await deps.notifier.notify("granted", grant, new Date(EXPIRY_START));
    // Slack is not reachable from a test: its URL is sent to the local receiver instead, as it would be sent to Slack.
    const sentTo: string[] = [];
    const viaReceiver: Fetch = (url, init) => {
      sentTo.push(url);
      return fetch(receiver.url("/slack"), init);
    };
    await worker(viaReceiver).deliverDue();
    expect(sentTo).toEqual([SLACK_URL]);
    const message = JSON.parse(receiver.received[0]!.body) as { text: string; blocks: { type: string; elements?: { url: string }[] }[] };
    expect(message.text).toBe("Access granted: PROD_DB_URL in production");
    expect(message.blocks.map((b) => b.type)).toEqual(["section", "section", "actions"]);
    expect(message.blocks[2]!.elements![0]!.url).toBe("https://github.com/acme/api/pull/7");
    expect(receiver.received[0]!.body).toContain("INC-1 &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
    expect(receiver.received[0]!.body).not.toContain("<!channel>");
    expect(receiver.received[0]!.body).not.toContain('"version"'); // not the raw event
  });

  it("retries with backoff while the receiver is down, then delivers; gives up only after a day", async () => {
    deps.notifier = notifierFor(receiver.url());
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) });
    await deps.notifier.notify("granted", grant, new Date(EXPIRY_START));
    const port = receiver.port;
    await receiver.stop();

    expect(await worker().deliverDue()).toEqual({ delivered: 0, failed: 1, abandoned: 0 });
    let [n] = await store.listNotifications();
    expect(n).toMatchObject({ attempts: 1, deliveredAt: null, nextAttemptAt: new Date(EXPIRY_START + notifyBackoffMs(1)) });
    expect(n!.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    // Not due before its backoff ends.
    expect(await worker().deliverDue()).toEqual({ delivered: 0, failed: 0, abandoned: 0 });
    await clock.advance(notifyBackoffMs(1));
    expect(await worker().deliverDue()).toEqual({ delivered: 0, failed: 1, abandoned: 0 });

    // An hour later the receiver is back (answering 500 first, then 204).
    await clock.advance(HOUR);
    await receiver.start(port);
    receiver.status = 500;
    expect(await worker().deliverDue()).toEqual({ delivered: 0, failed: 1, abandoned: 0 });
    [n] = await store.listNotifications();
    expect(n).toMatchObject({ attempts: 3, lastError: "HTTP 500" });
    receiver.status = 204;
    await clock.advance(notifyBackoffMs(3));
    expect(await worker().deliverDue()).toEqual({ delivered: 1, failed: 0, abandoned: 0 });
    expect(receiver.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(["granted", "granted"]);

    // Another one, never answered, is given up a day after it was queued.
    await deps.notifier.notify("revoked", grant, new Date(clock.now()), "x");
    await receiver.stop();
    const w = worker();
    for (let elapsed = 0; elapsed <= NOTIFY_GIVE_UP_MS; elapsed += 10 * 60_000) {
      await w.deliverDue();
      await clock.advance(10 * 60_000);
    }
    const last = (await store.listNotifications()).at(-1)!;
    expect(last.abandonedAt).not.toBeNull();
    expect(last.attempts).toBeGreaterThan(100);
    await receiver.start(port);
  });

  it("no body holds a secret value, for any event", async () => {
    deps.notifier = notifierFor(receiver.url(), SLACK_URL);
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - HOUR) });
    for (const event of ["granted", "expiring_soon", "expired", "revoked", "failed", "break_glass", "lapsed"] as const) {
      await deps.notifier.notify(event, grant, new Date(EXPIRY_START), `why ${event}`);
    }
    const viaReceiver: Fetch = (url, init) => fetch(isSlackWebhook(url) ? receiver.url("/slack") : url, init);
    expect(await worker(viaReceiver).deliverDue()).toMatchObject({ delivered: 14 });
    const everything = JSON.stringify(receiver.received) + JSON.stringify(await store.listNotifications());
    expect(everything).not.toContain(VALUE);
    expect(everything).not.toContain("hunter2");
  });

  it("GitHub's web address follows the API's", () => {
    expect(webUrlFor("https://api.github.com")).toBe("https://github.com");
    expect(webUrlFor("https://ghe.example.com/api/v3")).toBe("https://ghe.example.com");
    expect(webUrlFor("http://127.0.0.1:3001/api/v3")).toBe("http://127.0.0.1:3001");
  });
});
