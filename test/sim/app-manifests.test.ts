import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GitHubSimulator } from "../../sim/index.js";
import { anonymousOctokit, startCheckedSimulator } from "./helpers.js";

/** The manifest flow's GitHub side: the form, the redirect back, and the code's conversion. */
describe("registering an app from a manifest", () => {
  let sim: GitHubSimulator;
  beforeAll(async () => {
    sim = await startCheckedSimulator();
  });
  afterAll(() => sim.close());

  const manifest = {
    name: "jit-access",
    url: "https://github.com/apps/jit-access",
    hook_attributes: { url: "http://127.0.0.1:1/api/github/webhooks", active: true },
    redirect_url: "http://127.0.0.1:1/setup/callback",
    default_events: ["pull_request"],
    default_permissions: { contents: "read", secrets: "write" },
  };

  /** Posts the manifest form and confirms; the code from the redirect back. */
  async function register(
    path: string,
    body: unknown = manifest,
  ): Promise<{ status: number; code?: string; state?: string | null; page: string }> {
    const form = await fetch(`${sim.baseUrl}${path}?state=s-1`, {
      method: "POST",
      body: new URLSearchParams({ manifest: JSON.stringify(body) }),
    });
    const page = await form.text();
    const pending = /name="pending" value="([0-9a-f]+)"/.exec(page)?.[1];
    if (form.status !== 200 || pending === undefined) return { status: form.status, page };
    const created = await fetch(`${sim.baseUrl}/settings/apps/new/create`, {
      method: "POST",
      body: new URLSearchParams({ pending, name: "" }),
      redirect: "manual",
    });
    const back = new URL(created.headers.get("location")!);
    expect(`${back.origin}${back.pathname}`).toBe(manifest.redirect_url);
    return { status: created.status, code: back.searchParams.get("code")!, state: back.searchParams.get("state"), page };
  }

  it("confirms, redirects back with a code and the state, and converts the code once into credentials it accepts", async () => {
    const { status, code, state, page } = await register("/organizations/acme/settings/apps/new");
    expect(page).toContain("Create GitHub App for acme");
    expect(status).toBe(302);
    expect(state).toBe("s-1");
    const converted = await anonymousOctokit(sim).request("POST /app-manifests/{code}/conversions", { code: code! });
    expect(converted.status).toBe(201);
    expect(converted.data).toMatchObject({
      id: sim.appId,
      name: "jit-access",
      webhook_secret: sim.webhookSecret,
      permissions: { contents: "read", secrets: "write", metadata: "read" },
      events: ["pull_request"],
    });
    expect(converted.data.owner).toMatchObject({ login: "acme" });
    // The new key signs JWTs the simulator accepts.
    const app = new Octokit({
      baseUrl: sim.apiUrl,
      authStrategy: createAppAuth,
      auth: { appId: sim.appId, privateKey: converted.data.pem },
    });
    await expect(app.request("GET /app")).resolves.toMatchObject({ status: 200 });
    // Once only.
    await expect(anonymousOctokit(sim).request("POST /app-manifests/{code}/conversions", { code: code! })).rejects.toMatchObject({
      status: 404,
    });
    expect(sim.violations).toEqual([]);
  });

  it("refuses an expired code, and a manifest GitHub would not take", async () => {
    const { code } = await register("/settings/apps/new");
    sim.expireManifestCodes();
    await expect(anonymousOctokit(sim).request("POST /app-manifests/{code}/conversions", { code: code! })).rejects.toMatchObject({
      status: 404,
    });
    const refused = await register("/settings/apps/new", { ...manifest, default_permissions: { secrets: "own" }, extra: 1 });
    expect(refused.status).toBe(422);
    expect(refused.page).toContain("&#34;extra&#34; is not a manifest field");
    expect(refused.page).toContain("app-permissions");
  });
});
