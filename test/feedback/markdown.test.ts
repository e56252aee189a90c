import { describe, expect, it } from "@jest/globals";
import { formatExpiry, markdownLiteral } from "../../src/feedback/markdown.js";

// test/hostile/markdown-rendering.test.ts renders these with two Markdown renderers.
describe("markdownLiteral", () => {
  it.each([
    ["keeps a table cell one cell", "a | b", "`a `\\|` b`"],
    ["keeps HTML as text", "<img src=x onerror=alert(1)>", "`<img src=x onerror=alert(1)>`"],
    ["notifies nobody", "ping @acme/admins", "`ping @acme/admins`"],
    ["keeps one line", "one\ntwo\r\nthree", "`one two  three`"],
    ["leaves snake_case alone", "PROD_DB_URL", "`PROD_DB_URL`"],
    ["fences code spans with a longer run", "`x` ``y``", "``` `x` ``y`` ```"],
    ["pads a text with a space at both ends", " x ", "`  x  `"],
    ["leaves spaces alone", "   ", "`   `"],
  ])("%s", (_name, input, output) => {
    expect(markdownLiteral(input)).toBe(output);
  });
});

describe("formatExpiry", () => {
  const now = Date.parse("2026-03-01T10:00:00Z");
  it.each([
    [now + 2 * 3600_000, "2026-03-01 12:00:00 UTC (in 2h)"],
    [now + 90 * 60_000, "2026-03-01 11:30:00 UTC (in 1h30m)"],
    [now + 26 * 3600_000, "2026-03-02 12:00:00 UTC (in 1d2h)"],
    [now - 5 * 60_000, "2026-03-01 09:55:00 UTC (5m ago)"],
    [now + 20_000, "2026-03-01 10:00:20 UTC (in 20s)"],
    [now + 400, "2026-03-01 10:00:00 UTC (now)"],
  ])("%d", (at, text) => {
    expect(formatExpiry(new Date(at), now)).toBe(text);
  });
});
