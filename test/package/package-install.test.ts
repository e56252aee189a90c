/**
 * The package as the container image installs it (scripts/install-package.sh, the Dockerfile's
 * own install step): `npm pack`, the tarball unpacked into an empty directory, production
 * dependencies only, better-sqlite3's addon copied rather than fetched. Its dist/main.js then
 * runs against the simulator for one grant. A runtime import of a dev dependency, or a file the
 * package leaves out, fails here as it would in the image.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { approve, createRequestRepo, openRequest } from "../faults/helpers/request-prs.js";
import { CATALOG, VALUE } from "../faults/helpers/sim-app.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const INSTALL_TIMEOUT_MS = 240_000;

function npmVersion(): string | null {
  try {
    return execFileSync("npm", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

const npm = npmVersion();
if (npm === null)
  console.warn("test/package/package-install.test.ts skipped: npm is not available on this machine (`npm --version` failed)");
const describeWithNpm = npm === null ? describe.skip : describe;

let work: string;
let installed: string;
let sim: GitHubSimulator | undefined;
let app: AppProcess | undefined;

beforeAll(async () => {
  if (npm === null) return;
  await ensureAppBuilt();
  work = mkdtempSync(join(tmpdir(), "jit-access-package-"));
  installed = join(work, "app");
  await new Promise<void>((resolveInstall, reject) =>
    execFile(
      "sh",
      [join(ROOT, "scripts/install-package.sh"), ROOT, installed],
      { cwd: work, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`scripts/install-package.sh failed:\n${stdout}${stderr}`, { cause: error })) : resolveInstall(),
    ),
  );
}, INSTALL_TIMEOUT_MS + 180_000);

afterAll(async () => {
  await app?.stop("SIGTERM");
  await sim?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describeWithNpm("the package installed as the image installs it", () => {
  it("holds what the package publishes and production dependencies only", () => {
    expect(existsSync(join(installed, "dist/main.js"))).toBe(true);
    expect(existsSync(join(installed, "app.yml"))).toBe(true);
    expect(existsSync(join(installed, "src"))).toBe(false);
    expect(existsSync(join(installed, "node_modules/prom-client"))).toBe(true);
    for (const dev of ["jest", "typescript", "nock", "tsx", "eslint"]) expect(existsSync(join(installed, "node_modules", dev))).toBe(false);
  });

  it("runs its dist/main.js against the simulator: one grant, metrics answered, a clean stop", async () => {
    sim = await startSimulator();
    createRequestRepo(sim, "acme/api");
    app = await startAppProcess(sim, { catalog: CATALOG, env: { PROD_DB_URL: VALUE }, entry: join(installed, "dist/main.js") });
    const pr = await openRequest(sim, "acme/api", "2h");
    await approve(sim, "acme/api", pr);
    expect(await sim.waitFor(() => sim!.secretValue("acme/api", "production", "PROD_DB_URL"), { description: "the secret" })).toBe(VALUE);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    // The delivery is answered once the inbox holds it; the grant is recorded active just after its PUT.
    const metrics = await sim.waitFor(
      async () => {
        const text = await (await fetch(`${app!.url}/metrics`)).text();
        return /^jit_access_grants_total\{outcome="granted"\} 1$/m.test(text) ? text : undefined;
      },
      { timeoutMs: 10_000, description: "the grant counted in /metrics" },
    );
    expect(metrics).toMatch(/^jit_access_grants_total\{outcome="granted"\} 1$/m);
    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.output()).not.toContain(VALUE);
    expect(sim.violations).toEqual([]);
  }, 60_000);
});
