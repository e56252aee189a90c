/**
 * What every `jit-access` command runs with. Output, environment and clock are injected
 * (`CliIO`), so tests run a command without a real process, network or time. From the same
 * settings as the server, a command gets the ledger (`withLedger`), or the ledger plus the
 * GitHub App and the lifecycle's dependencies (`withApp`). Logs go to stderr, so stdout carries
 * only the command's output (`jit-access grants --json | jq …` works).
 */
import { hostname, userInfo } from "node:os";
import { pino, type Logger } from "pino";
import { Probot, type ProbotOctokit } from "probot";
import { loadSettings, SettingsError, type Settings } from "../app/load-settings.js";
import { checkSettingsFile, SettingsFileError } from "../app/settings-file.js";
import { createAppOctokit } from "../github/app-octokit.js";
import type { AppOctokit } from "../github/repo-client.js";
import { WriteScheduler } from "../github/write-scheduler.js";
import { openLedger } from "../ledger/open-ledger.js";
import { isWriteSlotStore, type LedgerStore } from "../ledger/store.js";
import type { LifecycleDeps } from "../app/deps.js";
import { createLifecycleDeps } from "../app/create-lifecycle-deps.js";
import type { Catalog } from "../policy/catalog.js";
import { ConfigError } from "../policy/config-error.js";
import { loadCatalog } from "../policy/load-catalog.js";
import { firstInvisibleCharacter } from "../request/invisible-characters.js";
import { systemClock, type Clock } from "../util/clock.js";
import { jsonTextForTerminal } from "../util/terminal-text.js";
import { errorMessage } from "../util/error-message.js";

export interface CliIO {
  /** Writes one line of the command's output (the caller adds the newline). */
  stdout(line: string): void;
  /**
   * Resolves once stdout has taken what was written (backpressure): a command that writes a lot
   * waits for it between pages, so its output is never held in memory. Absent when writes never queue.
   */
  stdoutDrained?(): Promise<void>;
  /** Writes one line of diagnostics: errors, warnings, logs. */
  stderr(line: string): void;
  /** The settings come from here (the process's environment, and the file `--env-file` names). */
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal: output meant for files (CSV) is then made safe to show. */
  stdoutIsTerminal?: boolean;
  /** The system clock unless given. */
  clock?: Clock;
  deps?: CliOverrides;
}

export interface CliOverrides {
  /**
   * The Octokit class GitHub calls go through. By default the app's own: paced per
   * installation on `clock`, with retries. Tests pass one without retries or pacing delays.
   */
  Octokit?: typeof ProbotOctokit;
}

/** Exit statuses shared by every command. */
export const EXIT = {
  ok: 0,
  /** Something is wrong or still due; the output says what. */
  problem: 1,
  /** Bad arguments, or a setting that is missing or invalid. */
  usage: 2,
} as const;

export interface LedgerContext {
  settings: Settings;
  store: LedgerStore;
  clock: Clock;
  /** Writes JSON lines to stderr at LOG_LEVEL. */
  log: Logger;
}

export interface AppContext extends LedgerContext {
  probot: Probot;
  /** The lifecycle's dependencies, as the server wires them. */
  deps: LifecycleDeps;
  /** The app itself (JWT), for app-level calls such as listing installations. */
  appOctokit: () => Promise<AppOctokit>;
}

/** Commands that do not read the catalog still get a `LifecycleDeps`; this one allows nothing. */
const NO_CATALOG: Catalog = { file: "(catalog not loaded: this command does not need JIT_CATALOG)", secrets: new Map() };

/** Runs `body` with the ledger only: needs DATABASE_URL (or its default), no credentials. */
export async function withLedger(io: CliIO, body: (context: LedgerContext) => Promise<number>): Promise<number> {
  return withContext(io, { credentials: false, catalog: false }, body);
}

/**
 * Runs `body` with the ledger and the GitHub App: needs APP_ID and PRIVATE_KEY (or
 * PRIVATE_KEY_PATH), and JIT_CATALOG when `catalog` is true.
 */
export async function withApp(io: CliIO, options: { catalog: boolean }, body: (context: AppContext) => Promise<number>): Promise<number> {
  return withContext(io, { credentials: true, catalog: options.catalog }, async ({ settings, store, clock, log, catalog }) => {
    const sharedSlots = isWriteSlotStore(store) ? { sharedSlots: store } : {};
    const Octokit = io.deps?.Octokit ?? createAppOctokit({ scheduler: new WriteScheduler({ clock, ...sharedSlots }), clock });
    const probot = new Probot({ appId: settings.appId, privateKey: settings.privateKey, baseUrl: settings.baseUrl, Octokit, log });
    // One client per installation for the command's run (its token is refreshed inside it when
    // it nears expiry): a sweep of 10,000 grants builds 1,000 clients, not two a grant.
    const clients = new Map<number, ReturnType<typeof probot.auth>>();
    const octokitFor = (installationId: number): ReturnType<typeof probot.auth> => {
      let client = clients.get(installationId);
      if (client === undefined) {
        client = probot.auth(installationId);
        clients.set(installationId, client);
        client.catch(() => clients.delete(installationId));
      }
      return client;
    };
    const deps = createLifecycleDeps({
      store,
      catalog: { ok: true, catalog },
      clock,
      settings,
      sourceEnv: io.env,
      octokitFor,
      appOctokit: () => probot.auth(),
      // Events are queued in the shared ledger; the server's notification worker delivers them.
      notifyLog: probot.log,
      // A command runs once: no answers are kept between events.
      caches: false,
    });
    return body({ settings, store, clock, log: probot.log, probot, deps, appOctokit: () => probot.auth() });
  });
}

/**
 * Loads settings, the catalog when needed, and the ledger; any problem there is a configuration
 * error (exit 2) with the message that names what to fix. The ledger is closed at the end.
 */
async function withContext(
  io: CliIO,
  needs: { credentials: boolean; catalog: boolean },
  body: (context: LedgerContext & { catalog: Catalog }) => Promise<number>,
): Promise<number> {
  let settings: Settings;
  let catalog: Catalog;
  let store: LedgerStore;
  try {
    settings = loadSettings(io.env, { webhookSecret: false, credentials: needs.credentials, catalog: needs.catalog });
    if (needs.catalog) checkSettingsFile(settings.catalogPath, "JIT_CATALOG", { ifPresent: true });
    catalog = needs.catalog ? await loadCatalog(settings.catalogPath) : NO_CATALOG;
    store = await openLedger(settings.databaseUrl);
  } catch (error) {
    io.stderr(configurationMessage(error));
    return EXIT.usage;
  }
  try {
    // JSON lines on stderr; no pid/hostname (Probot's child loggers add their own name).
    const log = pino(
      { level: settings.logLevel, base: undefined },
      { write: (line: string) => io.stderr(jsonTextForTerminal(line.trimEnd())) },
    );
    return await body({ settings, store, clock: io.clock ?? systemClock, log, catalog });
  } finally {
    await store.close();
  }
}

function configurationMessage(error: unknown): string {
  if (error instanceof SettingsError || error instanceof ConfigError || error instanceof SettingsFileError) return error.message;
  return `jit-access: ${errorMessage(error)}`;
}

/**
 * `operator:NAME` for the audit log: `--actor`, else $USER, else `cli`. A label the operator
 * chooses, not an identity: anyone who runs the command can write any name. (`whoRan` records
 * the account that ran it.) A $USER with control or invisible characters is not used.
 */
export function operatorActor(env: NodeJS.ProcessEnv, actor?: string): string {
  const user = env.USER?.trim();
  const name = actor?.trim() || (user && checkLabel("$USER", user, MAX_ACTOR_LENGTH) === null ? user : "") || "cli";
  return `operator:${name}`;
}

export const MAX_ACTOR_LENGTH = 100;

/**
 * Why a label typed on the command line (`--reason`, `--actor`) cannot be stored, or null when
 * it can: no control, bidi or invisible characters (as in requests' reasons), at most `max`
 * characters.
 */
export function checkLabel(flag: string, text: string, max: number): string | null {
  const invisible = firstInvisibleCharacter(text);
  if (invisible !== null) return `${flag} contains an invisible control or bidi character (${invisible}); type it as plain text`;
  const length = [...text.trim()].length;
  if (length > max) return `${flag} is ${length} characters; keep it to ${max}`;
  return null;
}

/** The account and machine a command ran on, for the audit record (the OS's word, not a flag's). */
export function whoRan(): { user: string | null; uid: number | null; host: string } {
  let user: string | null = null;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (common in containers): the uid says who.
  }
  return { user, uid: process.getuid?.() ?? null, host: hostname() };
}
