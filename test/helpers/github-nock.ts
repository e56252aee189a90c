import nock from "nock";

/**
 * Named nock helpers for the GitHub REST calls the app makes, so a test reads as the list of
 * calls it expects. Every helper replies with the fields of GitHub's real response that the app
 * reads. Request bodies the app sends are captured in `sent` for assertions.
 */
export const API = "https://api.github.com";

/** The fields tests read of what the app sends: a comment, a sealed secret, a check run. */
export interface CommentBody {
  body: string;
}

export interface SecretBody {
  encrypted_value: string;
  key_id: string;
}

export interface CheckRunBody {
  name: string;
  head_sha: string;
  status?: string;
  conclusion?: string;
  output: { title: string; summary: string; annotations?: { path: string; start_line: number }[] };
}

export interface SentRequest {
  method: string;
  path: string;
  body: unknown;
}

export class GitHubMock {
  readonly scope: nock.Scope;
  readonly sent: SentRequest[] = [];

  constructor(
    readonly owner: string,
    readonly repo: string,
  ) {
    this.scope = nock(API);
  }

  get base(): string {
    return `/repos/${this.owner}/${this.repo}`;
  }

  #record(method: string) {
    return (path: string, body: unknown) => {
      this.sent.push({ method, path, body });
    };
  }

  repository(defaultBranch = "main", times = 1): this {
    this.scope
      .get(this.base)
      .times(times)
      .reply(200, {
        id: 100_001,
        default_branch: defaultBranch,
        full_name: `${this.owner}/${this.repo}`,
        name: this.repo,
        owner: { login: this.owner },
      });
    return this;
  }

  pull(
    pr: {
      number: number;
      headSha: string;
      baseSha?: string;
      baseRef?: string;
      author: { id: number; login: string };
      state?: "open" | "closed";
      fork?: boolean;
      defaultBranch?: string;
    },
    times = 1,
  ): this {
    this.scope
      .get(`${this.base}/pulls/${pr.number}`)
      .times(times)
      .reply(200, {
        number: pr.number,
        state: pr.state ?? "open",
        merged: false,
        user: { id: pr.author.id, login: pr.author.login, type: "User" },
        head: {
          sha: pr.headSha,
          ref: "request",
          repo: { full_name: pr.fork ? `${pr.author.login}/${this.repo}` : `${this.owner}/${this.repo}` },
        },
        base: {
          sha: pr.baseSha ?? "b".repeat(40),
          ref: pr.baseRef ?? "main",
          // The repository as the pull request's answer describes it (the app reads no GET /repos/{o}/{r} for it).
          repo: {
            id: 100_001,
            default_branch: pr.defaultBranch ?? "main",
            full_name: `${this.owner}/${this.repo}`,
            name: this.repo,
            owner: { login: this.owner },
          },
        },
      });
    return this;
  }

  /** The compare API between the base branch and a head, answering with the tip and the merge base. */
  compare(baseRef: string, head: string, mergeBase: string, baseTip = mergeBase, times = 1): this {
    this.scope
      .get(`${this.base}/compare/${baseRef}...${head}`)
      .query(true)
      .times(times)
      .reply(200, {
        status: mergeBase === baseTip ? "ahead" : "diverged",
        ahead_by: 1,
        behind_by: mergeBase === baseTip ? 0 : 1,
        total_commits: 1,
        base_commit: { sha: baseTip },
        merge_base_commit: { sha: mergeBase },
        commits: [],
        files: [],
      });
    return this;
  }

  /** A team's access to this repository: 404 when it has none. */
  teamPermission(org: string, slug: string, permission: "admin" | "maintain" | "write" | "triage" | "read" | "none"): this {
    const flags = {
      admin: permission === "admin",
      maintain: ["admin", "maintain"].includes(permission),
      push: ["admin", "maintain", "write"].includes(permission),
      triage: permission !== "read" && permission !== "none",
      pull: permission !== "none",
    };
    this.scope
      .get(`/orgs/${org}/teams/${slug}/repos/${this.owner}/${this.repo}`)
      .reply(
        permission === "none" ? 404 : 200,
        permission === "none"
          ? { message: "Not Found" }
          : { full_name: `${this.owner}/${this.repo}`, permissions: flags, role_name: permission },
      );
    return this;
  }

  /** A file at a ref; `null` content answers 404. */
  file(path: string, ref: string, content: string | null, times = 1): this {
    const interceptor = this.scope
      .get(`${this.base}/contents/${encodeURIComponent(path)}`)
      .query({ ref })
      .times(times);
    if (content === null) interceptor.reply(404, { message: "Not Found" });
    else
      interceptor.reply(200, {
        type: "file",
        encoding: "base64",
        size: Buffer.byteLength(content),
        name: path.split("/").pop(),
        path,
        sha: "f".repeat(40),
        content: Buffer.from(content).toString("base64"),
      });
    return this;
  }

  environments(names: string[]): this {
    this.scope
      .get(`${this.base}/environments`)
      .query(true)
      .reply(200, { total_count: names.length, environments: names.map((name, i) => ({ id: i + 1, name })) });
    return this;
  }

  permission(login: string, permission: "admin" | "write" | "read" | "none"): this {
    this.scope.get(`${this.base}/collaborators/${login}/permission`).reply(200, { permission, role_name: permission, user: { login } });
    return this;
  }

  reviews(prNumber: number, reviews: { id: number; user: { id: number; login: string }; state: string; commit_id: string }[]): this {
    this.scope
      .get(`${this.base}/pulls/${prNumber}/reviews`)
      .query(true)
      .reply(
        200,
        reviews.map((r) => ({ ...r, submitted_at: "2026-01-01T00:00:00Z" })),
      );
    return this;
  }

  teamMembership(org: string, slug: string, login: string, member: boolean): this {
    this.scope
      .get(`/orgs/${org}/teams/${slug}/memberships/${login}`)
      .reply(member ? 200 : 404, member ? { state: "active", role: "member" } : { message: "Not Found" });
    return this;
  }

  publicKey(environment: string, key: { keyId: string; key: string }): this {
    this.scope
      .get(`${this.base}/environments/${encodeURIComponent(environment)}/secrets/public-key`)
      .reply(200, { key_id: key.keyId, key: key.key });
    return this;
  }

  putSecret(environment: string, name: string, status = 201): this {
    this.scope
      .put(`${this.base}/environments/${encodeURIComponent(environment)}/secrets/${name}`, (body) => {
        this.#record("PUT")(`${this.base}/environments/${environment}/secrets/${name}`, body);
        return true;
      })
      .reply(status, status >= 400 ? { message: "error" } : undefined);
    return this;
  }

  /** `GET …/environments/{env}/secrets/{name}`: the secret's metadata (`updatedAt` as GitHub spells it), or 404 when `updatedAt` is null. */
  secretMetadata(environment: string, name: string, updatedAt: string | null, times = 1): this {
    const path = `${this.base}/environments/${encodeURIComponent(environment)}/secrets/${name}`;
    if (updatedAt === null) this.scope.get(path).times(times).reply(404, { message: "Not Found" });
    else this.scope.get(path).times(times).reply(200, { name, created_at: updatedAt, updated_at: updatedAt });
    return this;
  }

  deleteSecret(environment: string, name: string, status = 204): this {
    this.scope
      .delete(`${this.base}/environments/${encodeURIComponent(environment)}/secrets/${name}`)
      .reply(status, status >= 400 ? { message: status === 404 ? "Not Found" : "error" } : undefined);
    return this;
  }

  checkRun(): this {
    this.scope
      .post(`${this.base}/check-runs`, (body) => {
        this.#record("POST")(`${this.base}/check-runs`, body);
        return true;
      })
      .reply(201, { id: 1 });
    return this;
  }

  comment(prNumber: number): this {
    this.scope
      .post(`${this.base}/issues/${prNumber}/comments`, (body) => {
        this.#record("POST")(`${this.base}/issues/${prNumber}/comments`, body);
        return true;
      })
      .reply(201, { id: 1 });
    return this;
  }

  /** The PR's comments as GitHub lists them (the app looks for its own "Access is delayed" comment). */
  comments(prNumber: number, comments: { id: number; body: string; bot?: boolean }[] = []): this {
    this.scope
      .get(`${this.base}/issues/${prNumber}/comments`)
      .query(true)
      .reply(
        200,
        comments.map((c) => ({
          id: c.id,
          body: c.body,
          user: c.bot === false ? { login: "mallory", type: "User" } : { login: "jit-access[bot]", type: "Bot" },
        })),
      );
    return this;
  }

  updateComment(commentId: number): this {
    this.scope
      .patch(`${this.base}/issues/comments/${commentId}`, (body) => {
        this.#record("PATCH")(`${this.base}/issues/comments/${commentId}`, body);
        return true;
      })
      .reply(200, { id: commentId });
    return this;
  }

  addLabels(prNumber: number): this {
    this.scope
      .post(`${this.base}/issues/${prNumber}/labels`, (body) => {
        this.#record("POST")(`${this.base}/issues/${prNumber}/labels`, body);
        return true;
      })
      .reply(200, []);
    return this;
  }

  /**
   * The one label write of a grant's end after the PR's last live grant: the labels on the PR
   * are read (`current`), then replaced (PUT "set labels", recorded).
   */
  setLabels(prNumber: number, current: string[] = ["jit:granted"]): this {
    this.scope
      .get(`${this.base}/issues/${prNumber}/labels`)
      .query(true)
      .reply(
        200,
        current.map((name) => ({ name })),
      );
    this.scope
      .put(`${this.base}/issues/${prNumber}/labels`, (body) => {
        this.#record("PUT")(`${this.base}/issues/${prNumber}/labels`, body);
        return true;
      })
      .reply(200, []);
    return this;
  }

  /** Bodies sent to a path suffix, in order, read as the shape the caller names. */
  bodies<T = unknown>(pathEnd: string): T[] {
    return this.sent.filter((s) => s.path.endsWith(pathEnd)).map((s) => s.body as T);
  }

  /** The body sent to a path suffix (the first, or the `index`th); throws when fewer were sent. */
  body<T>(pathEnd: string, index = 0): T {
    const bodies = this.bodies<T>(pathEnd);
    if (index >= bodies.length) throw new Error(`${bodies.length} request(s) sent to a path ending ${pathEnd}; none at index ${index}`);
    return bodies[index]!;
  }
}
