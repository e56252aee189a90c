import { describe, expect, it } from "@jest/globals";
import { runInNewContext } from "node:vm";
import { errorMessage, errorSummary } from "../../src/util/error-message.js";
import { classifyGitHubFailure, LostAccessError, type GitHubFailureKind } from "../../src/github/github-failure.js";
import { RequestTimeoutError } from "../../src/github/request-timeout.js";

const NOW = Date.parse("2026-03-01T10:00:00Z");

/** An error shaped as Octokit's RequestError for an HTTP answer: status, message and the response's headers. */
function answered(status: number, message: string, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), { name: "HttpError", status, response: { status, url: "", headers, data: { message } } });
}

const timeout = () =>
  new RequestTimeoutError("DELETE", "/repos/acme/api/environments/production/secrets/X", 30_000, { cause: new Error("aborted") });

describe("classifyGitHubFailure", () => {
  const cases: [string, unknown, GitHubFailureKind, number | null][] = [
    ["a server error", answered(502, "Bad Gateway"), "transient", null],
    ["a 500 (Octokit's network failure too)", answered(500, "fetch failed"), "transient", null],
    ["a request timeout answered by GitHub", answered(408, "Request Timeout"), "transient", null],
    ["no answer in time", timeout(), "transient", null],
    [
      "no answer in time, wrapped by a step of the grant path",
      new Error("reading the key failed", { cause: timeout() }),
      "transient",
      null,
    ],
    [
      "a secondary rate limit with retry-after",
      answered(403, "You have exceeded a secondary rate limit.", { "retry-after": "120" }),
      "transient",
      120_000,
    ],
    ["a secondary rate limit without retry-after", answered(403, "You have exceeded a secondary rate limit."), "transient", 60_000],
    [
      "a primary rate limit named only in the message",
      answered(403, "API rate limit exceeded for installation ID 42."),
      "transient",
      60_000,
    ],
    ["a 429", answered(429, "Too Many Requests"), "transient", 60_000],
    [
      "a spent quota",
      answered(403, "quota", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String((NOW + 300_000) / 1000) }),
      "transient",
      301_000,
    ],
    ["a 403 that is not a rate limit", answered(403, "Resource not accessible by integration"), "refused", null],
    ["a 404", answered(404, "Not Found"), "refused", null],
    ["a 422", answered(422, "Validation Failed"), "refused", null],
    ["lost access to the repository", new LostAccessError("acme/api"), "lost-access", null],
    ["a bug of the app's own", new TypeError("cannot read properties of undefined"), "not-github", null],
  ];
  it.each(cases)("%s", (_what, error, kind, waitMs) => {
    const failure = classifyGitHubFailure(error, NOW);
    expect(failure.kind).toBe(kind);
    expect(failure.rateLimitWaitMs).toBe(waitMs);
  });

  it("keeps the status GitHub answered with and gives one short summary line", () => {
    const failure = classifyGitHubFailure(answered(422, "Validation Failed\nsecond line"), NOW);
    expect(failure).toEqual({ kind: "refused", status: 422, rateLimitWaitMs: null, summary: "Validation Failed" });
    expect(classifyGitHubFailure(new Error("x".repeat(500)), NOW).summary).toHaveLength(200);
  });

  it("does not pretend that an unanswered request was answered with an HTTP status", () => {
    expect(classifyGitHubFailure(timeout(), NOW).status).toBeUndefined();
  });

  it("stops walking a cycle of causes", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classifyGitHubFailure(a, NOW).kind).toBe("not-github");
  });
});

describe("errorMessage", () => {
  it("reads the message of an error made in another realm, where instanceof Error is false", () => {
    const foreign = runInNewContext("new Error('ENOENT: no such file or directory')") as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(errorMessage(foreign)).toBe("ENOENT: no such file or directory");
    expect(errorSummary("plain\nsecond")).toBe("plain");
  });
});
