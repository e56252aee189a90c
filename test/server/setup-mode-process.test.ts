/**
 * The setup page's rules, shown on the running process (`node dist/main.js`, no browser): it
 * appears only when none of the app's credentials is set; it answers only to names a person
 * types for this machine; a `.env` it cannot write is reported before GitHub's one-time code is
 * spent; one code is exchanged at a time; a credential the environment sets, which would win
 * over `.env`, is named; and GitHub failing to convert the code writes nothing. GitHub's side
 * is the simulator's manifest flow, driven with the form posts a browser makes.
 *
 * Builds dist/ first when it is missing or older than src/ (ensureAppBuilt).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { APP_ENTRY, freePort, startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { openPage, returnFromGitHub, setupEnv, startSetupProcess, type SetupProcess } from "./helpers/setup-process.js";

const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    environments: [production]
    max_duration: 1h
`;

let sim: GitHubSimulator;
let dir: string;
let setup: SetupProcess | undefined;
let app: AppProcess | undefined;

beforeAll(async () => {
  await ensureAppBuilt();
}, 120_000);

beforeEach(async () => {
  sim = await startSimulator({ checkResponses: true });
  dir = mkdtempSync(join(tmpdir(), "jit-setup-process-"));
});

afterEach(async () => {
  await setup?.stop();
  await app?.stop();
  setup = undefined;
  app = undefined;
  expect(sim.violations).toEqual([]);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request with the Host header a browser sends for `host`, which fetch() cannot set. */
function withHost(url: string, host: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, headers: { host, "content-type": "application/x-www-form-urlencoded" } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on("error", reject);
    sent.end(method === "POST" ? "owner=organization&organization=acme&name=jit-access&webhook_url=http%3A%2F%2Fevil.example%2F" : "");
  });
}

describe("when the setup page appears", () => {
  it("not with some credentials set: the start stops with the settings message, and nothing serves /setup", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [APP_ENTRY], {
      cwd: dir,
      env: setupEnv(sim, port, { APP_ID: "12345", JIT_CATALOG: join(dir, "jit-catalog.yml") }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(output.trim().split("\n")).toEqual([
      "jit-access cannot start: 2 settings are missing or invalid.",
      "  - PRIVATE_KEY or PRIVATE_KEY_PATH is not set: the GitHub App's private key (.pem), as text or as a file path.",
      "  - WEBHOOK_SECRET is not set: the secret GitHub signs webhook deliveries with (the app's webhook secret).",
    ]);
    expect(output).not.toContain("/setup");
    expect(existsSync(join(dir, ".env"))).toBe(false);
  }, 30_000);

  it("not with every credential set and no JIT_CATALOG: the app starts revoke-only, says why, and /setup is not there", async () => {
    app = await startAppProcess(sim, { catalog: CATALOG, dataDir: dir, env: { JIT_CATALOG: "" } });
    const started = app;
    const ready = await sim.waitFor(
      () =>
        started
          .output()
          .split("\n")
          .find((line) => line.includes("jit-access started revoke-only")) ?? null,
      { timeoutMs: 10_000, description: "the revoke-only start-up line" },
    );
    expect(ready).toContain("jit-access started revoke-only");
    expect(app.output()).toContain("JIT_CATALOG is not set");
    for (const path of ["/setup", "/setup/callback?code=abc&state=def"]) expect((await fetch(`${app.url}${path}`)).status).toBe(404);
    expect((await fetch(`${app.url}/setup/register`, { method: "POST", body: new URLSearchParams({ owner: "personal" }) })).status).toBe(
      404,
    );
    expect(sim.manifestCodes).toEqual([]);
  }, 60_000);
});

describe("the setup page", () => {
  it("answers a name that is not this machine's (a rebound web site) with 421 on every route, and registers nothing", async () => {
    setup = await startSetupProcess(sim, dir, await freePort());
    const port = setup.port;
    for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, "evil.example"]) {
      for (const [path, method] of [
        ["/setup", "GET"],
        ["/", "GET"],
        ["/setup/register", "POST"],
        ["/setup/callback?code=abc&state=def", "GET"],
      ] as const) {
        const answer = await withHost(`${setup.url}${path}`, host, method);
        expect({ host, path, status: answer.status }).toEqual({ host, path, status: 421 });
        expect(answer.body).toContain("Open this page by address");
        expect(answer.body).not.toContain("evil.example");
      }
    }
    // The names a person types are served.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) expect((await withHost(`${setup.url}/setup`, host)).status).toBe(200);
    expect(sim.manifestCodes).toEqual([]);
    expect(existsSync(join(dir, ".env"))).toBe(false);
  }, 60_000);

  it("reports a .env it cannot write before GitHub's code is used; once fixed, the same return completes", async () => {
    setup = await startSetupProcess(sim, dir, await freePort());
    const back = await returnFromGitHub(sim, setup.url);
    // Someone put a link where .env goes.
    const elsewhere = join(dir, "elsewhere");
    writeFileSync(elsewhere, "KEEP=me\n", { mode: 0o600 });
    symlinkSync(elsewhere, join(dir, ".env"));

    const refused = await openPage(back);
    expect(refused.status).toBe(500);
    expect(refused.title).toBe("Cannot write .env");
    expect(refused.alert).toMatch(/is a symbolic link; the setup page writes only a regular file/);
    expect(refused.text).toContain("GitHub's code has not been used yet and stays valid for an hour.");
    expect(sim.manifestCodes.map((code) => code.used)).toEqual([false]);
    expect(readFileSync(elsewhere, "utf8")).toBe("KEEP=me\n");

    rmSync(join(dir, ".env"));
    const done = await openPage(back);
    expect(done.status).toBe(200);
    expect(done.title).toBe("jit-access is registered");
    expect(sim.manifestCodes.map((code) => code.used)).toEqual([true]);
    expect((parseEnv(readFileSync(join(dir, ".env"), "utf8")) as Record<string, string>).APP_ID).toBe(String(sim.appId));
    expect(readFileSync(elsewhere, "utf8")).toBe("KEEP=me\n");
  }, 60_000);

  it("exchanges one code at a time: a second return during an exchange gets 409; the first completes, the second code stays unused", async () => {
    setup = await startSetupProcess(sim, dir, await freePort());
    const first = await returnFromGitHub(sim, setup.url);
    const second = await returnFromGitHub(sim, setup.url);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = sim.faults.add({ method: "POST", path: "/app-manifests/{code}/conversions", until: released, times: 1 });

    const firstDone = openPage(first);
    await sim.waitFor(() => sim.faults.fired(held) === 1 || null, { timeoutMs: 10_000, description: "the first exchange under way" });
    const busy = await openPage(second);
    expect(busy.status).toBe(409);
    expect(busy.title).toBe("Already exchanging");
    release();

    const done = await firstDone;
    expect(done.status).toBe(200);
    expect(done.title).toBe("jit-access is registered");
    // Once registered, the second return shows the outcome and exchanges nothing.
    const again = await openPage(second);
    expect(again.title).toBe("jit-access is registered");
    expect(sim.manifestCodes.map((code) => code.used)).toEqual([true, false]);
    expect(sim.requests.filter((r) => r.route === "POST /app-manifests/{code}/conversions")).toHaveLength(1);
  }, 60_000);

  it("names a credential the environment sets, which would win over .env, and tells to unset it", async () => {
    // GITHUB_CLIENT_SECRET from the environment, GITHUB_CLIENT_ID from .env: only the first one wins over the new file.
    writeFileSync(join(dir, ".env"), "GITHUB_CLIENT_ID=Iv1.old\n", { mode: 0o600 });
    setup = await startSetupProcess(sim, dir, await freePort(), { GITHUB_CLIENT_SECRET: "from-the-environment" });
    const done = await openPage(await returnFromGitHub(sim, setup.url));
    expect(done.title).toBe("jit-access is registered");
    expect(done.alert).toBe(
      "The environment this server runs in sets GITHUB_CLIENT_SECRET, which wins over .env: unset it before restarting.",
    );
    const written = parseEnv(readFileSync(join(dir, ".env"), "utf8")) as Record<string, string>;
    expect(written.GITHUB_CLIENT_SECRET).toMatch(/^[0-9a-f]{40}$/);
    expect(written.GITHUB_CLIENT_ID).not.toBe("Iv1.old");
    expect(done.html).not.toContain("from-the-environment");
  }, 60_000);

  it("a server error from GitHub's conversion endpoint: a clear message, nothing written, and the code not spent", async () => {
    setup = await startSetupProcess(sim, dir, await freePort());
    const back = await returnFromGitHub(sim, setup.url);
    sim.faults.add({ method: "POST", path: "/app-manifests/{code}/conversions", status: 502, times: 1 });
    const failed = await openPage(back);
    expect(failed.status).toBe(502);
    expect(failed.title).toBe("No credentials from GitHub");
    expect(failed.alert).toMatch(
      new RegExp(
        `^could not exchange the code at ${sim.baseUrl.replace(/\./g, "\\.")}/api/v3: GitHub answered 502: Server Error.*\\. Nothing was written\\.$`,
      ),
    );
    expect(failed.text).toContain("If GitHub did create the app, delete it");
    expect(existsSync(join(dir, ".env"))).toBe(false);
    expect(sim.manifestCodes.map((code) => code.used)).toEqual([false]);
    expect(setup.output()).toContain("the app manifest code was not exchanged");
  }, 60_000);
});
