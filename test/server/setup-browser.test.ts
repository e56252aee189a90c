/**
 * Registering the app from its manifest, as a new operator does it: `node dist/main.js` (what
 * `npm start` runs) without credentials serves the setup page; headless Chromium opens it,
 * chooses an organisation, goes to the simulator's `/organizations/acme/settings/apps/new`,
 * creates the app there and comes back; `.env` then holds working credentials (mode 0600,
 * other lines kept), and the app started with them answers a signed webhook and acts on it.
 * A code GitHub refuses (expired, or not one it issued) shows a clear message and writes
 * nothing; so does a return whose `state` this server did not hand out.
 *
 * Needs `npm run build` first. Without Chromium the suite is skipped with one line (see
 * test/helpers/chromium.ts). The setup page's screenshot goes to JIT_TEST_OUTPUT or a
 * temporary folder it prints (docs/setup-page.png is a copy).
 */
import { createPrivateKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { freePort, startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { readAppYml } from "../../src/server/setup-manifest.js";
import { describeInChromium, launchChromium } from "../helpers/chromium.js";
import { startSetupProcess } from "./helpers/setup-process.js";

const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 1h
`;

const describeInBrowser = describeInChromium("setup-browser.test.ts");

describeInBrowser("registering the app from its manifest in headless Chromium", () => {
  let sim: GitHubSimulator;
  let browser: Browser;
  let outputDir: string;
  const dirs: string[] = [];
  const problems: string[] = [];
  let app: AppProcess | undefined;

  const newPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("dialog", (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on("console", (message) => {
      // A refusal page comes with its 4xx status, which Chromium notes; anything else (a CSP violation) is a problem.
      if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    return { context, page };
  };
  const workDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "jit-setup-"));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    sim = await startSimulator({ checkResponses: true });
    browser = await launchChromium();
    outputDir = process.env.JIT_TEST_OUTPUT ?? mkdtempSync(join(tmpdir(), "jit-setup-browser-"));
    await mkdir(outputDir, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await browser?.close();
    await sim?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("registers on an organisation, writes working credentials to .env, and the app then answers a signed webhook", async () => {
    const dir = workDir();
    const envPath = join(dir, ".env");
    // The operator wrote some settings first: they stay, and the stale client id is replaced, and said so.
    writeFileSync(
      envPath,
      `# jit-access settings\nJIT_CATALOG=${join(dir, "jit-catalog.yml")}\nLOG_LEVEL=info\nGITHUB_CLIENT_ID=Iv1.stale\n`,
      { mode: 0o600 },
    );
    const port = await freePort();
    const setup = await startSetupProcess(sim, dir, port);
    const oldSecret = sim.webhookSecret;
    try {
      expect(setup.output()).toContain(`Open ${setup.url}/setup to register the app`);
      // No webhook endpoint while in setup mode.
      expect((await fetch(`${setup.url}/api/github/webhooks`, { method: "POST", body: "{}" })).status).toBe(404);

      const { page } = await newPage();
      await page.goto(`${setup.url}/`);
      expect(new URL(page.url()).pathname).toBe("/setup");
      await expect(page.locator("h1").innerText()).resolves.toBe("Register jit-access as a GitHub App");
      // What will be registered: every permission of app.yml with its reason, and the events.
      const yml = readAppYml();
      const rows = await Promise.all((await page.locator("#permissions tbody tr").all()).map((row) => row.locator("td").allInnerTexts()));
      expect(rows).toEqual(yml.permissions.map((p) => [p.name, p.access, p.reason]));
      expect(rows.find((row) => row[0] === "secrets")?.[2]).toMatch(/^Write \(PUT\) and delete environment secrets/);
      expect(rows.every((row) => (row[2] ?? "").length > 20)).toBe(true);
      await expect(page.locator("#events tbody td.name").allInnerTexts()).resolves.toEqual([
        "pull_request",
        "pull_request_review",
        "issue_comment",
        "deployment_protection_rule",
      ]);
      await expect(page.locator("input[name=webhook_url]").inputValue()).resolves.toBe(`${setup.url}/api/github/webhooks`);
      await page.locator("input[value=organization]").check();
      await page.locator("input[name=organization]").fill("acme");
      await page.screenshot({ path: join(outputDir, "setup-page.png"), fullPage: true });
      process.stdout.write(`setup-browser.test.ts: screenshot in ${join(outputDir, "setup-page.png")}\n`);

      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page.locator("h1").innerText()).resolves.toBe("Create jit-access on GitHub");
      await expect(page.locator("form").getAttribute("action")).resolves.toMatch(
        new RegExp(`^${sim.baseUrl}/organizations/acme/settings/apps/new\\?state=[A-Za-z0-9_-]{32}$`),
      );
      await page.getByRole("button", { name: "Create on GitHub" }).click();
      // The simulator's GitHub asks to confirm, as GitHub does.
      await expect(page.locator("h1").innerText()).resolves.toBe("Create GitHub App for acme");
      await page.getByRole("button", { name: "Create GitHub App for acme" }).click();

      await expect(page.locator("h1").innerText()).resolves.toBe("jit-access is registered");
      expect(new URL(page.url()).pathname).toBe("/setup/callback");
      const written = await page.locator("#written").innerText();
      expect(written).toContain("Added: APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GITHUB_CLIENT_SECRET.");
      expect(written).toContain("Replaced (the file had another value): GITHUB_CLIENT_ID.");
      expect(written).toContain("Kept as they were: 2 other settings, and every comment.");
      await expect(page.getByRole("link", { name: "Install the app" }).getAttribute("href")).resolves.toBe(
        `${sim.baseUrl}/apps/jit-access/installations/new`,
      );
      await expect(page.locator("#next").innerText()).resolves.toMatch(/JIT_CATALOG[\s\S]*Restart jit-access/);

      // GitHub's side: the manifest from app.yml, on acme, exchanged once.
      const [registered] = sim.manifestCodes;
      expect(sim.manifestCodes).toHaveLength(1);
      expect(registered).toMatchObject({ organization: "acme", used: true });
      expect(registered!.manifest).toMatchObject({
        name: "jit-access",
        hook_attributes: { url: `${setup.url}/api/github/webhooks`, active: true },
        redirect_url: `${setup.url}/setup/callback`,
        default_permissions: Object.fromEntries(yml.permissions.map((p) => [p.name, p.access])),
        default_events: ["pull_request", "pull_request_review", "issue_comment", "deployment_protection_rule"],
      });
      expect(sim.violations).toEqual([]);

      // .env: the credentials, mode 0600, the operator's lines kept as written.
      expect(statSync(envPath).mode & 0o777).toBe(0o600);
      const text = readFileSync(envPath, "utf8");
      expect(
        text.startsWith(`# jit-access settings\nJIT_CATALOG=${join(dir, "jit-catalog.yml")}\nLOG_LEVEL=info\nGITHUB_CLIENT_ID=Iv1.`),
      ).toBe(true);
      const values = parseEnv(text) as Record<string, string>;
      expect(values.APP_ID).toBe(String(sim.appId));
      expect(values.WEBHOOK_SECRET).toBe(sim.webhookSecret);
      expect(values.WEBHOOK_SECRET).not.toBe(oldSecret);
      expect(createPrivateKey(values.PRIVATE_KEY!).asymmetricKeyType).toBe("rsa");
      expect(values.PRIVATE_KEY).not.toBe(sim.privateKeyPem);
      expect(values.GITHUB_CLIENT_ID).toMatch(/^Iv1\.[0-9a-f]{16}$/);
      expect(values.GITHUB_CLIENT_SECRET).toMatch(/^[0-9a-f]{40}$/);
      expect(values.LOG_LEVEL).toBe("info");

      // The setup page does not offer a second registration.
      await page.goto(`${setup.url}/setup`);
      await expect(page.locator("h1").innerText()).resolves.toBe("jit-access is registered");
      expect(problems).toEqual([]);
    } finally {
      expect(await setup.stop()).toBe(0);
    }

    // Restarted with the credentials from .env only, on the address GitHub now delivers to.
    app = await startAppProcess(sim, {
      catalog: CATALOG,
      dataDir: dir,
      port,
      credentials: "env-file",
      env: { PROD_DB_URL: "postgres://setup-test" },
    });
    // Its start-up line reaches stdout through the log stream, a moment after /ping answers.
    const started = app;
    const ready = await sim.waitFor(
      () =>
        started
          .output()
          .split("\n")
          .find((line) => line.includes("jit-access ready")) ?? null,
      { timeoutMs: 10_000, description: "the restarted app's start-up line" },
    );
    expect(ready).toContain(`settings from the environment and ${envPath}`);
    sim.addUser("alice");
    sim.addUser("bob");
    sim.createRepo("acme/api", {
      collaborators: { alice: "write", bob: "admin" },
      environments: ["production"],
      files: { ".github/CODEOWNERS": "jit-requests.yml @bob\n", "jit-requests.yml": "requests: []\n" },
    });
    sim.commit(
      "acme/api",
      "need-db",
      {
        "jit-requests.yml":
          'requests:\n  - secret: PROD_DB_URL\n    environment: production\n    duration: 30m\n    reason: "INC-17: registered from the setup page"\n',
      },
      { from: "main" },
    );
    const pr = await sim.openPullRequest("acme/api", { head: "need-db", base: "main", author: "alice", title: "Need the database" });
    // Recorded in the inbox and answered at once; the check run below shows it was processed.
    expect(sim.lastDelivery?.status).toBe(202);
    const check = await sim.waitFor(
      () => sim.checkRuns("acme/api").find((run) => run.name === "jit-access" && run.status === "in_progress"),
      {
        timeoutMs: 10_000,
        description: "the app's check run, made with a token from the new key",
      },
    );
    expect(check.output.title).toBe("Waiting for approval: 0 of 1");
    expect(pr).toBeGreaterThan(0);
    expect(sim.requests.some((r) => r.route === "POST /app/installations/{installation_id}/access_tokens" && r.status === 201)).toBe(true);
    expect(sim.violations).toEqual([]);
  }, 90_000);

  it("shows a clear message and writes nothing when GitHub refuses the code, or the return is not one it started", async () => {
    const dir = workDir();
    const envPath = join(dir, ".env");
    const setup = await startSetupProcess(sim, dir, await freePort());
    try {
      const { page } = await newPage();
      const start = async (): Promise<void> => {
        await page.goto(`${setup.url}/setup`);
        await page.getByRole("button", { name: "Continue" }).click();
      };

      // An expired code: GitHub's redirect back is held while the code expires.
      await start();
      let back = "";
      const isCreate = (url: URL): boolean => url.pathname === "/settings/apps/new/create";
      await page.route(isCreate, async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        back = response.headers().location ?? "";
        await route.fulfill({ status: 200, contentType: "text/plain", body: "held" });
      });
      await page.getByRole("button", { name: "Create on GitHub" }).click();
      await page.getByRole("button", { name: /^Create GitHub App for/ }).click();
      await expect(page.locator("body").innerText()).resolves.toBe("held");
      expect(new URL(back).pathname).toBe("/setup/callback");
      await page.unroute(isCreate);
      sim.expireManifestCodes();
      await page.goto(back);
      await expect(page.locator("h1").innerText()).resolves.toBe("GitHub refused the code");
      await expect(page.getByRole("alert").innerText()).resolves.toBe(
        "GitHub answered 404 (“Not Found”): the code is unknown, already used, or more than an hour old. Nothing was written.",
      );
      expect(existsSync(envPath)).toBe(false);

      // The same return again: its state was used up.
      await page.goto(back);
      await expect(page.locator("h1").innerText()).resolves.toBe("Not a registration started here");
      await expect(page.getByRole("alert").innerText()).resolves.toContain("Nothing was exchanged or written.");

      // A code GitHub never issued, with a state this server did hand out.
      await start();
      const action = (await page.locator("form").getAttribute("action"))!;
      const state = new URL(action).searchParams.get("state")!;
      await page.goto(`${setup.url}/setup/callback?code=0123456789abcdef&state=${state}`);
      await expect(page.locator("h1").innerText()).resolves.toBe("GitHub refused the code");

      // GitHub's words are shown as text: a hostile message makes no element and runs nothing.
      await start();
      const hostileState = new URL((await page.locator("form").getAttribute("action"))!).searchParams.get("state")!;
      const fault = sim.faults.add({
        method: "POST",
        path: "/app-manifests/{code}/conversions",
        status: 422,
        body: { message: '<img src=x onerror=alert(1)>"Validation Failed"' },
        times: 1,
      });
      await page.goto(`${setup.url}/setup/callback?code=feedface&state=${hostileState}`);
      expect(sim.faults.fired(fault)).toBe(1);
      await expect(page.getByRole("alert").innerText()).resolves.toContain('(“<img src=x onerror=alert(1)>"Validation Failed"”)');
      expect(await page.locator("img").count()).toBe(0);

      // A state it never handed out: GitHub is not even asked.
      const before = sim.requests.length;
      await page.goto(`${setup.url}/setup/callback?code=0123456789abcdef&state=made-up`);
      await expect(page.locator("h1").innerText()).resolves.toBe("Not a registration started here");
      expect(sim.requests.length).toBe(before);

      expect(existsSync(envPath)).toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await setup.stop();
    }
  }, 60_000);
});
