import { EventEmitter } from "node:events";
import type { Clock } from "../../../src/util/clock.js";
import { flushPromises } from "../../../src/util/clock.js";

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
/** Rounds in a row with nothing in flight and nothing started or ended, for `idle()`. */
const QUIET_ROUNDS = 3;

/** One API request the app sent, stamped with the app's (injected) clock. */
export interface AppRequest {
  /** The app's wall clock when the request left, in ms. */
  at: number;
  /** The app's monotonic clock when the request left (differs from `at` once the wall clock steps). */
  monotonicAt: number;
  method: string;
  /** Path after /api/v3, without the query, as sent (percent-encoded). */
  path: string;
  /** The answer's status; 0 while in flight or when no answer came. */
  status: number;
  /** The error's name when no answer came (e.g. AbortError for an abandoned request). */
  error?: string;
}

/** Requests to leave out when deciding whether the app has settled (e.g. ones a fault holds forever). */
export type Ignore = (request: AppRequest) => boolean;

/**
 * Wraps the app's `fetch` (Probot's `request.fetch` option) to record every API request with
 * the app's clock, and counts work in flight — API requests, and webhook deliveries on their
 * way to a handler — so a test can let the app settle before it moves the clock. A handler
 * waiting for the clock (a paced write) is settled: only the clock can move it on.
 */
export class RequestTracker {
  readonly requests: AppRequest[] = [];
  readonly #events = new EventEmitter();
  readonly #inFlight = new Set<AppRequest>();
  /** Deliveries on their way, by delivery id (a redelivery reuses the id). */
  readonly #inTransit = new Map<string, number>();
  /** Requests and deliveries started or ended so far: a quiet round sees none. */
  #changes = 0;

  constructor(private readonly clock: Clock) {
    this.#events.setMaxListeners(0);
  }

  /** A fetch for Probot's `request.fetch`. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const entry: AppRequest = {
      at: this.clock.now(),
      monotonicAt: this.clock.monotonic(),
      method: (init?.method ?? "GET").toUpperCase(),
      path: url.pathname.replace(/^\/api\/v3(?=\/)/, ""),
      status: 0,
    };
    this.requests.push(entry);
    this.#inFlight.add(entry);
    this.#changed();
    try {
      const response = await fetch(input, init);
      entry.status = response.status;
      // Read the body here, so the request counts as in flight until all of it has arrived.
      const body = NULL_BODY_STATUS.has(response.status) ? null : await response.arrayBuffer();
      const copy = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
      Object.defineProperty(copy, "url", { value: response.url });
      return copy;
    } catch (error) {
      entry.error = error instanceof Error ? error.name : String(error);
      throw error;
    } finally {
      this.#inFlight.delete(entry);
      this.#changed();
    }
  };

  /** A webhook delivery was sent: in flight until a handler starts on it or it is answered. */
  sent<T>(deliveryIds: string[], answered: Promise<T>): Promise<T> {
    for (const id of deliveryIds) this.#inTransit.set(id, (this.#inTransit.get(id) ?? 0) + 1);
    this.#changed();
    let pending = [...deliveryIds];
    const done = (): void => {
      for (const id of pending) this.arrived(id);
      pending = [];
    };
    answered.then(done, done);
    return answered;
  }

  /** A handler started on delivery `id`. */
  arrived(id: string): void {
    const waiting = this.#inTransit.get(id) ?? 0;
    if (waiting === 0) return;
    if (waiting === 1) this.#inTransit.delete(id);
    else this.#inTransit.set(id, waiting - 1);
    this.#changed();
  }

  /** Requests and deliveries in flight, leaving out requests `ignore` matches. */
  busy(ignore?: Ignore): number {
    let requests = 0;
    for (const request of this.#inFlight) if (!ignore?.(request)) requests++;
    let deliveries = 0;
    for (const count of this.#inTransit.values()) deliveries += count;
    return requests + deliveries;
  }

  /**
   * Resolves once nothing is in flight (but what `ignore` matches) and nothing has started or
   * ended for three quiet rounds. While anything is in flight it waits on the tracker's events
   * (a request or a delivery starting or ending), never on turns.
   *
   * The quiet rounds decide that nothing further is coming, which no event can say: between one
   * request and the next, Octokit's retry and throttling plugins hand each request through
   * zero-delay timers that nothing here sees, so an empty tracker alone does not show that the
   * app has settled. A round is a few event-loop turns and then a real 1 ms timer, which fires
   * only after every zero-delay timer queued before it; any request or delivery starting or
   * ending meanwhile makes the round not quiet. This serves the checks that nothing more
   * happens (`settle()` before "no further request was sent") and `runUntil`'s choice of when to
   * move the clock, where the awaited outcome itself is polled at every step within `maxMs` of
   * app time; no positive outcome is waited for by these rounds alone.
   */
  async idle(ignore?: Ignore): Promise<void> {
    for (let quiet = 0; quiet < QUIET_ROUNDS;) {
      if (this.busy(ignore) > 0) {
        await new Promise<void>((resolve) => this.#events.once("change", resolve));
        quiet = 0;
        continue;
      }
      const seen = this.#changes;
      await flushPromises(5);
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      quiet = this.busy(ignore) === 0 && this.#changes === seen ? quiet + 1 : 0;
    }
  }

  #changed(): void {
    this.#changes += 1;
    this.#events.emit("change");
  }
}
