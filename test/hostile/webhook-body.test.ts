/**
 * Webhook bodies sent to hurt the app, as an attacker who knows only the port would send them:
 * bodies far over GitHub's 25 MiB cap, with and without a declared length, unsigned or signed
 * with a guessed secret, and a flood of them while a grant is due to expire. The app runs as a
 * real process (`node dist/main.js`) at LOG_LEVEL=trace against the simulator; its memory is read
 * from /proc (Linux).
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { HOSTILE_WORLD_START_MS, type HostileWorld, REPO, requestFor, SECRET_VALUE, startHostileWorld } from "./helpers/hostile-world.js";

const MiB = 1024 * 1024;
const LIMIT = 25 * MiB;

let world: HostileWorld;

beforeAll(async () => {
  world = await startHostileWorld({ logLevel: "trace", sweepInterval: "1s" });
}, HOSTILE_WORLD_START_MS);

afterAll(async () => {
  await world?.close();
});

/** A signature of the right form made with a guessed secret: the app must read the body to refuse it. */
const guessedSignature = (body: Buffer | string): string => `sha256=${createHmac("sha256", "guessed-secret").update(body).digest("hex")}`;

interface Post {
  /** Total bytes to send: `chunk` repeated. */
  bytes: number;
  chunk: Buffer;
  /** Send Content-Length (true) or stream it chunked (false). */
  declare: boolean;
  signature?: string;
  delivery?: string;
}

/**
 * Posts a body to the webhook endpoint over a fresh connection, writing as fast as the app
 * reads, and stops writing as soon as the app answers. Resolves with the status (null when the
 * connection was cut before an answer) and how many bytes were written.
 */
function post(options: Post): Promise<{ status: number | null; written: number }> {
  // A raw socket, as an attacker's client would use: every error on it (the app cutting the
  // upload shows as ECONNRESET, EPIPE or, on Node 24, ECANCELED) is ours to see and ends the post.
  const url = new URL(world.app.url);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let written = 0;
    let status: number | null = null;
    let finished = false;
    let answer = "";
    const finish = (): void => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ status, written });
    };
    socket.on("error", finish);
    socket.on("close", finish);
    socket.on("end", finish);
    socket.on("data", (data: Buffer) => {
      answer += data.toString("latin1");
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      if (line && status === null) status = Number(line[1]);
      if (status !== null && answer.includes("\r\n\r\n")) finish();
    });
    const send = (data: string | Buffer): Promise<void> =>
      socket.write(data) ? Promise.resolve() : new Promise((r) => socket.once("drain", () => r()));
    socket.on("connect", () => {
      const head = [
        "POST /api/github/webhooks HTTP/1.1",
        `Host: ${url.host}`,
        "Content-Type: application/json",
        "X-GitHub-Event: pull_request",
        `X-GitHub-Delivery: ${options.delivery ?? randomUUID()}`,
        ...(options.signature !== undefined ? [`X-Hub-Signature-256: ${options.signature}`] : []),
        options.declare ? `Content-Length: ${options.bytes}` : "Transfer-Encoding: chunked",
        "Connection: close",
      ];
      const write = async (): Promise<void> => {
        await send(`${head.join("\r\n")}\r\n\r\n`);
        while (written < options.bytes && status === null && !finished) {
          const piece =
            options.bytes - written >= options.chunk.length ? options.chunk : options.chunk.subarray(0, options.bytes - written);
          written += piece.length;
          await send(
            options.declare ? piece : Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]),
          );
        }
        if (status === null && !finished && !options.declare) await send("0\r\n\r\n");
      };
      void write().catch(finish);
    });
  });
}

/** Resident memory of the app process, in bytes: now, and the peak since `resetPeak`. */
function memory(): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${world.app.pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS. */
function resetPeak(): void {
  writeFileSync(`/proc/${world.app.pid}/clear_refs`, "5");
}

/** The largest RSS of the app while `work` runs, sampled every 10 ms and from the kernel's peak. */
async function peakRssDuring<T>(work: () => Promise<T>): Promise<{ before: number; peak: number; result: T }> {
  resetPeak();
  const before = memory().rss;
  let sampled = before;
  const sampler = setInterval(() => (sampled = Math.max(sampled, memory().rss)), 10);
  try {
    const result = await work();
    return { before, peak: Math.max(sampled, memory().peak, memory().rss), result };
  } finally {
    clearInterval(sampler);
  }
}

const filler = (text: string, size = 64 * 1024): Buffer => Buffer.alloc(size, text);

/** The app's one log line for a refused delivery, once it is written. */
async function refusal(delivery: string): Promise<Record<string, unknown>> {
  const line = await world.sim.waitFor(
    () =>
      world.app
        .output()
        .split("\n")
        .find((candidate) => candidate.includes(delivery)) ?? null,
    {
      timeoutMs: 5_000,
      description: `the refusal of ${delivery}`,
    },
  );
  return JSON.parse(line) as Record<string, unknown>;
}

describe("an oversized body", () => {
  beforeAll(async () => {
    // Warm the path once so the measurements below are of the bodies, not of first use.
    await post({ bytes: 2 * MiB, chunk: filler("w"), declare: true, signature: guessedSignature("w") });
  });

  it("declared 100 MiB, signed with a guessed secret: 413 before the body is read, RSS up by less than 50 MB", async () => {
    const delivery = randomUUID();
    const { before, peak, result } = await peakRssDuring(() =>
      post({ bytes: 100 * MiB, chunk: filler("a"), declare: true, signature: guessedSignature("a"), delivery }),
    );
    expect(result.status).toBe(413);
    expect(peak - before).toBeLessThan(50 * 1000 * 1000);
    expect(await refusal(delivery)).toMatchObject({ status: 413, contentLength: 100 * MiB, bytesRead: 0 });
  });

  it("streamed without a length (chunked), 100 MiB, signed with a guessed secret: 413 once 25 MiB are read, RSS up by less than the 25 MiB it had to hold plus 50 MB", async () => {
    // Without a declared length the app cannot know the body is too big until it has read the
    // cap, and it cannot check the signature until the end, so it holds up to 25 MiB. What it
    // read is then garbage that the collector frees when it chooses (measured on Node 24: 30 to
    // 53 MB in all), so the bound is the cap plus the same allowance as for a body refused unread.
    const delivery = randomUUID();
    const { before, peak, result } = await peakRssDuring(() =>
      post({ bytes: 100 * MiB, chunk: filler("b"), declare: false, signature: guessedSignature("b"), delivery }),
    );
    expect(result.status).toBe(413);
    expect(peak - before).toBeLessThan(LIMIT + 50 * 1000 * 1000);
    const line = await refusal(delivery);
    expect(line).toMatchObject({ status: 413, contentLength: null });
    // Read up to the cap and at most one socket read past it.
    expect(line.bytesRead).toBeGreaterThan(LIMIT);
    expect(line.bytesRead).toBeLessThanOrEqual(LIMIT + MiB);
  });

  it("unsigned, declared 100 MiB: 400 before the body is read", async () => {
    const delivery = randomUUID();
    const result = await post({ bytes: 100 * MiB, chunk: filler("c"), declare: true, delivery });
    expect(result.status).toBe(400);
    expect(await refusal(delivery)).toMatchObject({
      status: 400,
      bytesRead: 0,
      msg: "webhook refused (400): missing header x-hub-signature-256",
    });
  });

  it("the app still answers a signed delivery afterwards", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    expect(await world.sim.deliverRaw({ event: "ping", body })).toBe(202);
  });
});

describe("an unsigned 1 MiB body at LOG_LEVEL=trace", () => {
  const MARKER = "Unverified-Payload-Text-5c0ffee";
  const body = Buffer.from(
    JSON.stringify({ action: "opened", pull_request: { title: MARKER, body: `${MARKER} `.repeat(Math.floor(MiB / (MARKER.length + 1))) } }),
  );
  const deliveries = { unsigned: randomUUID(), guessed: randomUUID(), empty: randomUUID() };

  beforeAll(async () => {
    expect(body.length).toBeGreaterThan(MiB - 64);
    expect((await post({ bytes: body.length, chunk: body, declare: true, delivery: deliveries.unsigned })).status).toBe(400);
    expect(
      (await post({ bytes: body.length, chunk: body, declare: true, delivery: deliveries.guessed, signature: guessedSignature(body) }))
        .status,
    ).toBe(400);
    expect((await post({ bytes: body.length, chunk: body, declare: false, delivery: deliveries.empty, signature: "" })).status).toBe(400);
    // The refusal lines are written before the answers; give the pipe a moment to deliver them.
    await world.sim.waitFor(() => (world.app.output().includes(deliveries.empty) ? true : null), {
      timeoutMs: 5_000,
      description: "the last refusal's log line",
    });
  });

  it("appears in no line of the app's output", () => {
    const lines = world.app.output().split("\n");
    expect(lines.filter((line) => line.includes(MARKER)).map((line) => line.slice(0, 200))).toEqual([]);
    expect(lines.filter((line) => line.includes("Unverified-Payload"))).toEqual([]);
  });

  it.each(Object.entries(deliveries))("(%s) is logged as one short line: delivery id, event, size and why", (_name, delivery) => {
    const lines = world.app
      .output()
      .split("\n")
      .filter((line) => line.includes(delivery));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(400);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ delivery, event: "pull_request", status: 400 });
    expect(entry.msg).toMatch(/^webhook refused \(400\): /);
    expect(typeof entry.bytesRead).toBe("number");
  });
});

describe("a flood of bad bodies while a grant expires", () => {
  it("does not delay the expiry: the secret is deleted on time and the ledger says so", async () => {
    const { sim } = world;
    sim.commit(REPO, "flood", { "jit-requests.yml": requestFor("6s") }, { from: "main", author: "alice" });
    const pr = await sim.openPullRequest(REPO, { head: "flood", base: "main", author: "alice", title: "Access during a flood" });
    await sim.waitFor(() => sim.checkRuns(REPO, { headSha: sim.pullRequest(REPO, pr).headSha, name: "jit-access" })[0], {
      description: "the waiting check",
    });
    const approval = sim.submitReview(REPO, pr, { reviewer: "bob", state: "APPROVED" });
    const secret = (): string | undefined => sim.secretValue(REPO, "production", "PROD_DB_URL");
    await sim.waitFor(() => (secret() === SECRET_VALUE ? true : null), { timeoutMs: 15_000, intervalMs: 10, description: "the grant" });

    // Four senders at once until the secret is gone (and a little after): bodies over the cap
    // declared and streamed, and 1 MiB bodies signed with a guessed secret.
    const refused: number[] = [];
    let stop = false;
    const floodStarted = Date.now();
    const sender = async (make: () => Post): Promise<void> => {
      while (!stop) refused.push((await post(make())).status ?? 0);
    };
    const flood = Promise.all([
      sender(() => ({ bytes: 60 * MiB, chunk: filler("d"), declare: true, signature: guessedSignature("d") })),
      sender(() => ({ bytes: 40 * MiB, chunk: filler("e"), declare: false, signature: guessedSignature("e") })),
      sender(() => ({ bytes: MiB, chunk: filler("f", MiB), declare: true, signature: guessedSignature("f") })),
      sender(() => ({ bytes: MiB, chunk: filler("g", MiB), declare: true })),
    ]);
    try {
      await sim.waitFor(() => (secret() === undefined ? true : null), { timeoutMs: 20_000, intervalMs: 10, description: "the expiry" });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stop = true;
      await flood;
    }
    await approval;

    const store = await openLedger(world.app.databaseUrl, { readonly: true });
    try {
      const [grant] = await store.listGrants({ owner: "acme", repo: "api", prNumber: pr, liveOnly: false });
      expect(grant).toMatchObject({ state: "expired" });
      const remove = sim.requests.find(
        (r) => r.method === "DELETE" && r.path.endsWith("/environments/production/secrets/PROD_DB_URL") && r.atMs >= floodStarted,
      );
      expect(remove).toBeDefined();
      // The flood was under way before the expiry and went on after the delete.
      expect(floodStarted).toBeLessThan(grant!.expiresAt.getTime());
      expect(refused.length).toBeGreaterThan(8);
      expect(new Set(refused)).toEqual(new Set([400, 413]));
      // On time: not before the expiry, and less than 2.5 s after it (the sweep runs every second;
      // the exact timer fires at the expiry). Before the endpoint was bounded: 8.5 s late.
      expect(remove!.atMs).toBeGreaterThanOrEqual(grant!.expiresAt.getTime());
      expect(remove!.atMs - grant!.expiresAt.getTime()).toBeLessThan(2_500);
    } finally {
      await store.close();
    }
  }, 60_000);
});
