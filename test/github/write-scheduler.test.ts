import { describe, expect, it } from "@jest/globals";
import { ManualClock } from "../../src/util/clock.js";
import { WriteScheduler, type WriteKind } from "../../src/github/write-scheduler.js";

function setup() {
  const clock = new ManualClock(0);
  const scheduler = new WriteScheduler({ clock });
  const log: { at: number; lane: string; what: string }[] = [];
  const write = (lane: string, kind: WriteKind, what: string = kind) =>
    scheduler.schedule(lane, kind, async () => {
      log.push({ at: clock.now(), lane, what });
      return what;
    });
  return { clock, scheduler, log, write };
}

describe("WriteScheduler", () => {
  it("spaces writes of one installation one second apart", async () => {
    const { clock, log, write } = setup();
    void write("1", "check-run", "a");
    void write("1", "check-run", "b");
    void write("1", "check-run", "c");
    await clock.advance(5000);
    expect(log.map((e) => [e.what, e.at])).toEqual([
      ["a", 0],
      ["b", 1000],
      ["c", 2000],
    ]);
  });

  it("does not make one installation wait for another", async () => {
    const { clock, log, write } = setup();
    void write("1", "comment", "one-a");
    void write("1", "comment", "one-b");
    void write("2", "secret-delete", "two");
    await clock.advance(0);
    expect(log.map((e) => e.what)).toEqual(["one-a", "two"]);
  });

  it("takes a revocation before queued comments, labels and check runs", async () => {
    const { clock, log, write } = setup();
    void write("1", "comment", "first comment");
    void write("1", "comment", "second comment");
    void write("1", "label");
    void write("1", "check-run");
    void write("1", "secret-put");
    await clock.advance(0);
    void write("1", "secret-delete");
    await clock.advance(20_000);
    expect(log.map((e) => e.what)).toEqual(["first comment", "secret-delete", "secret-put", "check-run", "second comment", "label"]);
  });

  it("keeps comments three seconds apart but lets other writes through in between", async () => {
    const { clock, log, write } = setup();
    void write("1", "comment", "c1");
    await clock.advance(0);
    void write("1", "comment", "c2");
    void write("1", "label", "l1");
    await clock.advance(10_000);
    // c2 came first but waits for the 3 s notification gap; the label behind it goes meanwhile.
    expect(log.map((e) => [e.what, e.at])).toEqual([
      ["c1", 0],
      ["l1", 1000],
      ["c2", 3000],
    ]);
  });

  it("lets labels by a comment that waits out its gap, keeping one write a second and the DELETE first", async () => {
    const { clock, log, write } = setup();
    void write("1", "comment", "c1");
    await clock.advance(0);
    void write("1", "comment", "c2");
    void write("1", "label", "l1");
    void write("1", "label", "l2");
    void write("1", "comment", "c3");
    void write("1", "label", "l3");
    await clock.advance(500);
    void write("1", "secret-delete", "delete");
    await clock.advance(20_000);
    expect(log.map((e) => [e.what, e.at])).toEqual([
      ["c1", 0],
      ["delete", 1000],
      ["l1", 2000],
      // The gap is over: the older comment goes before the labels that came after it.
      ["c2", 3000],
      ["l2", 4000],
      ["l3", 5000],
      ["c3", 6000],
    ]);
  });

  it("keeps labels and comments in their order of arrival when no comment has to wait", async () => {
    const { clock, log, write } = setup();
    void write("1", "label", "l1");
    void write("1", "comment", "c1");
    void write("1", "label", "l2");
    await clock.advance(10_000);
    expect(log.map((e) => [e.what, e.at])).toEqual([
      ["l1", 0],
      ["c1", 1000],
      ["l2", 2000],
    ]);
  });

  it("holds a lane while paused by a rate limit, then resumes", async () => {
    const { clock, scheduler, log, write } = setup();
    scheduler.pauseFor("1", 30_000);
    void write("1", "secret-delete", "d");
    void write("2", "secret-delete", "other");
    await clock.advance(29_999);
    expect(log.map((e) => e.what)).toEqual(["other"]);
    await clock.advance(1);
    expect(log.map((e) => [e.what, e.at])).toEqual([
      ["other", 0],
      ["d", 30_000],
    ]);
  });

  describe("measures gaps and pauses on the monotonic clock, whatever the wall clock does", () => {
    it.each([
      ["back", -60 * 60_000],
      ["forward", 60 * 60_000],
    ])("a DELETE queued on time goes out one second after the previous write when the wall clock steps %s an hour", async (_way, step) => {
      const { clock, log, write } = setup();
      const monotonic: number[] = [];
      void write("1", "check-run", "a").then(() => monotonic.push(clock.monotonic()));
      await clock.advance(0);
      clock.stepWall(step);
      void write("1", "secret-delete", "d").then(() => monotonic.push(clock.monotonic()));
      void write("1", "check-run", "b").then(() => monotonic.push(clock.monotonic()));
      await clock.advance(1000);
      expect(log.map((e) => e.what)).toEqual(["a", "d"]);
      await clock.advance(1000);
      expect(log.map((e) => e.what)).toEqual(["a", "d", "b"]);
      expect(monotonic).toEqual([0, 1000, 2000]);
    });

    it.each([
      ["back", -60 * 60_000],
      ["forward", 60 * 60_000],
    ])("a rate-limit pause lasts as long as GitHub asked when the wall clock steps %s an hour", async (_way, step) => {
      const { clock, scheduler, log, write } = setup();
      scheduler.pauseFor("1", 30_000);
      void write("1", "secret-delete", "d");
      await clock.advance(10_000);
      clock.stepWall(step);
      expect(scheduler.pausedFor("1")).toBe(20_000);
      await clock.advance(19_999);
      expect(log).toEqual([]);
      await clock.advance(1);
      expect(log.map((e) => e.what)).toEqual(["d"]);
      expect(scheduler.pausedFor("1")).toBe(0);
    });
  });

  it("keeps the longer of two pauses, and says whether a pause extended it", async () => {
    const { clock, scheduler, log, write } = setup();
    expect(scheduler.pauseFor("1", 30_000)).toBe(true);
    expect(scheduler.pauseFor("1", 10_000)).toBe(false);
    void write("1", "secret-delete", "d");
    await clock.advance(29_999);
    expect(log).toEqual([]);
    await clock.advance(1);
    expect(log.map((e) => [e.what, e.at])).toEqual([["d", 30_000]]);
  });

  it("passes results and errors back to the caller and carries on", async () => {
    const { clock, scheduler } = setup();
    const failed = scheduler.schedule("1", "secret-put", async () => {
      throw new Error("boom");
    });
    const ok = scheduler.schedule("1", "secret-put", async () => 42);
    const outcome = failed.then(
      () => "resolved",
      (error: Error) => error.message,
    );
    await clock.advance(2000);
    await expect(outcome).resolves.toBe("boom");
    await expect(ok).resolves.toBe(42);
  });

  it("reports pending writes by kind", async () => {
    const { clock, scheduler, write } = setup();
    void write("1", "comment");
    await clock.advance(0);
    void write("1", "label");
    void write("1", "secret-delete");
    expect(scheduler.pending("1")).toEqual(["secret-delete", "label"]);
    expect(scheduler.pending("9")).toEqual([]);
  });
});
