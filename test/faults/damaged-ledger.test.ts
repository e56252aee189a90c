/**
 * The ledger file is damaged on disk (three pages of the grants table zeroed, as a failing disk
 * leaves them). Before, the app started on it, answered /ping, and every sweep failed with
 * "database disk image is malformed": no DELETE was sent and every secret stayed. Now it refuses
 * to start, saying what is wrong and how to recover. The app runs as operators run it,
 * `node dist/main.js` (sim/app-process.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { startAppProcess } from "../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { ensureAppBuilt } from "../e2e/helpers/ensure-app-built.js";
import { zeroTablePages } from "../helpers/damage-ledger.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { CATALOG, VALUE } from "./helpers/sim-app.js";

let sim: GitHubSimulator | undefined;
let dataDir: string | undefined;
beforeAll(() => ensureAppBuilt(), 180_000);
afterEach(async () => {
  await sim?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  sim = dataDir = undefined;
});

describe("a damaged ledger file", () => {
  it("the app refuses to start on it, naming the damage and the recovery steps", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "jit-damaged-"));
    const path = join(dataDir, "jit-access.db");
    const store = await openLedger(`sqlite:${path}`);
    for (let i = 0; i < 120; i++)
      await seedGrant(store, { prNumber: i + 1, reason: `INC-${4000 + i}: ${"look into the stuck migration ".repeat(4)}` });
    await store.close();
    zeroTablePages(path, 3);
    sim = await startSimulator({ port: 0 });

    const failure = await startAppProcess(sim, { catalog: CATALOG, env: { PROD_DB_URL: VALUE }, dataDir }).then(
      async (app) => {
        await app.stop("SIGKILL");
        return null;
      },
      (error: Error) => error,
    );

    expect(failure?.message).toContain(
      `the app exited during start-up:\njit-access cannot start: the ledger database ${path} is damaged (PRAGMA quick_check: `,
    );
    expect(failure?.message).toContain(
      "To recover: 1. keep the damaged file aside for investigation; 2. restore the ledger from your latest backup (grants made since then are unknown to it); " +
        "3. run `jit-access reconcile --dry-run` to list the catalog secrets present without a live grant (those jit-access has no record of writing are listed as unmanaged); 4. run `jit-access reconcile` to delete the ones it wrote, and delete by hand the unmanaged ones that are leftovers; then start jit-access.",
    );
    expect(failure?.message).not.toContain("jit-access ready");
  }, 60_000);
});
