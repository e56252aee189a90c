import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { startWorld, WORLD_START_TIMEOUT_MS, type World } from "./helpers/e2e-world.js";
import { createRequestRepo, openRequest } from "./helpers/repo-setup.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";
import { secretExposures } from "./helpers/secret-exposures.js";
import { metricValue, parseMetrics, type Sample } from "../helpers/prometheus-text.js";

/**
 * `/healthz`, `/readyz` and `/metrics` of the real app process, scraped over HTTP as a probe and
 * Prometheus would, before and after a grant and its expiry.
 */
let world: World;
beforeAll(async () => {
  world = await startWorld();
}, WORLD_START_TIMEOUT_MS);
afterAll(() => world?.close());

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${world.app.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

describe("health, readiness and metrics of a running app", () => {
  it("answers the probes, and its metrics follow a grant from approval to expiry", async () => {
    const { sim } = world;
    const health = await fetch(`${world.app.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);
    const ready = await fetch(`${world.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, reasons: [] });

    const before = await scrape();
    expect(metricValue(before, "jit_access_live_grants")).toBe(0);
    expect(metricValue(before, "jit_access_grants_total", { outcome: "granted" })).toBe(0);
    expect(metricValue(before, "jit_access_webhook_inbox_backlog")).toBe(0);
    expect(metricValue(before, "jit_access_github_writes_queued", { kind: "secret-delete" })).toBe(0);
    expect(metricValue(before, "jit_access_ledger_errors_total")).toBeUndefined();
    expect(metricValue(before, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    // The grant comment fails once; Probot retries it.
    sim.faults.add({
      method: "POST",
      path: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      status: 502,
      times: 1,
    });
    const repo = createRequestRepo(world, "observed");
    const pr = await openRequest(world, repo, {
      branch: "need-db",
      files: { [REQUESTS_FILE]: requestsYaml([{ secret: "PROD_DB_URL", duration: "10s" }]) },
    });
    await sim.submitReview(repo, pr, { reviewer: "bob", state: "APPROVED" });
    expect(await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL"), { description: "the secret" })).toBe(
      SECRET_VALUES.PROD_DB_URL,
    );
    const granted = await sim.waitFor(
      async () => {
        const samples = await scrape();
        return metricValue(samples, "jit_access_grants_total", { outcome: "granted" }) === 1 ? samples : null;
      },
      { description: "the grant counted" },
    );
    expect(metricValue(granted, "jit_access_live_grants")).toBe(1);
    expect(
      metricValue(granted, "jit_access_webhook_processing_seconds_count", { event: "pull_request_review", outcome: "ok" }),
    ).toBeGreaterThan(0);
    expect(metricValue(granted, "jit_access_webhook_processing_seconds_count", { event: "pull_request", outcome: "ok" })).toBeGreaterThan(
      0,
    );

    await sim.waitFor(() => sim.comments(repo, pr).some((c) => c.body.includes("**Access granted.**")), {
      timeoutMs: 15_000,
      description: "the grant comment, after its retry",
    });
    const afterComment = await scrape();
    expect(metricValue(afterComment, "jit_access_github_errors_total", { status: "502" })).toBe(1);
    // What GitHub last said of the installation's rate limit (the app's own requests are "app").
    const installation = afterComment.find(
      (s) => s.name === "jit_access_github_rate_limit_remaining" && /^\d+$/.test(s.labels.installation ?? ""),
    )?.labels.installation;
    expect(installation).toBeDefined();
    expect(metricValue(afterComment, "jit_access_github_rate_limit_limit", { installation: installation! })).toBeGreaterThan(0);
    expect(
      metricValue(afterComment, "jit_access_github_rate_limit_reset_timestamp_seconds", { installation: installation! }),
    ).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metricValue(afterComment, "jit_access_github_rate_limit_holding", { installation: installation! })).toBe(0);

    // At expiry: one grant ended, its lag recorded, nothing live.
    await sim.waitFor(() => sim.secretValue(repo, "production", "PROD_DB_URL") === undefined, {
      timeoutMs: 20_000,
      description: "the deletion at expiry",
    });
    const expired = await sim.waitFor(
      async () => {
        const samples = await scrape();
        return metricValue(samples, "jit_access_grants_total", { outcome: "expired" }) === 1 ? samples : null;
      },
      { description: "the expiry counted" },
    );
    expect(metricValue(expired, "jit_access_live_grants")).toBe(0);
    expect(metricValue(expired, "jit_access_revocation_lag_seconds_count")).toBe(1);
    expect(metricValue(expired, "jit_access_revocation_lag_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(metricValue(expired, "jit_access_ledger_errors_total")).toBeUndefined();

    // No metric line names a repository, a person or a secret, let alone a value.
    const text = await (await fetch(`${world.app.url}/metrics`)).text();
    for (const word of ["observed", "acme", "alice", "bob", "PROD_DB_URL", ...Object.values(SECRET_VALUES)])
      expect(text).not.toContain(word);

    expect(sim.violations).toEqual([]);
    expect(secretExposures(world)).toEqual([]);
  }, 90_000);
});
