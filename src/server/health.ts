/**
 * `GET /healthz` and `GET /readyz`, next to `GET /ping`:
 *
 * - `/healthz`: the process is up and answering HTTP. Always `200 OK`; for a liveness probe.
 * - `/readyz`: the app is doing its whole job. `200` with `{"ready":true,"reasons":[]}`, or `503`
 *   with each reason it is not, as `{ code, message }`:
 *   - `shutting-down`: the stop sequence has begun;
 *   - `ledger-unreachable`: a read from the ledger failed or took over 2 s;
 *   - `revoke-only`: the catalog failed to load, so nothing can be granted (grants still end);
 *   - `sweeps-failing`: the last `SWEEP_FAILURES_UNTIL_UNREADY` sweeps failed, so grants are not
 *     being revoked.
 *
 * Anyone who can reach the port can read these, so the messages are fixed sentences: no path,
 * no catalog or ledger content, no error text. The log has the details. The ledger is read at
 * most once per `probeCacheMs` however often `/readyz` is asked.
 */
import type { SweepHealth } from "../app/expiry-scheduler.js";
import type { Log } from "../app/deps.js";
import type { Clock } from "../util/clock.js";
import type { RouteHandler } from "./webhook-endpoint.js";
import { errorSummary } from "../util/error-message.js";

export interface ReadinessSources {
  clock: Clock;
  log: Log;
  /** Resolves once the ledger answered a read; rejects when it cannot. */
  probeLedger(): Promise<unknown>;
  /** The catalog failed to load: the app is revoke-only. */
  revokeOnly: boolean;
  /** The expiry scheduler's sweeps (null before there is a scheduler). */
  sweeps(): SweepHealth | null;
  /** The stop sequence has begun. */
  stopping(): boolean;
  /** How long a ledger read may take; 2 s. */
  probeTimeoutMs?: number;
  /** How long a ledger read's outcome is reused; 5 s. */
  probeCacheMs?: number;
}

export type NotReadyCode = "shutting-down" | "ledger-unreachable" | "revoke-only" | "sweeps-failing";

export interface NotReady {
  code: NotReadyCode;
  message: string;
}

export const PROBE_TIMEOUT_MS = 2_000;
export const PROBE_CACHE_MS = 5_000;

export class Readiness {
  readonly #sources: ReadinessSources;
  #probe: { at: number; failure: Promise<string | null> } | null = null;

  constructor(sources: ReadinessSources) {
    this.#sources = sources;
  }

  /** Why the app is not ready; empty when it is. */
  async notReady(): Promise<NotReady[]> {
    const sources = this.#sources;
    const reasons: NotReady[] = [];
    if (sources.stopping()) reasons.push({ code: "shutting-down", message: "jit-access is shutting down" });
    const ledgerFailure = await this.#ledgerFailure();
    if (ledgerFailure !== null)
      reasons.push({ code: "ledger-unreachable", message: `the ledger is unreachable: ${ledgerFailure}; see the log` });
    if (sources.revokeOnly) {
      reasons.push({
        code: "revoke-only",
        message:
          "revoke-only: the catalog (JIT_CATALOG) failed to load, so nothing can be granted until it is fixed and the app restarted; grants still end on time; see the log",
      });
    }
    const sweeps = sources.sweeps();
    if (sweeps?.failing) {
      reasons.push({
        code: "sweeps-failing",
        message: `the last ${sweeps.failedInARow} sweeps failed, so grants are not being revoked; see the log and docs/operations.md`,
      });
    }
    return reasons;
  }

  /** Null when the ledger answered; else what went wrong, in a fixed sentence. */
  #ledgerFailure(): Promise<string | null> {
    const { clock } = this.#sources;
    const cacheMs = this.#sources.probeCacheMs ?? PROBE_CACHE_MS;
    if (this.#probe === null || clock.monotonic() - this.#probe.at >= cacheMs) {
      this.#probe = { at: clock.monotonic(), failure: this.#probeOnce() };
    }
    return this.#probe.failure;
  }

  #probeOnce(): Promise<string | null> {
    const { clock, log } = this.#sources;
    const timeoutMs = this.#sources.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
    return new Promise<string | null>((resolve) => {
      const timer = clock.setTimer(() => {
        log.error({ timeoutMs }, "readiness: the ledger did not answer a read in time");
        resolve(`a read took over ${timeoutMs / 1000} s`);
      }, timeoutMs);
      const settle = (failure: string | null): void => {
        timer.cancel();
        resolve(failure);
      };
      // Called in an async function, a probe that throws at once fails like a read that failed.
      const probing = (async () => this.#sources.probeLedger())();
      probing.then(
        () => settle(null),
        (error: unknown) => {
          log.error({ error: errorSummary(error) }, "readiness: a read from the ledger failed");
          settle("a read failed");
        },
      );
    });
  }
}

/** `/healthz` and `/readyz` (GET only; anything else falls through to the next route). */
export function healthRoutes(readiness: Readiness, log: Log): RouteHandler {
  return (request, response) => {
    if (request.method !== "GET") return false;
    const path = (request.url ?? "").split("?")[0];
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" }).end("OK");
      return true;
    }
    if (path !== "/readyz") return false;
    readiness.notReady().then(
      (reasons) => {
        const body = JSON.stringify({ ready: reasons.length === 0, reasons });
        response.writeHead(reasons.length === 0 ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
      },
      (error: unknown) => {
        log.error({ error: errorSummary(error) }, "readiness check failed");
        if (!response.headersSent) response.writeHead(500).end();
      },
    );
    return true;
  };
}
