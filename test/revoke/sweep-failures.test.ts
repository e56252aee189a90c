import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { ExpiryScheduler, SWEEP_FAILURES_UNTIL_UNREADY } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { healthRoutes, Readiness } from "../../src/server/health.js";
import { startHttpServer, type RunningServer } from "../../src/server/http-server.js";
import { ManualClock } from "../../src/util/clock.js";
import { seedGrant, tempLedgerDir } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

/**
 * The sweep is the safety net, so nothing else may stop it, and a sweep that keeps failing is
 * loud: failing to arm the exact timers never skips it, and after
 * `SWEEP_FAILURES_UNTIL_UNREADY` failures in a row the log says so at error and `/readyz` turns
 * red, until a sweep runs through again. On the manual clock; `/readyz` over real HTTP.
 */
const SWEEP_EVERY = 60_000;
const HOUR = 3_600_000;

let dir: Awaited<ReturnType<typeof tempLedgerDir>>;
let store: LedgerStore;
let scheduler: ExpiryScheduler | undefined;
let server: RunningServer | undefined;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;

beforeEach(async () => {
  dir = await tempLedgerDir();
  store = await openLedger(dir.url());
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await server?.stop();
  server = undefined;
  unmatched.stop();
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
  await dir.remove();
});

/** The ledger, with the named reads failing while `failing.on` is true. */
function failingReads(on: LedgerStore, methods: ("claimDueGrants" | "expiringBy")[]): { store: LedgerStore; failing: { on: boolean } } {
  const failing = { on: true };
  const wrapped = new Proxy(on, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (methods.includes(property as "claimDueGrants") && failing.on) {
        return () => Promise.reject(Object.assign(new Error("database disk image is malformed"), { code: "SQLITE_CORRUPT" }));
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { store: wrapped, failing };
}

function expiryCalls(secret: string, prNumber = 7): GitHubMock {
  const gh = new GitHubMock("acme", "api").deleteSecret("production", secret).comment(prNumber).setLabels(prNumber);
  return gh;
}

async function readyz(url: string): Promise<{ status: number; body: { ready: boolean; reasons: { code: string; message: string }[] } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; reasons: { code: string; message: string }[] } };
}

describe("failing to arm the exact timers", () => {
  it("never skips the sweep: a due grant is still revoked, and the failure is logged", async () => {
    const due = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 2 * HOUR) });
    const { store: broken } = failingReads(store, ["expiringBy"]);
    const clock = new ManualClock(EXPIRY_START);
    const { deps } = revocationDeps(broken, clock);
    const { log, entries } = recordingLog();
    scheduler = new ExpiryScheduler(deps, log, SWEEP_EVERY);
    expiryCalls("PROD_DB_URL");

    await scheduler.start();

    expect(await store.getGrant(due.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START) });
    expect(entries.filter((e) => e.level === "error").map((e) => e.message)).toEqual([
      "arming the expiry timers failed; the sweep still runs, and the next tick tries again",
      "arming the expiry timers failed; the sweep still runs, and the next tick tries again",
    ]);
    expect(scheduler.sweepHealth).toEqual({ failedInARow: 0, lastError: null, failing: false });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});

describe(`sweeps failing ${SWEEP_FAILURES_UNTIL_UNREADY} times in a row`, () => {
  it("turn /readyz red and log at error; a sweep that runs through turns it green again", async () => {
    const { store: broken, failing } = failingReads(store, ["claimDueGrants"]);
    const clock = new ManualClock(EXPIRY_START);
    const { deps } = revocationDeps(broken, clock);
    const { log, entries } = recordingLog();
    scheduler = new ExpiryScheduler(deps, log, SWEEP_EVERY);
    const sweeps = scheduler;
    const readiness = new Readiness({
      clock,
      log,
      probeLedger: () => store.getGrant("readiness-probe"),
      revokeOnly: false,
      sweeps: () => sweeps.sweepHealth,
      stopping: () => false,
    });
    nock.enableNetConnect("127.0.0.1");
    server = await startHttpServer({ host: "127.0.0.1", port: 0, log, routes: [healthRoutes(readiness, log)] });

    await scheduler.start(); // the first sweep fails
    expect(await readyz(server.url)).toEqual({ status: 200, body: { ready: true, reasons: [] } });
    await clock.advance(SWEEP_EVERY); // the second
    await scheduler.idle();
    expect((await readyz(server.url)).status).toBe(200);
    expect(scheduler.sweepHealth).toEqual({ failedInARow: 2, lastError: "database disk image is malformed", failing: false });

    await clock.advance(SWEEP_EVERY); // the third
    await scheduler.idle();

    expect(await readyz(server.url)).toEqual({
      status: 503,
      body: {
        ready: false,
        reasons: [
          {
            code: "sweeps-failing",
            message: "the last 3 sweeps failed, so grants are not being revoked; see the log and docs/operations.md",
          },
        ],
      },
    });
    const errors = entries.filter((e) => e.level === "error");
    expect(errors.map((e) => e.message)).toEqual([
      "sweep failed; retrying at the next interval",
      "sweep failed; retrying at the next interval",
      "sweep failed; retrying at the next interval",
      'the sweep has failed 3 times in a row: grants are not being revoked; /readyz reports not ready until a sweep runs through (see "The ledger is damaged" in docs/operations.md)',
    ]);
    expect(errors[3]!.fields).toEqual({ error: "database disk image is malformed", failedInARow: 3 });
    // /healthz still answers: the process is up.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await clock.advance(SWEEP_EVERY); // the fourth: still failing, still red, logged once more but not escalated again
    await scheduler.idle();
    expect((await readyz(server.url)).status).toBe(503);
    expect(entries.filter((e) => e.message.startsWith("the sweep has failed"))).toHaveLength(1);

    failing.on = false;
    await clock.advance(SWEEP_EVERY);
    await scheduler.idle();
    expect(await readyz(server.url)).toEqual({ status: 200, body: { ready: true, reasons: [] } });
    expect(entries.at(-1)).toMatchObject({ level: "warn", message: "the sweep runs through again", fields: { failedInARow: 4 } });
  });

  it("a ledger that cannot answer a read is reported as unreachable at once, the error only in the log", async () => {
    const { store: broken } = failingReads(store, []);
    const clock = new ManualClock(EXPIRY_START);
    const { log, entries } = recordingLog();
    let probeFails = true;
    const readiness = new Readiness({
      clock,
      log,
      probeLedger: () =>
        probeFails ? Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:5432")) : broken.getGrant("readiness-probe"),
      revokeOnly: false,
      sweeps: () => null,
      stopping: () => false,
    });
    nock.enableNetConnect("127.0.0.1");
    server = await startHttpServer({ host: "127.0.0.1", port: 0, log, routes: [healthRoutes(readiness, log)] });

    const red = await readyz(server.url);
    expect(red).toEqual({
      status: 503,
      body: { ready: false, reasons: [{ code: "ledger-unreachable", message: "the ledger is unreachable: a read failed; see the log" }] },
    });
    expect(JSON.stringify(red)).not.toContain("10.0.0.5");
    expect(entries).toEqual([
      { level: "error", message: "readiness: a read from the ledger failed", fields: { error: "connect ECONNREFUSED 10.0.0.5:5432" } },
    ]);

    // Asked again within 5 s: the outcome is reused, the ledger not read again.
    probeFails = false;
    expect((await readyz(server.url)).status).toBe(503);
    await clock.advance(5_000);
    expect((await readyz(server.url)).status).toBe(200);
  });
});
