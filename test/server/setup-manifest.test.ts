import { describe, expect, it } from "@jest/globals";
import { loadOpenApiCheck } from "../../sim/openapi-check.js";
import { manifestProblems } from "../../sim/web/app-manifest-pages.js";
import { manifestFor, parseAppYml, readAppYml } from "../../src/server/setup-manifest.js";
import { credentialsMissing, githubWebUrl, hostAllowed } from "../../src/server/setup-mode.js";

describe("the manifest from app.yml", () => {
  it("gives every permission and event its reason, from the comment above it", () => {
    const app = readAppYml();
    expect(app.name).toBe("jit-access");
    expect(app.permissions.map((p) => `${p.name}:${p.access}`)).toEqual([
      "contents:read",
      "pull_requests:write",
      "checks:write",
      "secrets:write",
      "environments:write",
      "members:read",
      "deployments:write",
      "actions:read",
      "metadata:read",
    ]);
    for (const entry of [...app.permissions, ...app.events]) expect(entry.reason.length).toBeGreaterThan(20);
    expect(app.permissions[0]!.reason).toMatch(/^Read jit-requests.yml at the PR's head and base/);
    expect(app.events.map((e) => e.name)).toEqual(["pull_request", "pull_request_review", "issue_comment", "deployment_protection_rule"]);
  });

  it("is one GitHub takes (checked against the REST description's app permissions)", async () => {
    const manifest = manifestFor(readAppYml(), {
      name: "jit-access",
      webhookUrl: "https://jit.example.com/api/github/webhooks",
      redirectUrl: "http://localhost:3000/setup/callback",
    });
    expect(manifest).toMatchObject({
      hook_attributes: { url: "https://jit.example.com/api/github/webhooks", active: true },
      redirect_url: "http://localhost:3000/setup/callback",
      public: false,
    });
    const check = await loadOpenApiCheck();
    expect(manifestProblems(manifest, check)).toEqual([]);
    expect(manifestProblems({ ...manifest, default_permissions: { secrets: "admin", issue: "write" } }, check)).toEqual([
      expect.stringContaining("app-permissions"),
      'app-permissions: "issue" is not one of its properties',
    ]);
  });

  it("says which field of app.yml is wrong", () => {
    expect(() => parseAppYml("name: x\ndescription: y\nurl: z\ndefault_permissions: [a]\ndefault_events: []\n")).toThrow(
      /"default_permissions" must be a mapping/,
    );
  });
});

describe("setup mode", () => {
  it("starts only when no credential at all is set", () => {
    expect(credentialsMissing({})).toBe(true);
    expect(credentialsMissing({ APP_ID: " ", WEBHOOK_SECRET: "" })).toBe(true);
    expect(credentialsMissing({ WEBHOOK_SECRET: "s" })).toBe(false);
    expect(credentialsMissing({ PRIVATE_KEY_PATH: "/k.pem" })).toBe(false);
  });

  it("finds GitHub's web address from the API base URL", () => {
    expect(githubWebUrl("https://api.github.com")).toBe("https://github.com");
    expect(githubWebUrl("https://ghe.example.com/api/v3")).toBe("https://ghe.example.com");
    expect(githubWebUrl("http://127.0.0.1:4000/api/v3")).toBe("http://127.0.0.1:4000");
  });

  it("answers to names a person types for this machine, not to a web site's name", () => {
    for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "10.0.0.5", "app.localhost:3000", "jit-box:3000"])
      expect(hostAllowed(host, "jit-box")).toBe(true);
    for (const host of ["evil.example.com:3000", "127.0.0.1.evil.example:3000", "", undefined])
      expect(hostAllowed(host, "localhost")).toBe(false);
  });
});
