import type { Octokit } from "@octokit/core";
import type { Clock } from "../util/clock.js";
import { classifyWrite } from "./classify-write.js";
import { rateLimitWait } from "./rate-limit-wait.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, sendWithTimeout, type RequestOptions } from "./request-timeout.js";
import type { RateLimitReserve } from "./rate-limit-reserve.js";
import type { WriteScheduler } from "./write-scheduler.js";

export interface PacingOptions {
  scheduler: WriteScheduler;
  clock: Clock;
  /** Rate-limited requests are retried this many times, each after GitHub's wait. */
  maxRetries?: number;
  /** A wait longer than this is not waited for here; the error goes to the caller. */
  maxWaitMs?: number;
  /** A request GitHub has not answered after this long is abandoned (default 30 s). */
  requestTimeoutMs?: number;
  /** Told what each answer says about the installation's rate limit. */
  rateLimits?: RateLimitReserve;
}

type RequestFn = (options: RequestOptions) => Promise<unknown>;

/**
 * An Octokit plugin that sends every write through the per-installation WriteScheduler and
 * honours GitHub's rate-limit answers: the installation's lane pauses for the time GitHub asks,
 * and the request is retried in its turn. A wait longer than `maxWaitMs` (a spent primary quota,
 * reset in half an hour) is not waited for by the request that met it — its caller gets the error
 * and decides (a grant is deferred, a revocation backs off) — but the installation still holds:
 * no write or read of it goes out until GitHub's time, so nothing is sent that GitHub has said it
 * will refuse. Every request has a deadline on the app's clock, so one that GitHub never answers
 * cannot hold the lane. Logs name the route, never a body.
 *
 * A request may carry `request.atTurn(options)`: it is run each time the request is about to be
 * sent (in its turn in the lane, and again before a retry), and may change the options (the
 * body) from what it reads then.
 */
export function pacingPlugin(pacing: PacingOptions) {
  const maxRetries = pacing.maxRetries ?? 3;
  const maxWaitMs = pacing.maxWaitMs ?? 120_000;
  const timeoutMs = pacing.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const sleep = (ms: number) => new Promise<void>((resolve) => pacing.clock.setTimer(resolve, ms));
  return (octokit: Octokit, options: { auth?: unknown }) => {
    const auth = options.auth as { installationId?: number | string } | undefined;
    const lane = auth?.installationId !== undefined ? String(auth.installationId) : "app";
    octokit.hook.wrap("request", async (request, requestOptions) => {
      const send = request as unknown as RequestFn;
      const opts = requestOptions as unknown as RequestOptions;
      const kind = classifyWrite(opts.method, opts.url);
      const timing = { clock: pacing.clock, timeoutMs, callerSignal: opts.request?.signal };
      const sendOnce = async () => {
        // A write whose body depends on what GitHub holds right before it is sent (set labels)
        // reads it here, in its turn, not when it was queued.
        const atTurn = opts.request?.["atTurn"];
        if (typeof atTurn === "function") await (atTurn as (options: RequestOptions) => Promise<void>)(opts);
        try {
          const response = await sendWithTimeout(send, opts, timing);
          pacing.rateLimits?.observe(lane, (response as { headers?: Record<string, unknown> } | undefined)?.headers);
          return response;
        } catch (error) {
          pacing.rateLimits?.observe(lane, (error as { response?: { headers?: Record<string, unknown> } } | undefined)?.response?.headers);
          throw error;
        }
      };
      // A read waits out the installation's pause as a write does in its lane.
      const sendRead = async () => {
        for (let held = pacing.scheduler.pausedFor(lane); held > 0; held = pacing.scheduler.pausedFor(lane)) await sleep(held);
        return sendOnce();
      };
      for (let attempt = 0; ; attempt++) {
        try {
          return (await (kind ? pacing.scheduler.schedule(lane, kind, sendOnce) : sendRead())) as never;
        } catch (error) {
          const wait = rateLimitWait(error, pacing.clock.now());
          if (wait === null) throw error;
          // GitHub refuses every request of the installation until then, not only this one.
          const alreadyHeld = pacing.scheduler.pausedFor(lane) > 0;
          pacing.scheduler.pauseFor(lane, wait);
          if (wait > maxWaitMs) {
            if (!alreadyHeld) {
              octokit.log.warn(
                `GitHub rate limit on ${opts.method} ${opts.url} (installation ${lane}): GitHub refuses this installation's requests ` +
                  `for ${Math.ceil(wait / 1000)} s; holding its writes and reads until then`,
              );
            }
            throw error;
          }
          if (attempt >= maxRetries) throw error;
          octokit.log.warn(
            `GitHub rate limit on ${opts.method} ${opts.url} (installation ${lane}): ` +
              `pausing this installation's writes for ${Math.ceil(wait / 1000)} s, then retrying (attempt ${attempt + 1} of ${maxRetries})`,
          );
        }
      }
    });
    return { [RUNS_AT_TURN]: true };
  };
}

/** Set on an Octokit whose requests' `request.atTurn` is run (this plugin is in it). */
export const RUNS_AT_TURN = "jitAccessRunsAtTurn";
