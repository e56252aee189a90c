import { describe, expect, it } from "@jest/globals";
import { LookupCache } from "../../src/github/lookup-cache.js";
import { ManualClock } from "../../src/util/clock.js";

/** A read that counts how often it ran and answers `answer` (or throws it when it is an Error). */
function counted<T>(answer: T | Error) {
  const read = async (): Promise<T> => {
    read.calls += 1;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  read.calls = 0;
  return read;
}

describe("LookupCache", () => {
  it("answers a key from the first read until the time to live has passed, then reads again", async () => {
    const clock = new ManualClock();
    const cache = new LookupCache(clock, 60_000);
    const read = counted("write");
    expect(await cache.get("42/1/abc/permission/7", read)).toBe("write");
    await clock.advance(59_999);
    expect(await cache.get("42/1/abc/permission/7", read)).toBe("write");
    expect(read.calls).toBe(1);
    await clock.advance(1);
    expect(await cache.get("42/1/abc/permission/7", read)).toBe("write");
    expect(read.calls).toBe(2);
  });

  it("keeps an answer no longer when the wall clock steps back an hour", async () => {
    const clock = new ManualClock();
    const cache = new LookupCache(clock, 60_000);
    const read = counted("write");
    await cache.get("42/1/abc/permission/7", read);
    clock.stepWall(-3_600_000);
    await clock.advance(60_000);
    await cache.get("42/1/abc/permission/7", read);
    expect(read.calls).toBe(2);
  });

  it("keeps keys apart: another head is another key", async () => {
    const cache = new LookupCache(new ManualClock());
    expect(await cache.get("head-a/bob", counted("write"))).toBe("write");
    expect(await cache.get("head-b/bob", counted("read"))).toBe("read");
    expect(await cache.get("head-a/bob", counted("none"))).toBe("write");
  });

  it("keeps no failure: the next ask reads again, and its answer is kept", async () => {
    const cache = new LookupCache(new ManualClock());
    const failing = counted<string>(Object.assign(new Error("502 Bad Gateway"), { status: 502 }));
    await expect(cache.get("k", failing)).rejects.toThrow("502 Bad Gateway");
    await expect(cache.get("k", failing)).rejects.toThrow("502 Bad Gateway");
    expect(failing.calls).toBe(2);
    expect(cache.size).toBe(0);
    const working = counted("write");
    expect(await cache.get("k", working)).toBe("write");
    expect(await cache.get("k", working)).toBe("write");
    expect(working.calls).toBe(1);
  });

  it("reuses a kept answer only when `reuse` accepts it; a fresh read takes its place", async () => {
    const cache = new LookupCache(new ManualClock());
    const onlyForReview = (reviewId: number) => (kept: { member: boolean; reviewId: number }) => kept.member || kept.reviewId === reviewId;
    expect(await cache.get("member", counted({ member: false, reviewId: 1 }), onlyForReview(1))).toEqual({ member: false, reviewId: 1 });
    // The same approval: the refusal is reused.
    expect(await cache.get("member", counted({ member: true, reviewId: 1 }), onlyForReview(1))).toEqual({ member: false, reviewId: 1 });
    // A new approval: read again, and that answer is kept from now on.
    expect(await cache.get("member", counted({ member: true, reviewId: 2 }), onlyForReview(2))).toEqual({ member: true, reviewId: 2 });
    expect(await cache.get("member", counted({ member: false, reviewId: 3 }), onlyForReview(3))).toEqual({ member: true, reviewId: 2 });
  });

  it('keeps a false or "none" answer like any other', async () => {
    const cache = new LookupCache(new ManualClock());
    const notMember = counted(false);
    expect(await cache.get("member", notMember)).toBe(false);
    expect(await cache.get("member", notMember)).toBe(false);
    expect(notMember.calls).toBe(1);
  });

  it("holds at most maxEntries answers, dropping the oldest first", async () => {
    const cache = new LookupCache(new ManualClock(), 60_000, 3);
    for (const key of ["a", "b", "c", "d"]) await cache.get(key, counted(key));
    expect(cache.size).toBe(3);
    const again = counted("A");
    expect(await cache.get("a", again)).toBe("A");
    expect(again.calls).toBe(1);
    expect(await cache.get("d", counted("D"))).toBe("d");
  });

  it("drops expired answers as new ones come in", async () => {
    const clock = new ManualClock();
    const cache = new LookupCache(clock, 1_000, 100);
    for (let i = 0; i < 50; i++) await cache.get(`old-${i}`, counted(i));
    await clock.advance(1_000);
    await cache.get("new", counted(0));
    expect(cache.size).toBe(1);
  });

  it.each([
    [0, 10, "maxEntries must be a whole number of at least 1, got 0"],
    [1.5, 10, "maxEntries must be a whole number of at least 1, got 1.5"],
    [10, -1, "ttlMs must be 0 or more milliseconds, got -1"],
    [10, Number.NaN, "ttlMs must be 0 or more milliseconds, got NaN"],
  ])("refuses maxEntries %p with ttlMs %p", (maxEntries, ttlMs, message) => {
    expect(() => new LookupCache(new ManualClock(), ttlMs, maxEntries)).toThrow(new RangeError(message));
  });
});
