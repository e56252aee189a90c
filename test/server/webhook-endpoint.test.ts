/**
 * The webhook endpoint on a real HTTP port, sent to as an attacker would: raw requests with
 * bodies that are too big, never finish, carry no signature or the wrong one, or are not JSON.
 * Limits are scaled down (a 64 KiB body cap, 300 ms for a body) so each case runs in a moment;
 * the app runs with the defaults (25 MiB, 30 s), tested end to end in
 * test/hostile/webhook-body.test.ts.
 */
import { createHmac } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import { pingRoute, startHttpServer, type RunningServer } from "../../src/server/http-server.js";
import { webhookEndpoint, type VerifiedEvent, type WebhookEndpointOptions } from "../../src/server/webhook-endpoint.js";
import { InboxProcessor } from "../../src/inbox/inbox-processor.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { LedgerStorageError, type LedgerStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { gatedLedger } from "../helpers/gated-ledger.js";
import { recordingLog } from "../helpers/recording-log.js";

const SECRET = "webhook-secret-for-tests";
const LIMIT = 64 * 1024;
const PATH = "/api/github/webhooks";

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

interface Setup {
  url: string;
  port: number;
  received: VerifiedEvent[];
  logs: ReturnType<typeof recordingLog>;
}

async function start(options: Partial<WebhookEndpointOptions> = {}, server: { headersTimeoutMs?: number } = {}): Promise<Setup> {
  const received: VerifiedEvent[] = [];
  const logs = recordingLog();
  running = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    log: logs.log,
    ...server,
    routes: [
      pingRoute,
      webhookEndpoint({
        secret: SECRET,
        log: logs.log,
        maxBodyBytes: LIMIT,
        bodyTimeoutMs: 300,
        lingerMs: 100,
        receive: async (event) => {
          received.push(event);
        },
        ...options,
      }),
    ],
  });
  return { url: running.url, port: running.port, received, logs };
}

const sign = (body: string | Buffer, secret = SECRET): string => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

function headers(body: string | Buffer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-github-event": "pull_request",
    "x-github-delivery": "11111111-2222-3333-4444-555555555555",
    "x-hub-signature-256": sign(body),
    ...extra,
  };
}

interface Answer {
  status: number | null;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * Sends a request over a fresh connection. `chunks` are written one by one (no Content-Length
 * unless given in the headers: chunked); `stall` leaves the body unfinished. Resolves with the
 * answer, or status null when the connection closed without one.
 */
function send(
  setup: Setup,
  options: { method?: string; path?: string; headers: Record<string, string>; chunks?: Array<string | Buffer>; stall?: boolean },
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpRequest(`${setup.url}${options.path ?? PATH}`, {
      method: options.method ?? "POST",
      headers: options.headers,
      agent: false,
    });
    let settled = false;
    const done = (answer: Answer): void => {
      if (settled) return;
      settled = true;
      resolve(answer);
      req.destroy();
    };
    req.on("response", (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => done({ status: response.statusCode ?? null, body, headers: response.headers }));
      response.on("error", () => done({ status: response.statusCode ?? null, body, headers: response.headers }));
    });
    req.on("error", () => done({ status: null, body: "", headers: {} }));
    req.on("close", () => done({ status: null, body: "", headers: {} }));
    req.flushHeaders();
    const write = async (): Promise<void> => {
      for (const chunk of options.chunks ?? []) {
        if (settled) return;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
      }
      if (!options.stall) req.end();
    };
    void write().catch(() => undefined);
  });
}

const payload = JSON.stringify({ action: "opened", number: 7, note: "hello" });

describe("a correctly signed delivery", () => {
  it("is handed to the app as parsed JSON, with its id and event, and answered 200 once the handlers ran", async () => {
    const setup = await start();
    const answer = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(answer).toMatchObject({ status: 200, body: "ok\n" });
    expect(setup.received).toEqual([
      { id: "11111111-2222-3333-4444-555555555555", name: "pull_request", payload: { action: "opened", number: 7, note: "hello" } },
    ]);
  });

  it("sent in many small chunks without a Content-Length is verified over all of its bytes", async () => {
    const setup = await start();
    const chunks = payload.match(/.{1,5}/gs)!;
    expect(await send(setup, { headers: headers(payload), chunks })).toMatchObject({ status: 200 });
    expect(setup.received).toHaveLength(1);
  });

  it("of exactly the maximum size is accepted", async () => {
    const setup = await start();
    const body = JSON.stringify({ action: "opened", pad: "x".repeat(LIMIT - 30) }).padEnd(LIMIT, " ");
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    expect(await send(setup, { headers: headers(body), chunks: [body] })).toMatchObject({ status: 200 });
    expect(setup.received).toHaveLength(1);
  });

  it("whose handlers are still running after answerAfterMs is answered 202, as @octokit/webhooks does", async () => {
    let finish!: () => void;
    const setup = await start({ answerAfterMs: 50, receive: () => new Promise<void>((resolve) => (finish = resolve)) });
    const answer = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(answer).toMatchObject({ status: 202, body: "still processing\n" });
    finish();
  });

  it("still being handled after its 202 keeps idle() waiting until its handlers end (a stop waits for it)", async () => {
    let finish!: () => void;
    let finished = false;
    const endpointOptions = {
      answerAfterMs: 50,
      receive: () =>
        new Promise<void>((resolve) => {
          finish = () => {
            finished = true;
            resolve();
          };
        }),
    };
    const endpoint = webhookEndpoint({ secret: SECRET, log: recordingLog().log, ...endpointOptions });
    running = await startHttpServer({ host: "127.0.0.1", port: 0, log: recordingLog().log, routes: [endpoint] });
    const setup: Setup = { url: running.url, port: running.port, received: [], logs: recordingLog() };
    expect(await send(setup, { headers: headers(payload), chunks: [payload] })).toMatchObject({ status: 202 });

    let idle = false;
    const waiting = endpoint.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(idle).toBe(false);
    finish();
    await waiting;
    expect(finished).toBe(true);
    await expect(endpoint.idle()).resolves.toBeUndefined();
  });

  it("whose handler fails is answered 500 without the error's text", async () => {
    const setup = await start({
      receive: async () => {
        throw new Error("database exploded: password=hunter2");
      },
    });
    const answer = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(answer.status).toBe(500);
    expect(answer.body).not.toContain("hunter2");
    expect(answer.body).toContain("11111111-2222-3333-4444-555555555555");
  });
});

describe("a correctly signed delivery, with an inbox (record)", () => {
  it("is recorded with its body as received and answered 202 at once; the same delivery again is answered 202 too", async () => {
    const recorded: { id: string; name: string; body: string }[] = [];
    const setup = await start({
      receive: undefined,
      record: async (event) => {
        const known = recorded.some((entry) => entry.id === event.id);
        recorded.push(event);
        return known ? "duplicate" : "new";
      },
    });
    const first = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(first.status).toBe(202);
    expect(JSON.parse(first.body)).toEqual({ delivery: "11111111-2222-3333-4444-555555555555", recorded: "new" });
    const again = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(again.status).toBe(202);
    expect(JSON.parse(again.body)).toMatchObject({ recorded: "duplicate" });
    expect(recorded[0]).toEqual({ id: "11111111-2222-3333-4444-555555555555", name: "pull_request", body: payload });
    expect(setup.received).toEqual([]);
  });

  it("that cannot be recorded is answered 503, without the error's text", async () => {
    const setup = await start({
      record: async () => {
        throw new Error("disk full: password=hunter2");
      },
    });
    const answer = await send(setup, { headers: headers(payload), chunks: [payload] });
    expect(answer.status).toBe(503);
    expect(answer.body).not.toContain("hunter2");
  });

  it("with a wrong signature is refused 400 and not recorded", async () => {
    let recorded = 0;
    const setup = await start({
      record: async () => {
        recorded += 1;
        return "new";
      },
    });
    const answer = await send(setup, { headers: headers(payload, { "x-hub-signature-256": sign(payload, "other") }), chunks: [payload] });
    expect(answer.status).toBe(400);
    expect(recorded).toBe(0);
  });
});

describe("deliveries sent at once, with the inbox recording them together", () => {
  let store: LedgerStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function withInbox(ledger: LedgerStore): Promise<Setup> {
    const inbox = new InboxProcessor({ store: ledger, clock: new ManualClock(0), log: recordingLog().log, handle: async () => undefined });
    return start({ receive: undefined, record: (event) => inbox.accept(event) });
  }
  const ids = Array.from({ length: 12 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`);
  const sendAll = (setup: Setup, list: string[]) =>
    Promise.all(list.map((id) => send(setup, { headers: headers(payload, { "x-github-delivery": id }), chunks: [payload] })));

  it("are answered 202 only once the ledger's transaction holding them has committed; a copy is answered duplicate", async () => {
    store = await openLedger("sqlite::memory:");
    const gated = gatedLedger(store);
    const held = gated.hold("recordDeliveries", 1);
    const setup = await withInbox(gated.store);
    let answered = 0;
    const answers = Promise.all(
      [...ids, ids[0]!].map((id) =>
        send(setup, { headers: headers(payload, { "x-github-delivery": id }), chunks: [payload] }).then((answer) => {
          answered += 1;
          return answer;
        }),
      ),
    );
    await held.reached;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(0);
    held.release();
    const all = await answers;
    expect(all.map((answer) => answer.status)).toEqual(Array(ids.length + 1).fill(202));
    expect(all.filter((answer) => (JSON.parse(answer.body) as { recorded: string }).recorded === "duplicate")).toHaveLength(1);
    expect(await store.countDeliveries()).toEqual({ pending: ids.length, done: 0, dead: 0 });
    expect(gated.calls.filter((call) => call === "recordDeliveries").length).toBeLessThan(ids.length);
  });

  it("are each answered 503 when the ledger fails the batch they were recorded in, and none is recorded", async () => {
    store = await openLedger("sqlite::memory:");
    const inner = store;
    const failing = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === "recordDeliveries")
          return async () => Promise.reject(new LedgerStorageError("the ledger could not record: disk full"));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const setup = await withInbox(failing);
    const all = await sendAll(setup, ids);
    expect(all.map((answer) => answer.status)).toEqual(Array(ids.length).fill(503));
    expect(all.every((answer) => answer.headers["retry-after"] === "30")).toBe(true);
    expect(await inner.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
  });
});

describe("a refused request", () => {
  const marker = "ATTACKER-PAYLOAD-MARKER";
  const body = JSON.stringify({ action: "opened", text: marker.repeat(100) });

  /** Every log entry, fields and message, as one string per entry. */
  const logText = (setup: Setup): string[] => setup.logs.entries.map((entry) => `${entry.message} ${JSON.stringify(entry.fields)}`);

  it.each([
    [
      "a signature made with another secret",
      { "x-hub-signature-256": sign(body, "another-secret") },
      400,
      "the signature does not match the body and the webhook secret",
    ],
    ["no signature header", { "x-hub-signature-256": "" }, 400, "missing header x-hub-signature-256"],
    [
      "a signature cut short",
      { "x-hub-signature-256": sign(body).slice(0, 30) },
      400,
      "X-Hub-Signature-256 is not sha256= followed by 64 hex digits",
    ],
    [
      "a sha1= signature",
      { "x-hub-signature-256": `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}` },
      400,
      "X-Hub-Signature-256 is not sha256= followed by 64 hex digits",
    ],
    ["no event header", { "x-github-event": "" }, 400, "missing header x-github-event"],
    ["no delivery header", { "x-github-delivery": "" }, 400, "missing header x-github-delivery"],
    ["a form-encoded body", { "content-type": "application/x-www-form-urlencoded" }, 415, "Content-Type must be application/json"],
  ])("(%s) is refused with its status, never handled, logged once without its payload", async (_name, extra, status, why) => {
    const setup = await start();
    const sent = Object.fromEntries(Object.entries(headers(body, extra as Record<string, string>)).filter(([, value]) => value !== ""));
    const answer = await send(setup, { headers: sent, chunks: [body] });
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toEqual({ error: why });
    expect(setup.received).toEqual([]);
    expect(setup.logs.entries).toEqual([expect.objectContaining({ level: "warn", message: `webhook refused (${status}): ${why}` })]);
    expect(logText(setup).join("\n")).not.toContain(marker);
  });

  it("signed correctly but not JSON is refused 400 and its text is not logged", async () => {
    const setup = await start();
    const text = `{"action": "opened", ${marker}`;
    const answer = await send(setup, { headers: headers(text), chunks: [text] });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ error: "the body is signed but is not JSON" });
    expect(setup.received).toEqual([]);
    expect(logText(setup).join("\n")).not.toContain(marker);
  });

  it("signed correctly but a JSON array is refused 400", async () => {
    const setup = await start();
    const text = "[1,2,3]";
    expect(await send(setup, { headers: headers(text), chunks: [text] })).toMatchObject({ status: 400 });
    expect(setup.received).toEqual([]);
  });

  it("with GET is answered 405 with Allow: POST", async () => {
    const setup = await start();
    const answer = await send(setup, { method: "GET", headers: {} });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("POST");
  });

  it("logs its headers cut to 64 plain characters: no control characters, no long text", async () => {
    const setup = await start();
    // Node refuses C0 controls in headers; bytes 0x80-0xFF arrive (read as Latin-1), 0x9B being a C1 CSI.
    const delivery = Buffer.concat([Buffer.from("abc"), Buffer.from([0x9b]), Buffer.from(`31m${"d".repeat(500)}`)]);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(setup.port, "127.0.0.1", () => {
        socket.write(
          Buffer.concat([
            Buffer.from(
              `POST ${PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-github-event: pull_request\r\nx-hub-signature-256: sha256=00\r\ncontent-length: 2\r\nx-github-delivery: `,
            ),
            delivery,
            Buffer.from("\r\nconnection: close\r\n\r\n{}"),
          ]),
        );
      });
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    const [entry] = setup.logs.entries;
    expect((entry!.fields as { delivery: string }).delivery).toBe(`abc?31m${"d".repeat(57)}…`);
  });
});

describe("size", () => {
  it("a declared Content-Length over the limit is answered 413 before the body is sent at all", async () => {
    const setup = await start();
    const answer = await send(setup, { headers: { ...headers("x"), "content-length": String(LIMIT + 1) }, chunks: [], stall: true });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: `the body is ${LIMIT + 1} bytes; the limit is ${LIMIT}` });
    expect(setup.logs.entries).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ bytesRead: 0, contentLength: LIMIT + 1 }) }),
    ]);
  });

  it("a signature in the wrong form is refused before the body is sent at all", async () => {
    const setup = await start();
    const answer = await send(setup, {
      headers: { ...headers("x"), "x-hub-signature-256": "sha256=nope", "content-length": "1000" },
      chunks: [],
      stall: true,
    });
    expect(answer.status).toBe(400);
  });

  it("a chunked body growing past the limit is answered 413 once it does, having read at most one chunk more", async () => {
    // The sender is still writing when the answer comes: it must have time to read it before the cut.
    const setup = await start({ lingerMs: 2_000 });
    const chunk = Buffer.alloc(16 * 1024, "a");
    const answer = await send(setup, { headers: headers("x"), chunks: Array.from({ length: 64 }, () => chunk), stall: true });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: `the body is over the limit of ${LIMIT} bytes` });
    const read = (setup.logs.entries[0]!.fields as { bytesRead: number }).bytesRead;
    expect(read).toBeGreaterThan(LIMIT);
    expect(read).toBeLessThanOrEqual(LIMIT + 64 * 1024);
    expect(setup.received).toEqual([]);
  });

  it("bodies read at once hold at most maxBufferedBytes together: beyond it, 503 with Retry-After", async () => {
    const setup = await start({ maxBufferedBytes: 40 * 1024, bodyTimeoutMs: 2_000 });
    const half = Buffer.alloc(30 * 1024, "a");
    // The first body stays open, holding 30 KiB; the second would bring the total over 40 KiB.
    const first = send(setup, { headers: headers("x"), chunks: [half], stall: true });
    await new Promise((r) => setTimeout(r, 200)); // loopback: the 30 KiB have arrived by then
    const second = await send(setup, { headers: headers("y"), chunks: [half], stall: true });
    expect(second.status).toBe(503);
    expect(second.headers["retry-after"]).toBe("5");
    expect(await first).toMatchObject({ status: 408 });
  });
});

describe("time", () => {
  it("a body that stops arriving is answered 408 after bodyTimeoutMs and the connection closed", async () => {
    const setup = await start();
    const answer = await send(setup, { headers: headers(payload), chunks: [payload.slice(0, 10)], stall: true });
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe("close");
    expect(setup.received).toEqual([]);
    expect(setup.logs.entries).toEqual([
      expect.objectContaining({ message: "webhook refused (408): the body did not arrive in full within 0.3 s" }),
    ]);
  });

  it("headers that stop arriving are cut off after headersTimeoutMs", async () => {
    const setup = await start({}, { headersTimeoutMs: 300 });
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(setup.port, "127.0.0.1", () => socket.write(`POST ${PATH} HTTP/1.1\r\nHost: x\r\nx-github-event: pu`));
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("headers over 16 KiB are refused by Node with 431", async () => {
    const setup = await start();
    const head = Object.entries({
      ...headers(payload),
      "content-length": String(payload.length),
      host: "x",
      "x-padding": "p".repeat(20 * 1024),
    });
    const reply = await new Promise<string>((resolve) => {
      let text = "";
      const socket = connect(setup.port, "127.0.0.1", () => {
        socket.write(`POST ${PATH} HTTP/1.1\r\n${head.map(([name, value]) => `${name}: ${value}`).join("\r\n")}\r\n\r\n${payload}`);
      });
      const done = (): void => {
        socket.destroy();
        resolve(text);
      };
      socket.on("data", (chunk) => {
        text += chunk.toString();
        if (text.includes("\r\n\r\n")) done();
      });
      socket.on("end", done);
      socket.on("close", done);
      socket.on("error", done);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(setup.received).toEqual([]);
  });

  it("a sender that gives up mid-body is logged once, and nothing is handled", async () => {
    const setup = await start({ bodyTimeoutMs: 5_000 });
    await new Promise<void>((resolve) => {
      const socket = connect(setup.port, "127.0.0.1", () => {
        const head = Object.entries({ ...headers(payload), "content-length": "1000", host: "x" }).map(
          ([name, value]) => `${name}: ${value}`,
        );
        socket.write(`POST ${PATH} HTTP/1.1\r\n${head.join("\r\n")}\r\n\r\n${payload.slice(0, 20)}`, () => {
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 50);
        });
      });
    });
    await waitUntil(() => setup.logs.entries.length > 0);
    expect(setup.logs.entries).toEqual([
      expect.objectContaining({ message: "webhook refused: the sender closed the connection before the body was complete" }),
    ]);
    expect(setup.received).toEqual([]);
  });
});

describe("other routes", () => {
  it("GET /ping answers PONG; anything else 404", async () => {
    const setup = await start();
    expect(await send(setup, { method: "GET", path: "/ping", headers: {} })).toMatchObject({ status: 200, body: "PONG" });
    expect(await send(setup, { method: "GET", path: "/probot", headers: {} })).toMatchObject({ status: 404 });
    expect(await send(setup, { path: "/api/github/webhooks-other", headers: headers(payload), chunks: [payload] })).toMatchObject({
      status: 404,
    });
    expect(setup.received).toEqual([]);
  });

  it("the webhook path with a trailing slash or a query is the webhook path", async () => {
    const setup = await start();
    expect(await send(setup, { path: `${PATH}/?x=1`, headers: headers(payload), chunks: [payload] })).toMatchObject({ status: 200 });
    expect(setup.received).toHaveLength(1);
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}
