import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { RepoClient } from "../../src/github/repo-client.js";
import { Octokit } from "@octokit/rest";
import { ManualClock, systemClock } from "../../src/util/clock.js";
import { nockTraffic } from "../helpers/nock-traffic.js";

const API = "https://api.github.com";

describe("app Octokit pacing", () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  function client() {
    const scheduler = new WriteScheduler({ clock: systemClock, writeIntervalMs: 0, notifyIntervalMs: 0 });
    const Octokit = createAppOctokit({ scheduler, clock: systemClock }, { retry: false });
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const octokit = new Octokit({ auth: { token: "t0ken", installationId: 7 } as never, log: log });
    return { octokit, scheduler, warnings };
  }

  it("retries a write that meets a secondary rate limit, after GitHub's retry-after", async () => {
    const { octokit, warnings } = client();
    const scope = nock(API)
      .delete("/repos/acme/api/environments/production/secrets/PROD_DB_URL")
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "0" })
      .delete("/repos/acme/api/environments/production/secrets/PROD_DB_URL")
      .reply(204);
    const response = await octokit.rest.actions.deleteEnvironmentSecret({
      owner: "acme",
      repo: "api",
      environment_name: "production",
      secret_name: "PROD_DB_URL",
    });
    expect(response.status).toBe(204);
    expect(scope.isDone()).toBe(true);
    expect(warnings).toEqual([
      expect.stringContaining(
        "GitHub rate limit on DELETE /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name} (installation 7)",
      ),
    ]);
  });

  it("gives up after the retries and hands the error to the caller", async () => {
    const { octokit } = client();
    nock(API)
      .put("/repos/acme/api/environments/production/secrets/X")
      .times(4)
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "0" });
    await expect(
      octokit.rest.actions.createOrUpdateEnvironmentSecret({
        owner: "acme",
        repo: "api",
        environment_name: "production",
        secret_name: "X",
        encrypted_value: "c2VhbGVk",
        key_id: "1",
      }),
    ).rejects.toMatchObject({ status: 403 });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("does not retry a permission error", async () => {
    const { octokit } = client();
    nock(API).post("/repos/acme/api/check-runs").once().reply(403, { message: "Resource not accessible by integration" });
    await expect(
      octokit.rest.checks.create({ owner: "acme", repo: "api", name: "jit-access", head_sha: "a".repeat(40) }),
    ).rejects.toMatchObject({
      status: 403,
    });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("sends a revocation ahead of comments and labels already waiting in the lane", async () => {
    const clock = new ManualClock(0);
    const scheduler = new WriteScheduler({ clock });
    const Octokit = createAppOctokit({ scheduler, clock }, { retry: false });
    const octokit = new Octokit({ auth: { token: "t0ken", installationId: 7 } as never });
    const order: string[] = [];
    const github = nock(API);
    const traffic = nockTraffic(github);
    github
      .post("/repos/acme/api/issues/1/comments")
      .twice()
      .reply(201, (_uri, body) => {
        order.push(`comment ${(body as { body: string }).body}`);
        return { id: 1 };
      })
      .post("/repos/acme/api/issues/1/labels")
      .reply(200, () => {
        order.push("label");
        return [];
      })
      .delete("/repos/acme/api/environments/production/secrets/PROD_DB_URL")
      .reply(204, () => {
        order.push("delete");
        return "";
      });
    const writes: Promise<unknown>[] = [
      octokit.rest.issues.createComment({ owner: "acme", repo: "api", issue_number: 1, body: "1" }),
      octokit.rest.issues.createComment({ owner: "acme", repo: "api", issue_number: 1, body: "2" }),
      octokit.rest.issues.addLabels({ owner: "acme", repo: "api", issue_number: 1, labels: ["jit:granted"] }),
    ];
    await clock.advance(0);
    writes.push(
      octokit.rest.actions.deleteEnvironmentSecret({
        owner: "acme",
        repo: "api",
        environment_name: "production",
        secret_name: "PROD_DB_URL",
      }),
    );
    // A second of app time at a time, each once GitHub has answered what was sent (at most 50 s).
    for (let second = 0; second < 50 && order.length < 4; second++) {
      await traffic.answered();
      await clock.advance(1000);
    }
    await Promise.all(writes);
    // Comment 2 waits out its three seconds after comment 1; the label goes in between.
    expect(order).toEqual(["comment 1", "delete", "label", "comment 2"]);
  });

  it("replaces a PR's labels in one write, from the labels read when the write's turn comes", async () => {
    const clock = new ManualClock(0);
    const scheduler = new WriteScheduler({ clock });
    const Octokit = createAppOctokit({ scheduler, clock }, { retry: false });
    const octokit = new Octokit({ auth: { token: "t0ken", installationId: 7 } as never });
    const repo = new RepoClient(octokit, "acme", "api");
    const order: string[] = [];
    let labels = ["bug", "jit:granted"];
    const github = nock(API);
    const traffic = nockTraffic(github);
    github
      .post("/repos/acme/api/issues/1/comments")
      .reply(201, () => {
        order.push(`comment at ${clock.monotonic()}`);
        return { id: 1 };
      })
      .get("/repos/acme/api/issues/1/labels")
      .query(true)
      .reply(200, () => {
        order.push(`read labels at ${clock.monotonic()}`);
        return labels.map((name) => ({ name }));
      })
      .put("/repos/acme/api/issues/1/labels")
      .reply(200, (_uri, body) => {
        labels = (body as { labels: string[] }).labels;
        order.push(`set labels at ${clock.monotonic()}`);
        return labels.map((name) => ({ name }));
      });
    const writes = [
      octokit.rest.issues.createComment({ owner: "acme", repo: "api", issue_number: 1, body: "1" }),
      repo.changeLabels(1, { add: ["jit:expired"], remove: ["jit:granted"] }),
    ];
    await clock.advance(0);
    // Someone labels the PR while the write waits for its turn: that label is kept.
    labels = [...labels, "urgent"];
    for (let second = 0; second < 10 && order.length < 3; second++) {
      await traffic.answered();
      await clock.advance(1000);
    }
    await Promise.all(writes);
    expect(order).toEqual(["comment at 0", "read labels at 1000", "set labels at 1000"]);
    expect(labels).toEqual(["bug", "urgent", "jit:expired"]);
  });

  it("without the pacing plugin, replaces a PR's labels from a read made before the PUT", async () => {
    const octokit = new Octokit({ auth: "t0ken" });
    nock(API)
      .get("/repos/acme/api/issues/1/labels")
      .query(true)
      .reply(200, [{ name: "bug" }, { name: "jit:granted" }])
      .put("/repos/acme/api/issues/1/labels", { labels: ["bug", "jit:expired"] })
      .reply(200, []);
    await new RepoClient(octokit as never, "acme", "api").changeLabels(1, { add: ["jit:expired"], remove: ["jit:granted"] });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("adds labels with one POST when none is taken off", async () => {
    const { octokit } = client();
    const scope = nock(API)
      .post("/repos/acme/api/issues/1/labels", { labels: ["jit:granted"] })
      .reply(200, []);
    await new RepoClient(octokit, "acme", "api").changeLabels(1, { add: ["jit:granted"] });
    expect(scope.isDone()).toBe(true);
  });

  it("leaves Probot's throttling in place for the benchmarks' peer: an installation's writes go one at a time, first come, first served", async () => {
    // Probot's own queue runs on real timers, a second between writes: this takes about 2 s.
    const Octokit = createAppOctokit("probot-throttling", { retry: false });
    const octokit = new Octokit({ auth: { token: "t0ken", installationId: 8 } as never, throttle: { id: "8" } });
    const order: string[] = [];
    const github = nock(API);
    const events: string[] = [];
    github.on("request", () => events.push("sent"));
    github.on("replied", () => events.push("answered"));
    github
      .post("/repos/acme/api/issues/1/labels")
      .delay(300)
      .reply(200, () => {
        order.push("label a");
        return [];
      })
      .post("/repos/acme/api/issues/1/labels")
      .reply(200, () => {
        order.push("label b");
        return [];
      })
      .delete("/repos/acme/api/environments/production/secrets/PROD_DB_URL")
      .reply(204, () => {
        order.push("delete");
        return "";
      });
    await Promise.all([
      octokit.rest.issues.addLabels({ owner: "acme", repo: "api", issue_number: 1, labels: ["a"] }),
      octokit.rest.issues.addLabels({ owner: "acme", repo: "api", issue_number: 1, labels: ["b"] }),
      octokit.rest.actions.deleteEnvironmentSecret({
        owner: "acme",
        repo: "api",
        environment_name: "production",
        secret_name: "PROD_DB_URL",
      }),
    ]);
    // Unthrottled, all three would have gone out while the first was answered; the app's own
    // pacing would have sent the DELETE second (the test above).
    expect(events).toEqual(["sent", "answered", "sent", "answered", "sent", "answered"]);
    expect(order).toEqual(["label a", "label b", "delete"]);
  }, 15_000);

  describe("a spent quota whose reset is further off than the pacing waits", () => {
    const NOW = Date.parse("2026-03-01T10:00:00Z");
    const RESET_IN_S = 30 * 60;
    const DELETE_PATH = "/repos/acme/api/environments/production/secrets/PROD_DB_URL";

    function limited() {
      const clock = new ManualClock(NOW);
      const scheduler = new WriteScheduler({ clock });
      const Octokit = createAppOctokit({ scheduler, clock }, { retry: false });
      const warnings: string[] = [];
      const log = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
      const octokit = (installationId: number) => new Octokit({ auth: { token: "t0ken", installationId } as never, log });
      const del = (installationId: number) =>
        octokit(installationId).rest.actions.deleteEnvironmentSecret({
          owner: "acme",
          repo: "api",
          environment_name: "production",
          secret_name: "PROD_DB_URL",
        });
      const read = (installationId: number, repo = "api") => octokit(installationId).rest.repos.get({ owner: "acme", repo });
      return { clock, scheduler, warnings, del, read };
    }

    /** GitHub's answer once the quota is spent: 403, nothing left, reset in 30 minutes (by GitHub's own Date). */
    const spent = {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(NOW / 1000 + RESET_IN_S),
      date: new Date(NOW).toUTCString(),
    };

    it("hands the error to the caller at once, holds the installation's writes and reads until the reset, and says so once", async () => {
      const { clock, warnings, del, read } = limited();
      const github = nock(API);
      const traffic = nockTraffic(github);
      github.delete(DELETE_PATH).reply(403, { message: "API rate limit exceeded for installation ID 7." }, spent);
      await expect(del(7)).rejects.toMatchObject({ status: 403 });
      expect(traffic.sent).toEqual([`DELETE ${DELETE_PATH}`]);

      github.delete(DELETE_PATH).reply(204).get("/repos/acme/api").reply(200, { id: 1 });
      const later = [del(7), read(7), del(7).catch((error: unknown) => error)];
      // Another installation's quota is its own.
      github.get("/repos/acme/web").reply(200, { id: 2 });
      await expect(read(8, "web")).resolves.toMatchObject({ data: { id: 2 } });
      await clock.advance(RESET_IN_S * 1000 - 1);
      await traffic.answered();
      expect(traffic.sent).toEqual([`DELETE ${DELETE_PATH}`, "GET /repos/acme/web"]);

      // The reset (plus GitHub's one-second margin): the held requests go out, writes a second apart.
      github.delete(DELETE_PATH).reply(204);
      for (let second = 0; second < 5; second++) {
        await clock.advance(1000);
        await traffic.answered();
      }
      await Promise.all(later);
      expect(traffic.sent).toEqual([
        `DELETE ${DELETE_PATH}`,
        "GET /repos/acme/web",
        `DELETE ${DELETE_PATH}`,
        "GET /repos/acme/api",
        `DELETE ${DELETE_PATH}`,
      ]);
      expect(warnings).toEqual([
        "GitHub rate limit on DELETE /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name} (installation 7): " +
          `GitHub refuses this installation's requests for ${RESET_IN_S + 1} s; holding its writes and reads until then`,
      ]);
      expect(nock.pendingMocks()).toEqual([]);
    });
  });
});
