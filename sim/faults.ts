/**
 * Fault switches: make matching API requests fail, slow down or hang, a given number of times.
 * Used by hardening tests (secondary rate limits, 5xx, expired tokens, lost responses).
 */
import { DOCS } from "./shapes/urls.js";

export interface FaultSpec {
  /** Only this method (e.g. "PUT"); any method when omitted. */
  method?: string;
  /**
   * A RegExp is tested against the request path (after /api/v3, before the query), both as
   * sent and percent-decoded. A string must equal that path or the OpenAPI path template,
   * e.g. "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}".
   */
  path: RegExp | string;
  /** The status to answer. Without it (and without `hang`) the fault only delays the request. */
  status?: number;
  /** How many matching requests fail; every one until removed when omitted. */
  times?: number;
  /** Extra response headers, e.g. `{ "retry-after": "1" }`. */
  headers?: Record<string, string>;
  /** Response body; GitHub's usual body for the status when omitted. */
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (until the simulator closes). */
  hang?: boolean;
  /**
   * Hold the request until this promise settles (or the simulator closes), then go on: answer
   * with `status` if given, else handle the request as usual. For a test that must do something
   * while the app's request is in flight, e.g. `until: released` with `released` a promise the
   * test resolves once it is done; `sim.faults.fired(id)` tells when the request has arrived.
   */
  until?: Promise<unknown>;
  /**
   * Let the request take effect, then answer with the fault: the write happened but the
   * caller never learned it (a lost response).
   */
  afterEffect?: boolean;
}

export interface ActiveFault extends Readonly<FaultSpec> {
  readonly id: string;
  /** How many requests this fault has answered so far. */
  readonly fired: number;
}

const SECONDARY_RATE_LIMIT =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";

/** GitHub's usual body and headers for a fault status. */
export function defaultFaultResponse(status: number, nowMs: number): { body: Record<string, unknown>; headers: Record<string, string> } {
  const body = (message: string, docs = DOCS) => ({ message, documentation_url: docs, status: String(status) });
  switch (status) {
    case 401:
      return { body: body("Bad credentials"), headers: {} };
    case 403:
      return {
        body: body(SECONDARY_RATE_LIMIT, "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"),
        headers: { "retry-after": "1" },
      };
    case 404:
      return { body: body("Not Found"), headers: {} };
    case 422:
      return { body: body("Validation Failed"), headers: {} };
    case 429:
      return {
        body: body("API rate limit exceeded for installation.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"),
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil(nowMs / 1000) + 1) },
      };
    default:
      return { body: body(status >= 500 ? "Server Error" : "Fault injected by the simulator"), headers: {} };
  }
}

interface FaultEntry {
  id: string;
  spec: FaultSpec;
  fired: number;
}

export class FaultSwitches {
  private readonly entries: FaultEntry[] = [];
  /** Fired counts of faults that ran out of `times`. */
  private readonly spent = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly expire: (installationId?: number) => number) {}

  /** Adds a fault; returns its id (for `remove` and `fired`). */
  add(spec: FaultSpec): string {
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
      throw new Error(`Fault "times" must be a positive integer, got ${spec.times}.`);
    }
    if (spec.status === undefined && !spec.hang && spec.delayMs === undefined && spec.until === undefined) {
      throw new Error("A fault needs a status, hang: true, delayMs, or until.");
    }
    const id = `fault-${this.nextId}`;
    this.nextId += 1;
    this.entries.push({ id, spec: { ...spec }, fired: 0 });
    return id;
  }

  remove(id: string): void {
    const index = this.entries.findIndex((entry) => entry.id === id);
    if (index >= 0) this.entries.splice(index, 1);
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** How many requests fault `id` has answered (0 if unknown). */
  fired(id: string): number {
    return this.entries.find((entry) => entry.id === id)?.fired ?? this.spent.get(id) ?? 0;
  }

  list(): ActiveFault[] {
    return this.entries.map((entry) => ({ ...entry.spec, id: entry.id, fired: entry.fired }));
  }

  /** Makes current installation tokens (all, or one installation's) expire: they get 401. */
  expireTokens(installationId?: number): number {
    return this.expire(installationId);
  }

  /** The first fault matching this request, counted as fired; exhausted faults are removed. */
  take(method: string, rawPath: string, template: string): ActiveFault | undefined {
    let decoded = rawPath;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
    }
    const entry = this.entries.find(({ spec }) => {
      if (spec.method !== undefined && spec.method.toUpperCase() !== method) return false;
      if (typeof spec.path === "string") {
        const wanted = spec.path.replace(/^\/api\/v3/, "");
        return wanted === rawPath || wanted === decoded || wanted === template;
      }
      spec.path.lastIndex = 0;
      if (spec.path.test(rawPath)) return true;
      spec.path.lastIndex = 0;
      return spec.path.test(decoded);
    });
    if (!entry) return undefined;
    entry.fired += 1;
    if (entry.spec.times !== undefined && entry.fired >= entry.spec.times) {
      this.remove(entry.id);
      this.spent.set(entry.id, entry.fired);
    }
    return { ...entry.spec, id: entry.id, fired: entry.fired };
  }
}
