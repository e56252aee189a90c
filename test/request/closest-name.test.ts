import { describe, expect, it } from "@jest/globals";
import { closestName } from "../../src/request/closest-name.js";

const KEYS = ["secret", "environment", "duration", "reason"];

describe("closestName", () => {
  it.each([
    ["enviroment", KEYS, "environment"],
    ["Secret", KEYS, "secret"],
    ["durration", KEYS, "duration"],
    ["raeson", KEYS, "reason"],
    ["PROD_DB_URI", ["PROD_DB_URL", "STAGING_TOKEN"], "PROD_DB_URL"],
    ["prod_db_url", ["PROD_DB_URL"], "PROD_DB_URL"],
  ])("suggests %s → %s", (word, candidates, expected) => {
    expect(closestName(word, candidates)).toBe(expected);
  });

  it.each([
    ["approver", KEYS],
    ["env", KEYS],
    ["ab", ["xy"]],
    ["PROD", ["PROD_DB_URL"]],
    ["anything", []],
  ])("suggests nothing for %s", (word, candidates) => {
    expect(closestName(word, candidates)).toBeNull();
  });

  it("prefers the closer candidate, then the earlier one", () => {
    expect(closestName("reasn", ["reasons", "reason"])).toBe("reason");
    expect(closestName("abcd", ["abce", "abcf"])).toBe("abce");
  });
});
