import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { RateLimitReserve } from "../../src/github/rate-limit-reserve.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { IllegalTransitionError, type LedgerStore } from "../../src/ledger/store.js";
import { AppMetrics } from "../../src/metrics/app-metrics.js";
import { instrumentLedger } from "../../src/metrics/instrument-ledger.js";
import { ManualClock } from "../../src/util/clock.js";
import { grantFixture, seedGrant } from "../helpers/grant-fixture.js";
import { metricValue, parseMetrics, type Sample } from "../helpers/prometheus-text.js";

async function samples(metrics: AppMetrics): Promise<Sample[]> {
  return parseMetrics((await metrics.scrape()).body);
}

let raw: LedgerStore;
let metrics: AppMetrics;
let ledger: LedgerStore;
beforeEach(async () => {
  raw = await openLedger("sqlite::memory:");
  metrics = new AppMetrics({}, { defaultMetrics: false });
  ledger = instrumentLedger(raw, metrics);
  metrics.setSources({ liveGrants: async () => (await ledger.listGrants({ liveOnly: true })).length });
});
afterEach(() => ledger.close());

describe("the app's metrics", () => {
  it("keeps each app's numbers in its own registry", async () => {
    const other = new AppMetrics({}, { defaultMetrics: false });
    metrics.grantOutcome("granted");
    expect(metricValue(await samples(metrics), "jit_access_grants_total", { outcome: "granted" })).toBe(1);
    expect(metricValue(await samples(other), "jit_access_grants_total", { outcome: "granted" })).toBe(0);
    // Two apps with default metrics in one process do not collide either.
    expect(() => [new AppMetrics(), new AppMetrics()]).not.toThrow();
  });

  it("counts grant outcomes and live grants from the ledger, and the lag of an end at expiry", async () => {
    const active = await seedGrant(ledger, { createdAt: new Date("2026-03-01T08:00:00Z"), durationMs: 60_000 });
    await seedGrant(ledger, {}, "unwritten");
    let now = await samples(metrics);
    expect(metricValue(now, "jit_access_grants_total", { outcome: "granted" })).toBe(1);
    expect(metricValue(now, "jit_access_live_grants")).toBe(2);

    await ledger.markEnded(active.id, "expired", "expired", new Date(active.expiresAt.getTime() + 1_500));
    now = await samples(metrics);
    expect(metricValue(now, "jit_access_grants_total", { outcome: "expired" })).toBe(1);
    expect(metricValue(now, "jit_access_live_grants")).toBe(1);
    expect(metricValue(now, "jit_access_revocation_lag_seconds_count")).toBe(1);
    expect(metricValue(now, "jit_access_revocation_lag_seconds_sum")).toBe(1.5);
    expect(metricValue(now, "jit_access_revocation_lag_seconds_bucket", { le: "1" })).toBe(0);
    expect(metricValue(now, "jit_access_revocation_lag_seconds_bucket", { le: "2" })).toBe(1);

    const early = await seedGrant(ledger);
    await ledger.markEnded(early.id, "revoked", "operator", new Date("2026-03-01T08:30:00Z"));
    const failed = await seedGrant(ledger, {}, "unwritten");
    await ledger.markFailed(failed.id, "GitHub refused the write", new Date("2026-03-01T08:30:00Z"));
    now = await samples(metrics);
    expect(metricValue(now, "jit_access_grants_total", { outcome: "revoked" })).toBe(1);
    expect(metricValue(now, "jit_access_grants_total", { outcome: "failed" })).toBe(1);
    // An early revoke is not a revocation lag.
    expect(metricValue(now, "jit_access_revocation_lag_seconds_count")).toBe(1);
  });

  it("counts a failed ledger call as a ledger error, but not a refused transition or a closed ledger", async () => {
    const ended = await seedGrant(ledger, {}, "expired");
    await expect(ledger.markEnded(ended.id, "expired", "again", new Date())).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(metricValue(await samples(metrics), "jit_access_ledger_errors_total")).toBeUndefined();

    await expect(ledger.beginGrant({ ...grantFixture(), repositoryId: -1 })).rejects.toThrow();
    expect(metricValue(await samples(metrics), "jit_access_ledger_errors_total", { operation: "beginGrant" })).toBe(1);

    await raw.close();
    await expect(ledger.getGrant("x")).rejects.toThrow(/closed/);
    const afterClose = await samples(metrics);
    expect(metricValue(afterClose, "jit_access_ledger_errors_total", { operation: "getGrant" })).toBeUndefined();
    // The live-grants gauge keeps its last value when the ledger cannot answer.
    expect(metricValue(afterClose, "jit_access_live_grants")).toBe(0);
  });

  it("reports the inbox backlog from the source it is given, 0 until then", async () => {
    expect(metricValue(await samples(metrics), "jit_access_webhook_inbox_backlog")).toBe(0);
    metrics.setInboxBacklogSource(async () => 7);
    expect(metricValue(await samples(metrics), "jit_access_webhook_inbox_backlog")).toBe(7);
  });

  it("reports queued writes by kind and the rate-limit reserve by installation", async () => {
    const clock = new ManualClock(Date.parse("2026-03-01T08:00:00Z"));
    const writes = new WriteScheduler({ clock });
    const reserve = new RateLimitReserve(clock, { warn: () => undefined });
    metrics.setSources({ queuedWrites: () => writes.queued(), rateLimits: reserve });
    const release: (() => void)[] = [];
    const hold = () => new Promise<void>((resolve) => release.push(resolve));
    // A comment of installation 42 is being sent; its DELETE waits; installation 43's comment goes at once.
    const done = [
      writes.schedule("42", "comment", hold),
      writes.schedule("42", "secret-delete", hold),
      writes.schedule("43", "comment", hold),
    ];
    reserve.observe("42", {
      "x-ratelimit-remaining": "100",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-reset": String(Date.parse("2026-03-01T08:30:00Z") / 1000),
      date: new Date(clock.now()).toUTCString(),
    });

    const now = await samples(metrics);
    expect(metricValue(now, "jit_access_github_writes_queued", { kind: "secret-delete" })).toBe(1);
    expect(metricValue(now, "jit_access_github_writes_queued", { kind: "comment" })).toBe(0);
    expect(metricValue(now, "jit_access_github_writes_queued", { kind: "secret-put" })).toBe(0);
    expect(metricValue(now, "jit_access_github_rate_limit_remaining", { installation: "42" })).toBe(100);
    expect(metricValue(now, "jit_access_github_rate_limit_limit", { installation: "42" })).toBe(5000);
    expect(metricValue(now, "jit_access_github_rate_limit_holding", { installation: "42" })).toBe(1);
    expect(metricValue(now, "jit_access_github_rate_limit_reset_timestamp_seconds", { installation: "42" })).toBe(
      Date.parse("2026-03-01T08:30:00Z") / 1000,
    );
    for (const r of release) r();
    await Promise.all(done.slice(0, 1));
  });

  it("counts GitHub's error answers by status, and requests that got none", async () => {
    const answers = [200, 404, 502, 404];
    const fetch = metrics.countingFetch(async () => new Response(null, { status: answers.shift()! }));
    for (let i = 0; i < 4; i++) await fetch("http://github.test/");
    const lost = metrics.countingFetch(async () => Promise.reject(new TypeError("fetch failed")));
    await expect(lost("http://github.test/")).rejects.toThrow("fetch failed");
    const now = await samples(metrics);
    expect(metricValue(now, "jit_access_github_errors_total", { status: "404" })).toBe(2);
    expect(metricValue(now, "jit_access_github_errors_total", { status: "502" })).toBe(1);
    expect(metricValue(now, "jit_access_github_errors_total", { status: "none" })).toBe(1);
    expect(metricValue(now, "jit_access_github_errors_total", { status: "200" })).toBeUndefined();
  });

  it("times webhook processing by event and outcome, folding names that are not event names", async () => {
    await metrics.timeWebhook("pull_request", async () => undefined);
    await expect(metrics.timeWebhook("pull_request", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await metrics.timeWebhook("Not An Event/../", async () => undefined);
    const now = await samples(metrics);
    expect(metricValue(now, "jit_access_webhook_processing_seconds_count", { event: "pull_request", outcome: "ok" })).toBe(1);
    expect(metricValue(now, "jit_access_webhook_processing_seconds_count", { event: "pull_request", outcome: "error" })).toBe(1);
    expect(metricValue(now, "jit_access_webhook_processing_seconds_count", { event: "other", outcome: "ok" })).toBe(1);
  });
});
