import { DOCS } from "../shapes/urls.js";

/** An error answered with GitHub's JSON error body: `{ message, documentation_url, status }`. */
export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GitHubError";
  }

  body(): Record<string, unknown> {
    return { message: this.message, documentation_url: DOCS, ...this.extra, status: String(this.status) };
  }
}

export const notFound = (message = "Not Found"): GitHubError => new GitHubError(404, message);

export const badCredentials = (): GitHubError => new GitHubError(401, "Bad credentials");

/** 422 as GitHub words validation failures: `Validation Failed` with an `errors` list. */
export const validationFailed = (errors: Array<Record<string, unknown>>, message = "Validation Failed"): GitHubError =>
  new GitHubError(422, message, { errors });

/** 422 for a request that does not match the endpoint's schema. */
export const invalidRequest = (problem: string): GitHubError => new GitHubError(422, `Invalid request.\n\n${problem}`);
