import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "../../sim/index.js";
import { installationOctokit, startCheckedSimulator, statusOf } from "./helpers.js";

let sim: GitHubSimulator;
let octokit: Octokit;
let firstSha: string;
let featureSha: string;

const decode = (data: unknown) => Buffer.from((data as { content: string }).content, "base64").toString("utf8");

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", {
    defaultBranch: "trunk",
    installationId: 42,
    files: { "jit-requests.yml": "requests: []\n", ".github/CODEOWNERS": "jit-requests.yml @bob\n", ".github/jit-access.yml": "path: x\n" },
  });
  firstSha = sim.branchSha("acme/api", "trunk") ?? "";
  featureSha = sim.commit("acme/api", "feature-x", { "jit-requests.yml": "requests:\n  - secret: A\n", ".github/jit-access.yml": null });
  octokit = installationOctokit(sim, 42);
});
afterAll(() => sim.close());

describe("GET /repos/{owner}/{repo}/contents/{path}", () => {
  it.each([
    ["no ref: the default branch", undefined, "requests: []\n"],
    ["a branch name", "feature-x", "requests:\n  - secret: A\n"],
    ["a commit sha", () => firstSha, "requests: []\n"],
    ["the feature commit sha", () => featureSha, "requests:\n  - secret: A\n"],
  ])("reads the file at %s", async (_label, ref, expected) => {
    const resolved = typeof ref === "function" ? ref() : ref;
    const { data } = await octokit.repos.getContent({
      owner: "acme",
      repo: "api",
      path: "jit-requests.yml",
      ...(resolved ? { ref: resolved } : {}),
    });
    expect(data).toMatchObject({
      type: "file",
      encoding: "base64",
      path: "jit-requests.yml",
      name: "jit-requests.yml",
      size: Buffer.byteLength(expected),
    });
    expect(decode(data)).toBe(expected);
  });

  it("returns the git blob sha of the content", async () => {
    const { data } = await octokit.repos.getContent({ owner: "acme", repo: "api", path: "jit-requests.yml" });
    // `printf 'requests: []\n' | git hash-object --stdin`
    expect((data as { sha: string }).sha).toBe("c8c11cc5cb257e65e553cd484ef19bf7c09bebf4");
  });

  it.each([
    ["application/vnd.github.raw+json", { headers: { accept: "application/vnd.github.raw+json" } }],
    ["Octokit's raw media type", { mediaType: { format: "raw" } }],
  ])("returns raw bytes with %s", async (_label, options) => {
    const response = await octokit.repos.getContent({ owner: "acme", repo: "api", path: ".github/CODEOWNERS", ...options });
    expect(response.data).toBe("jit-requests.yml @bob\n");
  });

  it("accepts a path with a slash sent either encoded or literal", async () => {
    const encoded = await octokit.repos.getContent({ owner: "acme", repo: "api", path: ".github/CODEOWNERS" });
    const literal = await octokit.request("GET /repos/acme/api/contents/.github/CODEOWNERS");
    expect(decode(literal.data)).toBe(decode(encoded.data));
  });

  it("lists a directory", async () => {
    const { data } = await octokit.repos.getContent({ owner: "acme", repo: "api", path: ".github" });
    expect(Array.isArray(data) ? data.map((entry) => [entry.type, entry.path]) : data).toEqual([
      ["file", ".github/CODEOWNERS"],
      ["file", ".github/jit-access.yml"],
    ]);
  });

  it.each([
    ["a missing path", { path: "nope.yml" }],
    ["a file deleted on the ref", { path: ".github/jit-access.yml", ref: "feature-x" }],
    ["a missing branch", { path: "jit-requests.yml", ref: "no-such-branch" }],
    ["an unknown sha", { path: "jit-requests.yml", ref: "0123456789abcdef0123456789abcdef01234567" }],
  ])("answers 404 for %s", async (_label, params) => {
    expect(await statusOf(octokit.repos.getContent({ owner: "acme", repo: "api", ...params }))).toBe(404);
  });

  it("reports the default branch on the repository", async () => {
    expect((await octokit.repos.get({ owner: "acme", repo: "api" })).data.default_branch).toBe("trunk");
  });

  it("has seen no violation", () => {
    expect(sim.violations).toEqual([]);
  });
});
