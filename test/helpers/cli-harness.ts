import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { afterEach, beforeEach } from "@jest/globals";
import nock from "nock";
import { runCli } from "../../src/cli/run-cli.js";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { GitHubMock } from "./github-nock.js";
import { mockInstallationToken } from "./reconcile-nock.js";
import { recordUnmatchedRequests } from "./unmatched-requests.js";
import { tempLedgerDir } from "./grant-fixture.js";
import { EXPIRY_START } from "./revocation-deps.js";

/**
 * Runs `jit-access` commands as the binary would, minus the process: a ledger file in a temp
 * directory, or the ledger `databaseUrl` names (the test holds its own connection to seed and
 * inspect it), the app's credentials (a freshly generated key), a ManualClock, GitHub behind
 * nock with the network blocked, and stdout and stderr captured line by line.
 */
export interface CliResult {
  code: number;
  stdout: string[];
  stderr: string[];
}

export interface CliHarness {
  clock: ManualClock;
  /** The test's own connection to the ledger the commands use. */
  store: LedgerStore;
  env: NodeJS.ProcessEnv;
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  close(): Promise<void>;
}

let privateKey: string | undefined;
/** One RSA key per test file: generating one takes a moment. */
export function appPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  return privateKey;
}

/** `databaseUrl`: the ledger the commands use, instead of a SQLite file in the temp directory (a PostgreSQL one). */
export async function startCliHarness(options: { catalog?: string; databaseUrl?: string } = {}): Promise<CliHarness> {
  nock.disableNetConnect();
  const dir = await tempLedgerDir();
  const databaseUrl = options.databaseUrl ?? dir.url();
  const clock = new ManualClock(EXPIRY_START);
  const env: NodeJS.ProcessEnv = {
    APP_ID: "1",
    PRIVATE_KEY: appPrivateKey(),
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "info",
    USER: "dana",
  };
  if (options.catalog !== undefined) {
    env.JIT_CATALOG = dir.path("jit-catalog.yml");
    await writeFile(env.JIT_CATALOG, options.catalog);
  }
  const store = await openLedger(databaseUrl);
  const Octokit = createAppOctokit(
    { scheduler: new WriteScheduler({ clock, writeIntervalMs: 0, notifyIntervalMs: 0 }), clock },
    { retry: false },
  );
  return {
    clock,
    store,
    env,
    async run(args, overrides = env) {
      const result: CliResult = { code: -1, stdout: [], stderr: [] };
      result.code = await runCli(args, {
        stdout: (line) => void result.stdout.push(line),
        stderr: (line) => void result.stderr.push(line),
        env: overrides,
        clock,
        deps: { Octokit },
      });
      return result;
    },
    async close() {
      await store.close();
      await dir.remove();
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}

/**
 * A CLI harness for each test of the file, with nock's unmatched requests recorded: registers
 * the hooks that start and close them, and hands each test's pair to `use`.
 */
export function cliHarnessPerTest(
  use: (cli: CliHarness, unmatched: ReturnType<typeof recordUnmatchedRequests>) => void,
  options: Parameters<typeof startCliHarness>[0] = {},
): void {
  let started: { cli: CliHarness; unmatched: ReturnType<typeof recordUnmatchedRequests> } | undefined;
  beforeEach(async () => {
    started = { cli: await startCliHarness(options), unmatched: recordUnmatchedRequests() };
    use(started.cli, started.unmatched);
  });
  afterEach(async () => {
    started?.unmatched.stop();
    await started?.cli.close();
    started = undefined;
  });
}

/**
 * GitHub's side of one revocation of PR 7's grant of PROD_DB_URL in acme/api's production
 * environment, as the CLI sends it: the installation token, the DELETE (answered `deleteStatus`)
 * and, when it succeeds, the PR's comment and labels.
 */
export function mockRevocation(deleteStatus = 204): GitHubMock {
  mockInstallationToken(42);
  const gh = new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", deleteStatus);
  if (deleteStatus < 300) {
    gh.comment(7).setLabels(7);
  }
  return gh;
}
