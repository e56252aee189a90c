import { describe, expect, it } from "@jest/globals";
import { addedEntries, removedEntries } from "../../src/request/diff-requests.js";
import type { RequestEntry } from "../../src/request/parse-requests.js";

let nextLine = 1;
function entry(secret: string, environment = "production", duration = "2h", reason = "INC-1 look at it"): RequestEntry {
  const line = nextLine++;
  return { index: line - 1, secret, environment, duration, reason, breakGlass: false, line, fields: {} };
}

const DB = entry("PROD_DB_URL");
const TOKEN = entry("STAGING_TOKEN", "staging");

describe("addedEntries", () => {
  it.each<[string, RequestEntry[], RequestEntry[], RequestEntry[]]>([
    ["everything when there is no base", [], [DB, TOKEN], [DB, TOKEN]],
    ["nothing when the head is the base", [DB, TOKEN], [DB, TOKEN], []],
    ["nothing when the head only removes", [DB, TOKEN], [TOKEN], []],
    ["nothing when the head reorders", [DB, TOKEN], [TOKEN, DB], []],
    ["a new entry", [DB], [DB, TOKEN], [TOKEN]],
    ["an entry turned into break-glass", [DB], [{ ...DB, breakGlass: true }], [{ ...DB, breakGlass: true }]],
  ])("%s", (_name, base, head, added) => {
    expect(addedEntries(base, head)).toEqual(added);
  });

  it("treats secret names that differ only in case as the same secret", () => {
    expect(addedEntries([DB], [{ ...DB, secret: "prod_db_url", line: 9 }])).toEqual([]);
  });

  it.each<[string, Partial<RequestEntry>]>([
    ["a new duration", { duration: "3h" }],
    ["a new reason", { reason: "INC-2 something else" }],
    ["a new environment", { environment: "staging" }],
    ["the same duration written differently", { duration: "120m" }],
  ])("counts an entry with %s as added", (_name, change) => {
    const changed = { ...DB, ...change, line: 42 };
    expect(addedEntries([DB], [changed])).toEqual([changed]);
  });

  it("counts copies: one in the base pairs with one in the head", () => {
    const second = { ...DB, line: 50, index: 1 };
    expect(addedEntries([DB], [DB, second])).toEqual([second]);
    expect(addedEntries([DB, DB], [DB, second])).toEqual([]);
    const third = { ...DB, line: 51, index: 2 };
    expect(addedEntries([DB], [DB, second, third])).toEqual([second, third]);
  });
});

describe("removedEntries", () => {
  it("is what the base has and the head no longer does, copies counted", () => {
    expect(removedEntries([DB, TOKEN], [TOKEN])).toEqual([DB]);
    expect(removedEntries([DB, DB], [DB])).toEqual([DB]);
    expect(removedEntries([DB], [DB, TOKEN])).toEqual([]);
  });
});
