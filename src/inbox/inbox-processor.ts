/**
 * Processes the webhook inbox. The webhook endpoint records each verified delivery in the ledger
 * (`recordDelivery`, keyed by its `X-GitHub-Delivery` id: a redelivery or a copy sent to a second
 * replica is dropped) and answers `202` at once; this hands the recorded deliveries to the app's
 * handlers:
 *
 * - entries are claimed from the ledger with a lease (`claimDeliveries`: an owner id of this
 *   process and an expiry; PostgreSQL skips rows another replica is claiming), so any process
 *   may take any entry and none is taken twice while its lease lasts;
 * - an entry whose process died is claimed again once its lease has run out (after
 *   `maxAttempts` such claims it is marked dead instead: a delivery that kills its process does
 *   not kill every replica in turn);
 * - an entry whose handlers fail is retried with backoff (`backoffMs`), and after `maxAttempts`
 *   attempts it stays in the ledger as dead, with its error, logged at error: never silently
 *   dropped (`jit-access`'s ledger lists it: `listDeliveries("dead")`);
 * - processed entries are deleted after `retentionMs` (7 days, longer than GitHub's 3-day
 *   redelivery window, so a redelivery of a processed delivery is still recognised and dropped).
 *
 * Recording is a group commit: the deliveries whose bodies arrive in the same turn of the event
 * loop (and those arriving while one batch is being written) are recorded in one transaction,
 * one write to disk for all of them (`recordDeliveries`), and each is answered only once that
 * transaction has committed. A batch that fails rejects every delivery in it (each answered
 * `503`) and writes none of them; a batch refused for one delivery's input (not a storage
 * failure) is recorded again one delivery at a time, so one bad delivery fails only itself.
 *
 * Answering comes first: while deliveries are being recorded, no new entry is claimed (those
 * being processed go on), so a burst's answers do not queue behind its evaluations. A new entry
 * is processed in the process that recorded it as soon as no recording is under way (the next
 * turn of the event loop, for a single delivery), or after `answerFirstMs` (2 s) of recording
 * without a pause, whichever is first. Every `pollMs` each process also looks for entries that
 * are due (a retry, an expired lease, an entry another replica recorded and could not process). Handlers are written to be run again safely (a grant is
 * unique per request key, a revocation per grant state), which is what makes a lease that ran
 * out while its handlers were still running (longer than `leaseMs`) harmless.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { isStorageFailure } from "../ledger/storage-failure.js";
import { LedgerClosedError, type InboxEntry, type LedgerStore, type NewDelivery } from "../ledger/store.js";
import type { Log } from "../app/deps.js";
import type { Clock, TimerHandle } from "../util/clock.js";
import { errorMessage } from "../util/error-message.js";
import { holdingSlot } from "../util/work-slot.js";

export interface InboxEvent {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

export const INBOX_LEASE_MS = 5 * 60_000;
export const INBOX_POLL_MS = 5_000;
export const INBOX_MAX_ATTEMPTS = 8;
/**
 * Deliveries processed at once by one process while they read GitHub and use the CPU. A delivery
 * gives its slot back once it has a write for GitHub's pacing to wait for (`leaveSlot`, called by
 * the write scheduler): an evaluation keeps its delivery until its check run, comment and labels
 * are written, seconds in a busy installation, and slots held that long left approvals queuing in
 * the inbox while the process sat idle (docs/BENCHMARKS.md, "Inbox concurrency"). 16 evaluations
 * reading at once keep the app's concurrent requests near GitHub's limit of 100.
 */
export const INBOX_CONCURRENCY = 16;
/** Deliveries in flight at all, waiting for paced writes included: bounds their memory. */
export const INBOX_MAX_IN_FLIGHT = 1_000;
export const INBOX_RETENTION_MS = 7 * 24 * 60 * 60_000;
/** How long recording deliveries without a pause may hold back claiming new entries. */
export const INBOX_ANSWER_FIRST_MS = 2_000;
/** At most this many deliveries are recorded in one transaction… */
export const INBOX_MAX_BATCH = 500;
/** …and at most this many bytes of payload (a delivery over it alone is one batch). */
export const INBOX_MAX_BATCH_BYTES = 32 * 1024 * 1024;
const PRUNE_EVERY_MS = 60 * 60_000;

/** 10 s, 20 s, 40 s… doubling, at most 30 minutes. */
export function inboxBackoffMs(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempt - 1), 30 * 60_000);
}

export interface InboxProcessorOptions {
  store: LedgerStore;
  clock: Clock;
  log: Log;
  /** Runs the app's handlers for one delivery; rejects when one failed. */
  handle(event: InboxEvent): Promise<void>;
  /** This process's claim owner; unique per process start by default. */
  owner?: string;
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  backoffMs?: (attempt: number) => number;
  retentionMs?: number;
  /** How long recording without a pause may hold back claiming new entries; 2 s. */
  answerFirstMs?: number;
}

interface WaitingRecord {
  delivery: NewDelivery;
  resolve(result: { created: boolean }): void;
  reject(error: unknown): void;
}

export class InboxProcessor {
  readonly owner: string;
  readonly #options: InboxProcessorOptions;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #maxAttempts: number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: TimerHandle | null = null;
  #pumping: Promise<void> | null = null;
  #again = false;
  #stopping = false;
  #lastPrune = Number.NEGATIVE_INFINITY;
  /** Deliveries waiting for the next batch. */
  #waiting: WaitingRecord[] = [];
  /** A batch is scheduled or being written. */
  #flushing = false;
  /** Deliveries given to `accept` and not yet recorded (or refused). */
  #recording = 0;
  /** Deliveries being processed that still hold a slot (have not handed their work to the pacing). */
  #holding = 0;
  /** A claim was held back while recording; since when (monotonic). */
  #heldSince: number | null = null;
  /** The claim held back, run once recording pauses; `idle` waits for it. */
  #resuming: Promise<void> | null = null;

  constructor(options: InboxProcessorOptions) {
    this.#options = options;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#concurrency = options.concurrency ?? INBOX_CONCURRENCY;
    this.#leaseMs = options.leaseMs ?? INBOX_LEASE_MS;
    this.#pollMs = options.pollMs ?? INBOX_POLL_MS;
    this.#maxAttempts = options.maxAttempts ?? INBOX_MAX_ATTEMPTS;
  }

  /**
   * Records a verified delivery (the endpoint calls this before it answers) and starts
   * processing it. Resolves once the ledger holds it; rejects when the ledger could not record it.
   */
  async accept(event: { id: string; name: string; body: string }): Promise<"new" | "duplicate"> {
    const delivery = { id: event.id, event: event.name, payload: event.body, receivedAt: new Date(this.#options.clock.now()) };
    this.#recording += 1;
    let created: boolean;
    try {
      ({ created } = await new Promise<{ created: boolean }>((resolve, reject) => {
        this.#waiting.push({ delivery, resolve, reject });
        this.#scheduleFlush();
      }));
      // Claimed once this turn's answers are written (see #resumeWhenQuiet), never before them.
      if (created) this.#heldSince ??= this.#options.clock.monotonic();
    } finally {
      this.#recording -= 1;
      this.#resumeWhenQuiet();
    }
    if (!created) this.#options.log.info({ delivery: event.id, event: event.name }, "delivery recorded already (a redelivery): dropped");
    return created ? "new" : "duplicate";
  }

  /** Processes what is due now (entries left from before a restart), then looks again every `pollMs`. */
  start(): void {
    this.#stopping = false;
    this.#schedule();
    this.kick();
  }

  /**
   * Claims and processes whatever is due, up to the concurrency limit; while deliveries are
   * being recorded, once recording pauses (at most `answerFirstMs` later).
   */
  kick(): void {
    if (this.#stopping) return;
    if (this.#recording > 0) {
      const now = this.#options.clock.monotonic();
      this.#heldSince ??= now;
      if (now - this.#heldSince < (this.#options.answerFirstMs ?? INBOX_ANSWER_FIRST_MS)) return;
    }
    this.#heldSince = null;
    if (this.#pumping !== null) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump()
      .catch((error: unknown) => {
        if (error instanceof LedgerClosedError) return;
        this.#options.log.error({ error: message(error) }, "could not claim webhook deliveries from the inbox; trying again shortly");
      })
      .finally(() => {
        this.#pumping = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Resolves once nothing is being claimed or processed. */
  async idle(): Promise<void> {
    while (this.#pumping !== null || this.#resuming !== null || this.#inFlight.size > 0) {
      await Promise.allSettled([this.#pumping, this.#resuming, ...this.#inFlight]);
    }
  }

  /** Writes the deliveries waiting, as one batch, once this turn of the event loop has run. */
  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, batchSize(this.#waiting));
        await this.#record(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Records one batch; every caller settles only after its transaction committed or failed. */
  async #record(batch: WaitingRecord[]): Promise<void> {
    const { store } = this.#options;
    let results: Array<{ created: boolean }>;
    try {
      results = await store.recordDeliveries(batch.map((waiting) => waiting.delivery));
    } catch (error) {
      if (batch.length === 1 || isStorageFailure(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      // Refused for what one of them holds: each alone, so only that one fails.
      await Promise.all(
        batch.map((waiting) =>
          store.recordDelivery(waiting.delivery).then(
            (result) => waiting.resolve(result),
            (error: unknown) => waiting.reject(error),
          ),
        ),
      );
      return;
    }
    batch.forEach((waiting, i) => waiting.resolve(results[i]!));
  }

  /** Runs a claim held back while recording, once no delivery is being recorded. */
  #resumeWhenQuiet(): void {
    if (this.#heldSince === null || this.#recording > 0 || this.#resuming !== null) return;
    // After the answers this turn is writing, and whatever else arrived meanwhile.
    this.#resuming = new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#resuming = null;
        this.kick();
        resolve();
      }),
    );
  }

  /** Stops claiming, lets the deliveries being processed finish, and gives back any claim left. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#timer?.cancel();
    this.#timer = null;
    await this.idle();
    await this.#options.store.releaseDeliveries(this.owner).catch(() => 0);
  }

  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = this.#options.clock.setTimer(() => {
      if (this.#stopping) return;
      this.kick();
      this.#schedule();
    }, this.#pollMs);
  }

  async #pump(): Promise<void> {
    const { store, clock } = this.#options;
    await this.#prune();
    while (!this.#stopping) {
      const room = Math.min(this.#concurrency - this.#holding, INBOX_MAX_IN_FLIGHT - this.#inFlight.size);
      if (room <= 0) return;
      const claimed = await store.claimDeliveries({
        owner: this.owner,
        now: new Date(clock.now()),
        leaseMs: this.#leaseMs,
        limit: room,
        maxAttempts: this.#maxAttempts,
      });
      for (const entry of claimed) {
        this.#holding += 1;
        const work = holdingSlot(
          () => {
            this.#holding -= 1;
            this.kick();
          },
          () => this.#process(entry),
        );
        this.#inFlight.add(work);
        void work.finally(() => {
          this.#inFlight.delete(work);
          this.kick();
        });
      }
      if (claimed.length < room) return;
    }
  }

  async #process(entry: InboxEntry): Promise<void> {
    const { store, clock, log } = this.#options;
    const context = { delivery: entry.id, event: entry.event, attempt: entry.attempts };
    try {
      await this.#options.handle({ id: entry.id, name: entry.event, payload: JSON.parse(entry.payload) as Record<string, unknown> });
    } catch (error) {
      const why = message(error);
      const now = clock.now();
      const giveUp = entry.attempts >= this.#maxAttempts;
      const retryAt = giveUp ? null : new Date(now + (this.#options.backoffMs ?? inboxBackoffMs)(entry.attempts));
      try {
        await store.failDelivery(entry.id, this.owner, why, new Date(now), retryAt);
      } catch (recordError) {
        if (recordError instanceof LedgerClosedError) return;
        log.error(
          { ...context, error: message(recordError) },
          "could not record a failed delivery; it is claimed again when its lease ends",
        );
        return;
      }
      if (retryAt === null) {
        log.error(
          { ...context, error: why },
          `delivery ${entry.id} failed ${entry.attempts} times and is given up: kept in the ledger's inbox as dead`,
        );
      } else {
        log.warn({ ...context, error: why, retryAt: retryAt.toISOString() }, `delivery ${entry.id} failed; retried later`);
      }
      return;
    }
    try {
      await store.completeDelivery(entry.id, this.owner, new Date(clock.now()));
    } catch (error) {
      if (error instanceof LedgerClosedError) return;
      log.error({ ...context, error: message(error) }, "could not mark a processed delivery done; it may be processed again");
    }
  }

  async #prune(): Promise<void> {
    const { store, clock, log } = this.#options;
    if (clock.monotonic() - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = clock.monotonic();
    const before = new Date(clock.now() - (this.#options.retentionMs ?? INBOX_RETENTION_MS));
    const removed = await store.pruneDeliveries(before);
    if (removed > 0)
      log.info({ removed, before: before.toISOString() }, "processed deliveries past their retention removed from the inbox");
  }
}

/** How many of the deliveries waiting, from the first, go in the next batch. */
function batchSize(waiting: readonly WaitingRecord[]): number {
  let bytes = 0;
  let count = 0;
  for (const { delivery } of waiting) {
    bytes += Buffer.byteLength(delivery.payload, "utf8");
    if (count === INBOX_MAX_BATCH || (count > 0 && bytes > INBOX_MAX_BATCH_BYTES)) break;
    count += 1;
  }
  return count;
}

function message(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(message).join("; ");
  return errorMessage(error);
}
