import { describe, expect, it } from "@jest/globals";
import type { CatalogSecret } from "../../src/policy/catalog.js";
import { effectivePolicy, type EffectivePolicy } from "../../src/policy/effective-policy.js";
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../../src/policy/repo-config.js";

const H = 3_600_000;
const M = 60_000;

const secret: CatalogSecret = {
  name: "PROD_DB_URL",
  source: { kind: "env", variable: "PROD_DB_URL" },
  repositories: ["acme/*"],
  environments: ["production"],
  maxDurationMs: 4 * H,
  approvals: 2,
  approvers: [{ kind: "team", org: "acme", slug: "dba" }],
  requireProtectedEnvironment: false,
  bindToRequester: false,
};

const withMinAndPattern: CatalogSecret = { ...secret, minDurationMs: 5 * M, reasonPattern: "^INC-\\d+" };

describe("effectivePolicy", () => {
  it.each<[string, CatalogSecret, RepoConfig, EffectivePolicy]>([
    ["default config keeps the catalog", secret, DEFAULT_REPO_CONFIG, { maxDurationMs: 4 * H, approvals: 2, boundToRequester: false }],
    [
      "shorter max tightens",
      secret,
      { requestsFile: "jit-requests.yml", maxDurationMs: 1 * H },
      { maxDurationMs: 1 * H, approvals: 2, boundToRequester: false },
    ],
    [
      "longer max cannot widen",
      secret,
      { requestsFile: "jit-requests.yml", maxDurationMs: 8 * H },
      { maxDurationMs: 4 * H, approvals: 2, boundToRequester: false },
    ],
    [
      "more approvals tighten",
      secret,
      { requestsFile: "jit-requests.yml", approvals: 3 },
      { maxDurationMs: 4 * H, approvals: 3, boundToRequester: false },
    ],
    [
      "fewer approvals cannot widen",
      secret,
      { requestsFile: "jit-requests.yml", approvals: 1 },
      { maxDurationMs: 4 * H, approvals: 2, boundToRequester: false },
    ],
    [
      "both at once",
      secret,
      { requestsFile: "x.yml", maxDurationMs: 30 * M, approvals: 5 },
      { maxDurationMs: 30 * M, approvals: 5, boundToRequester: false },
    ],
    [
      "catalog minimum and reason pattern carry through",
      withMinAndPattern,
      { requestsFile: "jit-requests.yml", maxDurationMs: 1 * H },
      { maxDurationMs: 1 * H, minDurationMs: 5 * M, approvals: 2, reasonPattern: "^INC-\\d+", boundToRequester: false },
    ],
    [
      "the catalog binds the grant to its requester",
      { ...secret, bindToRequester: true },
      DEFAULT_REPO_CONFIG,
      { maxDurationMs: 4 * H, approvals: 2, boundToRequester: true },
    ],
    [
      "the repository binds every grant to its requester",
      secret,
      { requestsFile: "jit-requests.yml", bindToRequester: true },
      { maxDurationMs: 4 * H, approvals: 2, boundToRequester: true },
    ],
    [
      "the repository cannot unbind what the catalog binds",
      { ...secret, bindToRequester: true },
      { requestsFile: "jit-requests.yml", bindToRequester: false },
      { maxDurationMs: 4 * H, approvals: 2, boundToRequester: true },
    ],
  ])("%s", (_name, catalogSecret, config, expected) => {
    expect(effectivePolicy(catalogSecret, config)).toStrictEqual(expected);
  });

  it("does not modify its inputs", () => {
    const config: RepoConfig = { requestsFile: "jit-requests.yml", maxDurationMs: 1 * H, approvals: 4 };
    const before = { secret: structuredClone(withMinAndPattern), config: structuredClone(config) };
    effectivePolicy(withMinAndPattern, config);
    expect({ secret: withMinAndPattern, config }).toStrictEqual(before);
  });
});
