import { NO_CATALOG } from "../../src/app/load-catalog-or-none.js";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createLifecycleDeps } from "../../src/app/create-lifecycle-deps.js";
import { HARNESS_SETTINGS } from "../helpers/harness-settings.js";
import nock from "nock";
import { pino } from "pino";
import { Probot } from "probot";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { LABELS } from "../../src/revoke/revoke-grant.js";
import { ManualClock } from "../../src/util/clock.js";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { nockTraffic, type NockTraffic } from "../helpers/nock-traffic.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";

/**
 * The sweep under GitHub's write pacing (one write a second, comments three seconds apart, on
 * the manual clock): a revocation waiting for its turn to comment must not hold back the DELETE
 * of the next due grant, even on the next page of the ledger.
 */
const HOUR = 3_600_000;

let store: LedgerStore;
let clock: ManualClock;
let deps: LifecycleDeps;
let Octokit: ReturnType<typeof createAppOctokit>;
const { log } = recordingLog();

beforeEach(async () => {
  nock.disableNetConnect();
  store = await openLedger("sqlite::memory:");
  clock = new ManualClock(EXPIRY_START);
  const scheduler = new WriteScheduler({ clock, writeIntervalMs: 1000, notifyIntervalMs: 3000 });
  Octokit = createAppOctokit({ scheduler, clock }, { retry: false });
  const probot = new Probot({ githubToken: "test", Octokit, log: pino({ level: "silent" }) });
  deps = createLifecycleDeps({
    store,
    catalog: { ok: true, catalog: NO_CATALOG },
    clock,
    settings: HARNESS_SETTINGS,
    sourceEnv: {},
    locks: new KeyedMutex(),
    caches: false,
    octokitFor: (installationId) => probot.auth(installationId),
  });
});
afterEach(async () => {
  nock.cleanAll();
  await store.close();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe("sweepOnce with paced writes", () => {
  it("sends every due grant's DELETE before any grant's comment and labels, across pages", async () => {
    const github = await expectExpiries(["A_KEY", "B_KEY", "C_KEY"]);

    const sweeping = sweepOnce(deps, log, { pageSize: 1 });
    await runPacedClockUntil(github, () => github.sent.length >= 3);
    expect(github.sent.slice(0, 3)).toEqual(["A_KEY", "B_KEY", "C_KEY"].map(deleteOf));

    await runPacedClockUntil(github, () => nock.pendingMocks().length === 0);
    expect(await sweeping).toEqual({ due: 3, ended: 3, retrying: 0 });
  });

  it("keeps at most `concurrency` revocations in flight, and still ends every one, every DELETE first", async () => {
    const github = await expectExpiries(["A_KEY", "B_KEY", "C_KEY", "D_KEY"]);

    const sweeping = sweepOnce(deps, log, { pageSize: 1, concurrency: 2 });
    await runPacedClockUntil(github, () => github.sent.length >= 5);
    // A revocation leaves its slot once its end is recorded; its PR is told after the last DELETE.
    expect(github.sent.slice(0, 5)).toEqual([
      ...["A_KEY", "B_KEY", "C_KEY", "D_KEY"].map(deleteOf),
      "POST /repos/acme/api/issues/10/comments",
    ]);

    await runPacedClockUntil(github, () => nock.pendingMocks().length === 0);
    expect(await sweeping).toEqual({ due: 4, ended: 4, retrying: 0 });
  });

  it("sends every DELETE before the first comment when many grants are due across installations", async () => {
    // Each installation writes in its own lane: one with few due grants is done with its DELETEs
    // long before one with many, and must still not comment before that one's last DELETE.
    deps.octokitFor = (installationId) => Promise.resolve(new Octokit({ auth: { token: "test", installationId } }));
    const layout = [6, 1, 3, 1, 2]; // due grants per installation
    const secrets = layout.flatMap((count, installation) =>
      Array.from({ length: count }, (_, i) => ({ secret: `K${installation}_${i}`, installation })),
    );
    const github = await expectExpiries(
      secrets.map((s) => s.secret),
      (i) => 1 + secrets[i]!.installation,
    );

    const sweeping = sweepOnce(deps, log, { pageSize: 4 });
    await runPacedClockUntil(github, () => nock.pendingMocks().length === 0);
    expect(await sweeping).toEqual({ due: secrets.length, ended: secrets.length, retrying: 0 });

    const deletes = github.sent.flatMap((request, index) =>
      request.startsWith("DELETE ") && request.includes("/secrets/") ? [index] : [],
    );
    const comments = github.sent.flatMap((request, index) => (request.endsWith("/comments") ? [index] : []));
    expect(deletes).toHaveLength(secrets.length);
    expect(comments).toHaveLength(secrets.length);
    expect(Math.max(...deletes)).toBeLessThan(Math.min(...comments));
  });
});

const deleteOf = (secret: string): string => `DELETE /repos/acme/api/environments/production/secrets/${secret}`;

/**
 * Seeds one overdue grant per secret (PR #10, #11, …, oldest first) and the calls each expiry
 * makes; returns GitHub's traffic: the requests it receives, in order, as "METHOD /path".
 */
async function expectExpiries(secrets: string[], installationOf: (index: number) => number = () => 42): Promise<NockTraffic> {
  const gh = new GitHubMock("acme", "api");
  const traffic = nockTraffic(gh.scope);
  for (const [i, secret] of secrets.entries()) {
    await seedGrant(store, {
      secret,
      prNumber: 10 + i,
      installationId: installationOf(i),
      createdAt: new Date(EXPIRY_START - 3 * HOUR + i),
    });
    gh.deleteSecret("production", secret)
      .comment(10 + i)
      .setLabels(10 + i, [LABELS.granted]);
  }
  return traffic;
}

/**
 * Moves the clock a second at a time until `done()` (at most a minute of app time); before each
 * step, waits until GitHub has answered every request sent so far, so that time never moves on
 * while a write is waiting for its answer.
 */
async function runPacedClockUntil(github: NockTraffic, done: () => boolean): Promise<void> {
  for (let second = 0; second < 60; second++) {
    await github.answered();
    if (done()) return;
    await clock.advance(1000);
  }
  throw new Error("not done after a minute of paced writes");
}
