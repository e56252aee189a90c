/**
 * The app's Prometheus metrics (`GET /metrics`, prom-client). One `AppMetrics` per running app,
 * each with its own registry (never prom-client's global one), so that several apps in one
 * process (tests) keep their numbers apart.
 *
 * Labels are bounded: an outcome, a write kind, an HTTP status, a ledger operation name, an
 * installation id. No label or value is ever a secret value, a repository, a person or an error
 * text. Metrics read from the ledger (live grants) describe the shared database, so with several
 * replicas every replica reports the same number (aggregate with `max`, not `sum`); the others
 * count what this process did.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RateLimitReserve } from "../github/rate-limit-reserve.js";
import type { WriteKind } from "../github/write-scheduler.js";

export const METRICS_PREFIX = "jit_access_";

/** How each grant's story ended, or went on: counted once per state change this process made. */
export type GrantOutcome = "granted" | "failed" | "deferred" | "expired" | "revoked";

export interface MetricSources {
  /** Grants in a live state (`granting` or `active`) in the ledger. */
  liveGrants?: () => Promise<number>;
  /** Writes waiting in the write scheduler, by kind. */
  queuedWrites?: () => Partial<Record<WriteKind, number>>;
  /** The rate-limit reserve: what GitHub last said of each installation's limit. */
  rateLimits?: Pick<RateLimitReserve, "snapshot">;
}

type Source<T> = () => T | Promise<T>;

const WRITE_KINDS: WriteKind[] = ["secret-delete", "secret-put", "check-run", "other", "label", "comment"];

export class AppMetrics {
  readonly registry = new Registry();
  readonly grants: Counter<"outcome">;
  readonly revocationLag: Histogram;
  readonly webhookDuration: Histogram<"event" | "outcome">;
  readonly githubErrors: Counter<"status">;
  readonly ledgerErrors: Counter<"operation">;
  #sources: MetricSources;
  #inboxBacklog: Source<number> = () => 0;

  constructor(sources: MetricSources = {}, options: { defaultMetrics?: boolean } = {}) {
    this.#sources = sources;
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    // Arrow functions keep the app's `this`; each `collect` below is called with its gauge as `this`.
    const current = (): MetricSources => this.#sources;
    const inboxBacklog = (): number | Promise<number> => this.#inboxBacklog();
    new Gauge({
      name: `${METRICS_PREFIX}live_grants`,
      help: "Grants in a live state (granting or active) in the ledger; the same on every replica sharing it",
      registers,
      async collect() {
        const source = current().liveGrants;
        if (!source) return;
        try {
          this.set(await source());
        } catch {
          // The ledger did not answer (counted as a ledger error); keep the last value.
        }
      },
    });
    this.grants = new Counter({
      name: `${METRICS_PREFIX}grants_total`,
      help: "Grant state changes made by this process, by outcome: granted, failed, deferred, expired, revoked",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["granted", "failed", "deferred", "expired", "revoked"] satisfies GrantOutcome[]) {
      this.grants.inc({ outcome }, 0);
    }
    this.revocationLag = new Histogram({
      name: `${METRICS_PREFIX}revocation_lag_seconds`,
      help: "Time from a grant's expiry to its confirmed end (secret deleted, ledger updated), for grants that ended at expiry",
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    this.webhookDuration = new Histogram({
      name: `${METRICS_PREFIX}webhook_processing_seconds`,
      help: "Time to process one verified webhook delivery, by event and outcome (ok or error)",
      labelNames: ["event", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    new Gauge({
      name: `${METRICS_PREFIX}webhook_inbox_backlog`,
      help: "Webhook deliveries recorded but not yet processed",
      registers,
      async collect() {
        try {
          this.set(await inboxBacklog());
        } catch {
          // Keep the last value.
        }
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}github_writes_queued`,
      help: "Writes to GitHub waiting in this process's paced queue, by kind (secret-delete goes first, comments and labels last)",
      labelNames: ["kind"],
      registers,
      collect() {
        const queued = current().queuedWrites?.() ?? {};
        for (const kind of WRITE_KINDS) this.set({ kind }, queued[kind] ?? 0);
      },
    });
    this.githubErrors = new Counter({
      name: `${METRICS_PREFIX}github_errors_total`,
      help: "GitHub API requests that failed, each attempt counted, by HTTP status (none: no answer, a timeout or a lost connection)",
      labelNames: ["status"],
      registers,
    });
    this.ledgerErrors = new Counter({
      name: `${METRICS_PREFIX}ledger_errors_total`,
      help: "Ledger calls that failed, by operation",
      labelNames: ["operation"],
      registers,
    });
    const rateLimitGauge = (name: string, help: string, value: (s: ReturnType<RateLimitReserve["snapshot"]>[number]) => number) =>
      new Gauge({
        name: `${METRICS_PREFIX}github_rate_limit_${name}`,
        help,
        labelNames: ["installation"],
        registers,
        collect() {
          this.reset();
          for (const seen of current().rateLimits?.snapshot() ?? []) this.set({ installation: seen.installation }, value(seen));
        },
      });
    rateLimitGauge("remaining", "Requests the installation has left, as GitHub last said", (s) => s.remaining);
    rateLimitGauge("limit", "The installation's request limit, as GitHub last said", (s) => s.limit);
    rateLimitGauge("reset_timestamp_seconds", "When the installation's limit resets (Unix time)", (s) => Math.round(s.resetAt / 1000));
    rateLimitGauge("holding", "1 while new evaluations for the installation wait for the reset (revocations go on)", (s) =>
      s.holding ? 1 : 0,
    );
  }

  /** Sets (or replaces) what the metric sources read; for parts built after the metrics. */
  setSources(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /**
   * What `webhook_inbox_backlog` reports: a function answering how many deliveries wait in the
   * inbox. Until one is set the backlog is 0 (deliveries are processed as they arrive).
   */
  setInboxBacklogSource(source: Source<number>): void {
    this.#inboxBacklog = source;
  }

  /** Counts one grant state change. */
  grantOutcome(outcome: GrantOutcome): void {
    this.grants.inc({ outcome });
  }

  /** A failed GitHub request: its HTTP status, or none (a timeout, a lost connection). */
  githubError(status: number | undefined): void {
    this.githubErrors.inc({
      status: status !== undefined && Number.isInteger(status) && status >= 400 && status < 600 ? String(status) : "none",
    });
  }

  /**
   * `fetch` for the GitHub client: each answer of 400 or over, and each request that got none,
   * is a GitHub error. Below Probot's retries, so each failed attempt counts.
   */
  countingFetch(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
    return async (input, init) => {
      let response: Response;
      try {
        response = await fetch(input, init);
      } catch (error) {
        this.githubError(undefined);
        throw error;
      }
      if (response.status >= 400) this.githubError(response.status);
      return response;
    };
  }

  /** Times `work` (one webhook delivery's processing) under its event name. */
  async timeWebhook<T>(event: string, work: () => Promise<T>): Promise<T> {
    const end = this.webhookDuration.startTimer();
    // Event names come from verified deliveries (GitHub's own); anything unexpected is folded.
    const name = /^[a-z_]{1,64}$/.test(event) ? event : "other";
    try {
      const result = await work();
      end({ event: name, outcome: "ok" });
      return result;
    } catch (error) {
      end({ event: name, outcome: "error" });
      throw error;
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
