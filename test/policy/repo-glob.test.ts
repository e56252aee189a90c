import { describe, expect, it } from "@jest/globals";
import { matchesRepoGlob, repositoryAllowed } from "../../src/policy/repo-glob.js";

describe("matchesRepoGlob", () => {
  it.each([
    ["acme/*", "acme/api", true],
    ["acme/*", "acme/", true],
    ["acme/*", "acme/api/x", false],
    ["acme/*", "other/api", false],
    ["acme/*", "acmeco/api", false],
    ["acme/*", "xacme/api", false],
    ["*/api", "acme/api", true],
    ["*/api", "acme/api-2", false],
    ["*/*", "acme/api", true],
    ["*", "acme/api", false],
    ["acme/api", "acme/api", true],
    ["acme/api", "acme/api2", false],
    ["ACME/API", "acme/api", true],
    ["acme/api", "Acme/API", true],
    ["acme/api-?", "acme/api-1", true],
    ["acme/api-?", "acme/api-12", false],
    ["acme/api-?", "acme/api-", false],
    ["acme?api", "acme/api", false],
    ["acme/svc-*-prod", "acme/svc-billing-prod", true],
    ["acme/svc-*-prod", "acme/svc-billing-staging", false],
    ["acme/my.repo", "acme/my.repo", true],
    ["acme/my.repo", "acme/myxrepo", false],
    ["acme/a+b", "acme/a+b", true],
    ["acme/a+b", "acme/aab", false],
    ["acme/(x|y)", "acme/x", false],
    ["acme/[ab]", "acme/a", false],
    ["acme/[ab]", "acme/[ab]", true],
    ["acme/^$", "acme/^$", true],
    ["acme/a\\b", "acme/a\\b", true],
  ])("%s vs %s -> %s", (glob, fullName, expected) => {
    expect(matchesRepoGlob(glob, fullName)).toBe(expected);
  });
});

describe("repositoryAllowed", () => {
  it.each([
    [[], "acme/api", false],
    [["acme/*"], "acme/api", true],
    [["other/*", "acme/api"], "acme/api", true],
    [["other/*", "acme/web"], "acme/api", false],
  ] as const)("%j allows %s: %s", (globs, fullName, expected) => {
    expect(repositoryAllowed(globs, fullName)).toBe(expected);
  });
});
