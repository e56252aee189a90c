import { describe, expect, it } from "@jest/globals";
import { csvRecord } from "../../src/cli/csv.js";
import { formatTable } from "../../src/cli/format-table.js";
import { parseIsoInstant } from "../../src/cli/parse-iso-instant.js";

describe("parseIsoInstant", () => {
  it.each([
    ["2026-03-01", "2026-03-01T00:00:00.000Z"],
    ["2024-02-29", "2024-02-29T00:00:00.000Z"],
    ["2026-03-01T09:30Z", "2026-03-01T09:30:00.000Z"],
    ["2026-03-01T09:30:15.250Z", "2026-03-01T09:30:15.250Z"],
    ["2026-03-01T10:30:00+01:00", "2026-03-01T09:30:00.000Z"],
    [" 2026-03-01 ", "2026-03-01T00:00:00.000Z"],
  ])("reads %p as %s", (text, iso) => {
    expect(parseIsoInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    "",
    "yesterday",
    "2026-3-1",
    "2026-02-30",
    "2025-02-29",
    "2026-13-01",
    "2026-03-01T09:30",
    "2026-03-01T25:00Z",
    "2026-03-01T09:60Z",
    "1772409600000",
  ])("refuses %p", (text) => {
    expect(parseIsoInstant(text)).toBeNull();
  });
});

describe("csvRecord", () => {
  it.each([
    [["a", "b"], "a,b"],
    [["", "x"], ",x"],
    [["a,b"], '"a,b"'],
    [['say "hi"'], '"say ""hi"""'],
    [["two\nlines"], '"two\nlines"'],
    [["cr\r"], '"cr\r"'],
    // A spreadsheet must show these as text, never run them as formulas.
    [['=HYPERLINK("https://evil.example","open")'], '"\'=HYPERLINK(""https://evil.example"",""open"")"'],
    [["+1+cmd|' /C calc'!A0"], "'+1+cmd|' /C calc'!A0"],
    [["-2+3"], "'-2+3"],
    [["@SUM(A1)"], "'@SUM(A1)"],
    [["\t=1"], "'\t=1"],
    [["\r=1"], '"\'\r=1"'],
    [["a=b"], "a=b"],
  ])("%p → %p", (fields, record) => {
    expect(csvRecord(fields)).toBe(record);
  });
});

describe("formatTable", () => {
  it("pads every column to its widest cell, two spaces apart, without trailing spaces", () => {
    expect(
      formatTable(
        ["ID", "NAME", "NOTE"],
        [
          ["1", "a-long-name", ""],
          ["22", "b", "last"],
        ],
      ),
    ).toEqual(["ID  NAME         NOTE", "1   a-long-name", "22  b            last"]);
  });
});
