import { describe, expect, it } from "@jest/globals";
import { formatDuration, parseDuration } from "../../src/util/duration.js";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["1h30m", 5_400_000],
    ["1d", 86_400_000],
    ["1d12h", 129_600_000],
    [" 5m ", 300_000],
    ["0h5m", 300_000],
  ])("accepts %s", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ["", "it is empty"],
    ["0s", "it is zero"],
    ["0h0m", "it is zero"],
    ["-5m", "it is negative"],
    ["5", "use whole numbers followed by d, h, m or s"],
    ["1.5h", "use whole numbers followed by d, h, m or s"],
    ["1e9h", "use whole numbers followed by d, h, m or s"],
    ["2 h", "use whole numbers followed by d, h, m or s"],
    ["2H", "use whole numbers followed by d, h, m or s"],
    ["30m1h", "units must appear once each, in the order d, h, m, s"],
    ["1h1h", "units must appear once each, in the order d, h, m, s"],
    ["9999999h", "the number is too large"],
    ["400d", "it is longer than a year"],
    ["+5m", "use whole numbers followed by d, h, m or s"],
  ])("rejects %j: %s", (text, why) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(why);
  });
});

describe("formatDuration", () => {
  it.each([
    [90_000, "1m30s"],
    [5_400_000, "1h30m"],
    [86_400_000, "1d"],
    [0, "0s"],
  ])("%d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips with parseDuration", () => {
    for (const text of ["45s", "2h", "1h30m", "1d12h", "3d4h5m6s"]) {
      const parsed = parseDuration(text);
      expect(parsed.ok && formatDuration(parsed.ms)).toBe(text);
    }
  });
});
