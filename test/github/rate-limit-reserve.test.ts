import { describe, expect, it } from "@jest/globals";
import { RateLimitReserve } from "../../src/github/rate-limit-reserve.js";
import { ManualClock } from "../../src/util/clock.js";

const silent = { warn() {} };

/** An answer's rate-limit headers, its Date header at the clock's now. */
function headers(clock: ManualClock, remaining: number, limit: number, resetInS: number) {
  return {
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-reset": String(Math.floor(clock.now() / 1000) + resetInS),
    date: new Date(clock.now()).toUTCString(),
  };
}

describe("RateLimitReserve", () => {
  it("shows what each installation has left, and whether its new evaluations wait", async () => {
    const clock = new ManualClock();
    const reserve = new RateLimitReserve(clock, silent);
    expect(reserve.snapshot()).toEqual([]);
    reserve.observe("42", headers(clock, 4200, 5000, 1800));
    reserve.observe("43", headers(clock, 400, 5000, 600));
    expect(reserve.snapshot()).toEqual([
      { installation: "42", remaining: 4200, limit: 5000, resetAt: clock.now() + 1_800_000, holding: false },
      { installation: "43", remaining: 400, limit: 5000, resetAt: clock.now() + 600_000, holding: true },
    ]);
    // Past the reset the floor no longer holds anything back.
    await clock.advance(600_000);
    expect(reserve.snapshot().find((s) => s.installation === "43")).toMatchObject({ holding: false });
  });

  it("ignores answers without rate-limit headers", () => {
    const reserve = new RateLimitReserve(new ManualClock(), silent);
    reserve.observe("42", { "x-ratelimit-remaining": "10" });
    reserve.observe("42", undefined);
    expect(reserve.snapshot()).toEqual([]);
  });
});
