/**
 * The simulator against the real Probot stack the app runs on: signed webhooks verified by
 * Probot's middleware, and ProbotOctokit (auth-app, enterprise base URL) calling the API.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, Probot, ProbotOctokit, type ApplicationFunction } from "probot";
import { sealForPublicKey, type GitHubSimulator } from "../../sim/index.js";
import { startCheckedSimulator } from "./helpers.js";

let sim: GitHubSimulator;
let server: Server;

const app: ApplicationFunction = (probot) => {
  probot.on("pull_request.opened", async (context) => {
    const head = context.payload.pull_request.head.sha;
    const file = await context.octokit.rest.repos.getContent(
      context.repo({ path: "jit-requests.yml", ref: head, mediaType: { format: "raw" } }),
    );
    // The raw media type answers with the file's text; Octokit's types describe the JSON answer.
    const text = file.data as unknown as string;
    await context.octokit.rest.checks.create(
      context.repo({
        name: "jit-access",
        head_sha: head,
        conclusion: "neutral",
        output: { title: "Read", summary: `${text.length} bytes` },
      }),
    );
    await context.octokit.rest.issues.addLabels(context.issue({ labels: ["jit:pending"] }));
  });
  probot.on("pull_request_review.submitted", async (context) => {
    if (context.payload.review.state !== "approved") return;
    const target = context.repo({ environment_name: "production" });
    const { data: key } = await context.octokit.rest.actions.getEnvironmentPublicKey(target);
    await context.octokit.rest.actions.createOrUpdateEnvironmentSecret({
      ...target,
      secret_name: "PROD_DB_URL",
      key_id: key.key_id,
      encrypted_value: sealForPublicKey("postgres://granted", key.key),
    });
  });
};

beforeAll(async () => {
  sim = await startCheckedSimulator();
  const probot = new Probot({
    appId: sim.appId,
    privateKey: sim.privateKeyPem,
    secret: sim.webhookSecret,
    baseUrl: sim.apiUrl,
    logLevel: "fatal",
    Octokit: ProbotOctokit.defaults({ throttle: { enabled: false }, retry: { enabled: false } }),
  });
  const middleware = await createNodeMiddleware(app, { probot });
  server = createServer((request, response) => {
    void middleware(request, response, () => response.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sim.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`);
  sim.createRepo("acme/api", { installationId: 42, collaborators: { alice: "write", bob: "admin" }, environments: ["production"] });
  sim.commit("acme/api", "feature", { "jit-requests.yml": "requests: []\n" });
});
afterAll(async () => {
  await sim.close();
  await new Promise((resolve) => server.close(resolve));
});

describe("with Probot", () => {
  it("verifies the simulator's signature and has run the handlers when the delivery returns", async () => {
    const number = await sim.openPullRequest("acme/api", { head: "feature", author: "alice" });
    expect(sim.lastDelivery?.status).toBe(200);
    expect(sim.checkRuns("acme/api")).toEqual([
      expect.objectContaining({ name: "jit-access", conclusion: "neutral", output: expect.objectContaining({ summary: "13 bytes" }) }),
    ]);
    expect(sim.labels("acme/api", number)).toEqual(["jit:pending"]);

    await sim.submitReview("acme/api", number, { reviewer: "bob", state: "APPROVED" });
    expect(sim.secretValue("acme/api", "production", "PROD_DB_URL")).toBe("postgres://granted");
  });

  it("rejects a delivery with a wrong signature", async () => {
    expect(
      await sim.deliverRaw({ event: "pull_request", body: sim.lastDelivery?.body ?? "{}", signature: "sha256=00" }),
    ).toBeGreaterThanOrEqual(400);
  });

  it("saw the installation token exchange and no violation", () => {
    expect(sim.requests.filter((request) => request.route === "POST /app/installations/{installation_id}/access_tokens")).toHaveLength(1);
    expect(sim.requests.filter((request) => request.installationId === 42).length).toBeGreaterThanOrEqual(5);
    expect(sim.violations).toEqual([]);
  });
});
