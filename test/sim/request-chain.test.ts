import { describe, expect, it } from "@jest/globals";
import { longestChain, sequentialRoundTrips, type TimedRequest } from "../../sim/index.js";

/** A hand-built log entry: received at `from`, answered at `to` (ms). */
const r = (name: string, from: number, to: number): TimedRequest & { name: string } => ({ name, receivedMs: from, answeredMs: to });

describe("sequential round trips from the request log", () => {
  it("counts requests issued one after another's answer, and parallel ones once", () => {
    const pr = r("pull", 0, 50);
    const compare = r("compare", 1, 52);
    const reviews = r("reviews", 2, 49);
    // Stage 2: all after stage 1 answered, overlapping each other.
    const files = r("files", 53, 100);
    const perms = r("permission", 53.5, 104);
    const key = r("key", 54, 101);
    const put = r("put", 105, 150);
    const log = [pr, compare, reviews, files, perms, key, put];
    expect(sequentialRoundTrips(log, put)).toBe(3);
    expect(sequentialRoundTrips(log, files)).toBe(2);
    expect(sequentialRoundTrips(log, pr)).toBe(1);
    expect(longestChain(log)).toBe(3);
  });

  it("follows the longest chain, not the first: a slow read that the PUT waits on adds its own links", () => {
    const a = r("a", 0, 10);
    const b = r("b", 10, 20); // issued exactly when a answered: a link
    const c = r("c", 21, 30);
    const side = r("side", 0, 25); // overlaps a and b
    const put = r("put", 31, 40);
    expect(sequentialRoundTrips([side, a, b, c, put], put)).toBe(4);
    // Without c, the PUT follows b (or side): 3.
    expect(sequentialRoundTrips([side, a, b, put], put)).toBe(3);
  });

  it("ignores what came after the request counted, and a request still unanswered ends no link", () => {
    const hanging = r("hang", 0, Number.POSITIVE_INFINITY);
    const put = r("put", 5, 9);
    const later = r("later", 10, 11);
    expect(sequentialRoundTrips([hanging, put, later], put)).toBe(1);
    expect(longestChain([hanging, put, later])).toBe(2);
    expect(longestChain([])).toBe(0);
  });

  it("orders by arrival, whatever the log's order (the simulator logs a request when it is answered)", () => {
    const first = r("first", 0, 30);
    const second = r("second", 31, 32);
    const third = r("third", 40, 41);
    expect(sequentialRoundTrips([third, second, first], third)).toBe(3);
  });
});
