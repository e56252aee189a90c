import type { WriteSlotStore } from "../ledger/store.js";
import type { Clock, TimerHandle } from "../util/clock.js";
import { leaveSlot } from "../util/work-slot.js";

/**
 * Writes to GitHub, paced per installation and taken in priority order.
 *
 * GitHub asks integrations to space content-creating requests (about one a second) and
 * notifying ones (comments) further apart, and answers bursts with secondary rate limits.
 * Probot's throttling plugin does this first come, first served within each installation, so a
 * DELETE waits behind every comment queued before it in the same installation. Here each
 * installation has its own lane too, and within a lane a secret DELETE always goes before a PUT, a PUT before a check
 * run, and check runs before comments and labels. Comments and labels share the last level, in
 * the order they came, except that a comment waiting out its three-second gap does not hold back
 * the labels queued behind it: they go in the seconds between.
 *
 * Every gap and pause is measured on the monotonic clock: a step of the wall clock neither holds
 * a queued DELETE back nor lets writes through early.
 *
 * With several replicas on one PostgreSQL ledger, `sharedSlots` spaces an installation's writes
 * across all of them: a write whose turn has come in its lane also takes the installation's slot
 * in the database (`WriteSlotStore.reserveWriteSlot`, atomic), and when another replica wrote
 * less than a gap ago it waits for the slot to free, then the lane decides again (a more urgent
 * write that arrived meanwhile goes first). Slots are taken only when a write is about to go,
 * never booked ahead; a write that must wait marks itself as waiting when it is the most urgent
 * one waiting, and a less urgent write of another replica leaves the freed slot to it, so a
 * DELETE goes first across replicas too. Shared
 * slots are measured on the replicas' wall clocks (kept in step by NTP). When the database cannot
 * answer, the write goes on local pacing alone: pacing is courtesy to GitHub, and a revocation
 * must not wait for it.
 */
export type WriteKind = "secret-delete" | "secret-put" | "check-run" | "other" | "label" | "comment";

const PRIORITY: Record<WriteKind, number> = {
  "secret-delete": 0,
  "secret-put": 1,
  "check-run": 2,
  other: 3,
  label: 4,
  comment: 4,
};

/** A lane's queues, one per kind, in priority order; labels and comments (one level) last. */
const QUEUE: Record<WriteKind, number> = {
  "secret-delete": 0,
  "secret-put": 1,
  "check-run": 2,
  other: 3,
  label: 4,
  comment: 5,
};
const QUEUES = 6;

export interface WriteSchedulerOptions {
  clock: Clock;
  /** Gap between two writes of one installation. GitHub's guidance: one second. */
  writeIntervalMs?: number;
  /** Gap between two notifying writes (comments) of one installation. */
  notifyIntervalMs?: number;
  /** Write slots shared with the other replicas (the PostgreSQL ledger); none: this process paces alone. */
  sharedSlots?: WriteSlotStore;
}

interface Job {
  kind: WriteKind;
  /** Order of arrival in the lane: labels and comments go in this order between themselves. */
  seq: number;
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Times in a lane are monotonic-clock readings (`Clock.monotonic`). */
interface Lane {
  installation: string;
  queues: Job[][];
  busy: boolean;
  nextWriteAt: number;
  nextNotifyAt: number;
  pausedUntil: number;
  timer: TimerHandle | null;
  timerAt: number;
  arrivals: number;
}

export class WriteScheduler {
  readonly #clock: Clock;
  readonly #writeIntervalMs: number;
  readonly #notifyIntervalMs: number;
  readonly #lanes = new Map<string, Lane>();
  readonly #shared: WriteSlotStore | undefined;

  constructor(options: WriteSchedulerOptions) {
    this.#clock = options.clock;
    this.#shared = options.sharedSlots;
    this.#writeIntervalMs = options.writeIntervalMs ?? 1000;
    this.#notifyIntervalMs = options.notifyIntervalMs ?? 3000;
  }

  /** Runs `run` in the lane of `installation` when its turn comes; resolves with its result. */
  schedule<T>(installation: string, kind: WriteKind, run: () => Promise<T>): Promise<T> {
    // What is left of the work that asked for this write is mostly waiting for its turn.
    leaveSlot();
    const lane = this.#lane(installation);
    return new Promise<T>((resolve, reject) => {
      lane.queues[QUEUE[kind]]!.push({ kind, seq: lane.arrivals++, run, resolve: resolve as (v: unknown) => void, reject });
      this.#pump(lane);
    });
  }

  /**
   * Holds every write of `installation` for `ms` from now (a `retry-after` or rate-limit reset);
   * a longer pause already in force stays. Returns true when this extended the pause.
   */
  pauseFor(installation: string, ms: number): boolean {
    const lane = this.#lane(installation);
    const until = this.#clock.monotonic() + Math.max(0, ms);
    if (until <= lane.pausedUntil) return false;
    lane.pausedUntil = until;
    this.#pump(lane);
    return true;
  }

  /** Milliseconds left of the pause of `installation`; 0 when it is not paused. */
  pausedFor(installation: string): number {
    const lane = this.#lanes.get(installation);
    return lane ? Math.max(0, lane.pausedUntil - this.#clock.monotonic()) : 0;
  }

  /** Writes waiting in the lane of `installation`, by kind (for logs and tests). */
  pending(installation: string): WriteKind[] {
    const lane = this.#lanes.get(installation);
    return lane ? this.#waiting(lane).map((job) => job.kind) : [];
  }

  /** Writes waiting in every lane, by kind (for the metrics). */
  queued(): Partial<Record<WriteKind, number>> {
    const counts: Partial<Record<WriteKind, number>> = {};
    for (const lane of this.#lanes.values())
      for (const queue of lane.queues) for (const job of queue) counts[job.kind] = (counts[job.kind] ?? 0) + 1;
    return counts;
  }

  #lane(installation: string): Lane {
    let lane = this.#lanes.get(installation);
    if (!lane) {
      lane = {
        installation,
        queues: Array.from({ length: QUEUES }, () => []),
        busy: false,
        nextWriteAt: Number.NEGATIVE_INFINITY,
        nextNotifyAt: Number.NEGATIVE_INFINITY,
        pausedUntil: Number.NEGATIVE_INFINITY,
        timer: null,
        timerAt: Number.POSITIVE_INFINITY,
        arrivals: 0,
      };
      this.#lanes.set(installation, lane);
    }
    return lane;
  }

  /** The lane's waiting writes, in priority order, labels and comments in their order of arrival. */
  #waiting(lane: Lane): Job[] {
    const notifying = [...lane.queues[QUEUE.label]!, ...lane.queues[QUEUE.comment]!].sort((a, b) => a.seq - b.seq);
    return [...lane.queues.slice(0, QUEUE.label).flat(), ...notifying];
  }

  /**
   * The write that goes next in the lane when a write may go at `at`: the most urgent; between a
   * label and a comment, the older, unless the comment must still wait out its gap then.
   */
  #head(lane: Lane, at: number): Job | undefined {
    for (const queue of lane.queues.slice(0, QUEUE.label)) if (queue.length > 0) return queue[0];
    const label = lane.queues[QUEUE.label]![0];
    const comment = lane.queues[QUEUE.comment]![0];
    if (label === undefined || comment === undefined) return label ?? comment;
    return comment.seq < label.seq && lane.nextNotifyAt <= at ? comment : label;
  }

  #pump(lane: Lane): void {
    if (lane.busy) return;
    const now = this.#clock.monotonic();
    let startAt = Math.max(lane.nextWriteAt, lane.pausedUntil);
    const job = this.#head(lane, Math.max(now, startAt));
    if (!job) return;
    if (job.kind === "comment") startAt = Math.max(startAt, lane.nextNotifyAt);
    if (startAt > now) {
      // Wait, but re-decide when the time comes: a more urgent write may have arrived.
      if (lane.timer && lane.timerAt <= startAt) return;
      lane.timer?.cancel();
      lane.timerAt = startAt;
      lane.timer = this.#clock.setTimer(() => {
        lane.timer = null;
        lane.timerAt = Number.POSITIVE_INFINITY;
        this.#pump(lane);
      }, startAt - now);
      return;
    }
    lane.queues[QUEUE[job.kind]]!.shift();
    lane.busy = true;
    if (this.#shared === undefined) {
      this.#run(lane, job);
      return;
    }
    const shared = this.#shared;
    void shared.reserveWriteSlot(this.#slot(lane, job)).then(
      (waitMs) => {
        if (waitMs <= 0) {
          this.#run(lane, job, shared);
          return;
        }
        // Another replica wrote for this installation less than a gap ago: wait for the slot,
        // then decide again which write goes.
        lane.queues[QUEUE[job.kind]]!.unshift(job);
        lane.busy = false;
        lane.nextWriteAt = Math.max(lane.nextWriteAt, this.#clock.monotonic() + waitMs);
        this.#pump(lane);
      },
      () => this.#run(lane, job),
    );
  }

  #slot(lane: Lane, job: Job): Parameters<WriteSlotStore["reserveWriteSlot"]>[0] {
    return {
      installation: lane.installation,
      notify: job.kind === "comment",
      priority: PRIORITY[job.kind],
      now: this.#clock.now(),
      writeGapMs: this.#writeIntervalMs,
      notifyGapMs: this.#notifyIntervalMs,
    };
  }

  #run(lane: Lane, job: Job, shared?: WriteSlotStore): void {
    void job
      .run()
      .then(job.resolve, job.reject)
      .finally(async () => {
        const done = this.#clock.monotonic();
        lane.nextWriteAt = done + this.#writeIntervalMs;
        if (job.kind === "comment") lane.nextNotifyAt = done + this.#notifyIntervalMs;
        // The other replicas count the gap from the end of this write too.
        // and the next write waiting here, if more urgent than what waits elsewhere, keeps the next slot.
        if (shared !== undefined) {
          const next = this.#head(lane, Math.max(done, lane.nextWriteAt, lane.pausedUntil));
          const finished = { ...this.#slot(lane, job), ...(next ? { nextPriority: PRIORITY[next.kind] } : {}) };
          await shared.finishWriteSlot(finished).catch(() => undefined);
        }
        lane.busy = false;
        this.#pump(lane);
      });
  }
}
