/**
 * `jit-access doctor`: the checks an operator runs after deploying, and whenever something looks
 * wrong. Each check prints one line, `ok`, `warn` or `fail`, with what to do about anything that
 * is not ok; `--json` prints the same as JSON. It only reads: no ledger migration, no write to
 * GitHub, and never a secret's value (a value source is read to see that it can be, then dropped).
 * A check that needs an earlier one that failed says so instead of guessing.
 */
import { pino } from "pino";
import { Probot, type ProbotOctokit } from "probot";
import { loadSettings, SettingsError, type Settings } from "../app/load-settings.js";
import { checkSettingsFile, SettingsFileError } from "../app/settings-file.js";
import { createAppOctokit } from "../github/app-octokit.js";
import { GateClient } from "../github/gate-client.js";
import { RepoClient, type AppOctokit, type EnvironmentInfo } from "../github/repo-client.js";
import { statusOf } from "../github/github-failure.js";
import { WriteScheduler } from "../github/write-scheduler.js";
import { openLedger, schemeOf } from "../ledger/open-ledger.js";
import { LedgerDamagedError } from "../ledger/sqlite-open.js";
import type { LedgerStore } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { ConfigError } from "../policy/config-error.js";
import { loadCatalog } from "../policy/load-catalog.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { readSecretValueSettled } from "../grant/read-secret-value.js";
import { sameName } from "../util/ascii-case.js";
import { systemClock, type Clock } from "../util/clock.js";
import { EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";
import { terminalText } from "../util/terminal-text.js";
import { errorMessage } from "../util/error-message.js";
import { appInstallations, installationRepositories } from "../github/app-client.js";

export const DOCTOR_USAGE = `usage: jit-access doctor [--json]

Checks a deployment and prints one line per check: ok, warn or fail, with what to do about
anything that is not ok. The checks: settings; the catalog; the ledger (reachable, migrated,
no live grant left past its expiry, no break-glass grant waiting for a code owner's review, no
delivery the webhook inbox gave up); the private key (GitHub accepts the app's token); the
app's installations (none suspended); for each catalog secret, the installed repositories its
globs match, that its environments exist there (protected where the catalog requires it, and
gated by jit-access where it binds grants to their requester), and that its value source is
readable; recent webhook deliveries. It changes nothing and prints no secret.

Reads the same settings as the server (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET,
JIT_CATALOG, DATABASE_URL, GHE_HOST, the catalog's value sources).
Exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error.`;

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  check: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, when the status is not ok. */
  fix?: string;
}

/** How long past its expiry a live grant may be before doctor calls it overdue: two sweeps. */
const overdueAfter = (settings: Pick<Settings, "sweepIntervalMs">): number => 2 * settings.sweepIntervalMs;

/** At most this many names are listed in one line; the rest are counted. */
const LIST_AT_MOST = 5;

export interface DoctorOptions {
  /** The Octokit class GitHub calls go through (tests pass one without retries). */
  Octokit?: typeof ProbotOctokit;
  clock?: Clock;
}

export async function doctorCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs("doctor", DOCTOR_USAGE, args, { options: { ...HELP_OPTION, json: { type: "boolean" } } }, io);
  if (typeof parsed === "number") return parsed;
  const results = await runDoctor(io.env, { clock: io.clock ?? systemClock, ...(io.deps?.Octokit ? { Octokit: io.deps.Octokit } : {}) });
  if (parsed.values.json === true) {
    io.stdout(JSON.stringify({ ok: !results.some((r) => r.status === "fail"), checks: results }));
  } else {
    for (const result of results) io.stdout(terminalText(formatCheck(result)));
    const counts = (["ok", "warn", "fail"] as const).map((status) => `${results.filter((r) => r.status === status).length} ${status}`);
    io.stdout(`doctor: ${counts.join(", ")}`);
  }
  return results.some((r) => r.status === "fail") ? EXIT.problem : EXIT.ok;
}

export function formatCheck(result: CheckResult): string {
  return `${result.status.padEnd(4)}  ${result.check}: ${result.detail}${result.fix ? `. ${result.fix}` : ""}`;
}

/** Runs every check in order; never throws (an unexpected error is that check's `fail`). */
export async function runDoctor(env: NodeJS.ProcessEnv, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const clock = options.clock ?? systemClock;
  const results: CheckResult[] = [];
  const add = (result: CheckResult): void => void results.push(result);
  const guarded = async <T>(check: string, body: () => Promise<T>): Promise<T | null> => {
    try {
      return await body();
    } catch (error) {
      add({ check, status: "fail", detail: oneLine(error), fix: "this check itself failed; the message says why" });
      return null;
    }
  };

  // Settings: all the server needs. Without them, the ledger can still be checked.
  let settings: Settings | null = null;
  try {
    settings = loadSettings(env);
    add({ check: "settings", status: "ok", detail: `valid; GitHub at ${settings.baseUrl}, ledger ${schemeOf(settings.databaseUrl)}:…` });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    add({
      check: "settings",
      status: "fail",
      detail: error.problems.join(" "),
      fix: "set them as README's Settings describes, then run doctor again",
    });
  }
  const ledgerSettings = settings ?? tryLoad(() => loadSettings(env, { webhookSecret: false, credentials: false, catalog: false }));

  const catalog = settings ? await checkCatalog(settings, add) : null;
  if (!settings) add(notChecked("catalog", "the settings"));

  if (ledgerSettings) await guarded("ledger", () => checkLedger(ledgerSettings, clock, add));
  else add(notChecked("ledger", "DATABASE_URL"));

  if (!settings) {
    for (const check of ["private key", "installations", "webhook deliveries"]) add(notChecked(check, "the settings"));
    return results;
  }
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    baseUrl: settings.baseUrl,
    Octokit: options.Octokit ?? createAppOctokit({ scheduler: new WriteScheduler({ clock }), clock }, { retry: false }),
    log: pino({ level: "silent" }),
  });
  const app = await guarded("private key", () => checkAppToken(probot, settings, add));
  if (app === null) {
    for (const check of ["installations", "webhook deliveries"]) add(notChecked(check, "a token GitHub accepts"));
    return results;
  }
  const installations = await guarded("installations", () => checkInstallations(app, probot, add));
  if (catalog && installations) await checkCatalogSecrets(catalog, installations, settings.appId, env, add);
  else if (catalog) add(notChecked("catalog secrets", "the installations"));
  await guarded("webhook deliveries", () => checkDeliveries(app, add));
  return results;
}

function notChecked(check: string, needs: string): CheckResult {
  return { check, status: "warn", detail: `not checked: it needs ${needs}, which failed above`, fix: "fix that first" };
}

function tryLoad<T>(load: () => T): T | null {
  try {
    return load();
  } catch {
    return null;
  }
}

async function checkCatalog(settings: Settings, add: (r: CheckResult) => void): Promise<Catalog | null> {
  try {
    checkSettingsFile(settings.catalogPath, "JIT_CATALOG", { ifPresent: true });
    const catalog = await loadCatalog(settings.catalogPath);
    add({
      check: "catalog",
      status: "ok",
      detail: `${catalog.secrets.size} secret${catalog.secrets.size === 1 ? "" : "s"} in ${settings.catalogPath}`,
    });
    return catalog;
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof SettingsFileError || error instanceof Error)) throw error;
    add({
      check: "catalog",
      status: "fail",
      detail: oneLine(error),
      fix: "fix the catalog (jit-access validate checks a requests file against it); until then nothing can be granted",
    });
    return null;
  }
}

async function checkLedger(
  settings: Pick<Settings, "databaseUrl" | "sweepIntervalMs">,
  clock: Clock,
  add: (r: CheckResult) => void,
): Promise<void> {
  let store: LedgerStore;
  try {
    // Read-only: doctor never migrates or creates a ledger.
    store = await openLedger(settings.databaseUrl, { readonly: true });
  } catch (error) {
    const fix =
      error instanceof LedgerDamagedError
        ? 'restore the ledger from a backup, then run jit-access reconcile --dry-run and jit-access reconcile ("The ledger is damaged" in docs/operations.md)'
        : "start the app once so that it creates and migrates the ledger, or fix DATABASE_URL";
    add({ check: "ledger", status: "fail", detail: oneLine(error), fix });
    return;
  }
  try {
    const live = await store.listGrants({ liveOnly: true });
    add({ check: "ledger", status: "ok", detail: `reachable and migrated; ${live.length} live grant${live.length === 1 ? "" : "s"}` });
    const now = clock.now();
    const overdue = live.filter((grant) => grant.expiresAt.getTime() < now - overdueAfter(settings));
    if (overdue.length === 0) {
      add({ check: "overdue grants", status: "ok", detail: "no live grant is past its expiry by more than two sweep intervals" });
    } else {
      const worst = Math.max(...overdue.map((grant) => now - grant.expiresAt.getTime()));
      add({
        check: "overdue grants",
        status: "fail",
        detail: `${overdue.length} live grant${overdue.length === 1 ? " is" : "s are"} past expiry, the oldest by ${Math.round(worst / 60_000)} min (${list(overdue.map((g) => `${g.id} ${g.owner}/${g.repo} ${g.environment} ${g.secret}`))})`,
        fix: "check that the server runs and its log for failed revocations; run jit-access sweep to revoke them now",
      });
    }
    const unreviewed = await store.unreviewedBreakGlass();
    if (unreviewed.length === 0) {
      add({ check: "break-glass reviews", status: "ok", detail: "every break-glass grant has been reviewed by a code owner" });
    } else {
      add({
        check: "break-glass reviews",
        status: "warn",
        detail: `${unreviewed.length} break-glass grant${unreviewed.length === 1 ? " waits" : "s wait"} for a code owner's review (${list(unreviewed.map((g) => `${g.id} ${g.owner}/${g.repo}#${g.prNumber} ${g.secret}`))})`,
        fix: "a code owner reviews each pull request and approves it; jit-access grants --break-glass-unreviewed lists them",
      });
    }
    const inbox = await store.countDeliveries();
    if (inbox.dead === 0) {
      add({ check: "webhook inbox", status: "ok", detail: `${inbox.pending} pending, no delivery given up` });
    } else {
      const dead = await store.listDeliveries("dead", 5);
      add({
        check: "webhook inbox",
        status: "warn",
        detail: `${inbox.dead} deliver${inbox.dead === 1 ? "y was" : "ies were"} given up after failing every attempt (${list(dead.map((entry) => `${entry.id} ${entry.event}: ${(entry.lastError ?? "").slice(0, 120)}`))})`,
        fix: "read the app's log for these deliveries; once the cause is fixed, redeliver them from the app's settings on GitHub",
      });
    }
  } finally {
    await store.close();
  }
}

async function checkAppToken(probot: Probot, settings: Settings, add: (r: CheckResult) => void): Promise<AppOctokit | null> {
  const app = await probot.auth();
  try {
    const { data } = await app.rest.apps.getAuthenticated();
    add({
      check: "private key",
      status: "ok",
      detail: `GitHub accepts the app's token: ${data?.slug ?? data?.name ?? "the app"} (id ${data?.id ?? settings.appId})`,
    });
    return app;
  } catch (error) {
    const status = statusOf(error);
    add({
      check: "private key",
      status: "fail",
      detail:
        status === undefined
          ? `GitHub at ${settings.baseUrl} did not answer: ${oneLine(error)}`
          : `GitHub refused the app's token (${status}): ${oneLine(error)}`,
      fix:
        status === undefined
          ? "check GHE_HOST and GHE_PROTOCOL, and that the host is reachable"
          : "check that APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH) belong to the same app",
    });
    return null;
  }
}

interface Installed {
  installationId: number;
  account: string;
  repositories: { client: RepoClient; gate: GateClient }[];
}

async function checkInstallations(app: AppOctokit, probot: Probot, add: (r: CheckResult) => void): Promise<Installed[]> {
  const installations = await appInstallations(app);
  if (installations.length === 0) {
    add({
      check: "installations",
      status: "warn",
      detail: "the app is installed nowhere",
      fix: "install it on the repositories whose pull requests request access",
    });
    return [];
  }
  const found: Installed[] = [];
  for (const installation of installations) {
    const { account } = installation;
    if (installation.suspended) {
      add({
        check: "installations",
        status: "warn",
        detail: `${account} (${installation.id}) is suspended`,
        fix: "unsuspend it in the account's GitHub App settings; its grants cannot be written or revoked until then",
      });
      continue;
    }
    const octokit = await probot.auth(installation.id);
    const repositories = await installationRepositories(octokit);
    found.push({
      installationId: installation.id,
      account,
      repositories: repositories.map((r) => ({
        client: new RepoClient(octokit, r.owner, r.name),
        gate: new GateClient(octokit, r.owner, r.name),
      })),
    });
  }
  // Every installation suspended: the warnings above say so, and nothing is active.
  if (found.length === 0) return found;
  const repoCount = found.reduce((sum, i) => sum + i.repositories.length, 0);
  add({
    check: "installations",
    status: "ok",
    detail: `${found.length} active (${list(found.map((i) => `${i.account} ${i.installationId}`))}), ${repoCount} repositor${repoCount === 1 ? "y" : "ies"}`,
  });
  return found;
}

async function checkCatalogSecrets(
  catalog: Catalog,
  installations: Installed[],
  appId: number,
  env: NodeJS.ProcessEnv,
  add: (r: CheckResult) => void,
): Promise<void> {
  const environmentsOf = new Map<string, Promise<EnvironmentInfo[]>>();
  const environments = (client: RepoClient): Promise<EnvironmentInfo[]> => {
    const key = client.fullName.toLowerCase();
    if (!environmentsOf.has(key)) environmentsOf.set(key, client.environmentList());
    return environmentsOf.get(key)!;
  };
  const repositories = installations.flatMap((i) => i.repositories);
  for (const secret of catalog.secrets.values()) {
    const check = `secret ${secret.name}`;
    const matching = repositories.filter(({ client }) => repositoryAllowed(secret.repositories, client.fullName));
    if (matching.length === 0) {
      add({
        check,
        status: "warn",
        detail: `no installed repository matches ${secret.repositories.join(", ")}`,
        fix: "install the app on those repositories, or correct the catalog's repositories",
      });
    } else {
      const problems: string[] = [];
      for (const { client, gate } of matching) {
        let found: EnvironmentInfo[];
        try {
          found = await environments(client);
        } catch (error) {
          problems.push(`${client.fullName}: its environments could not be read (${oneLine(error)})`);
          continue;
        }
        for (const name of secret.environments) {
          const environment = found.find((e) => sameName(e.name, name));
          if (environment === undefined) problems.push(`${client.fullName} has no environment ${name}`);
          else if (secret.requireProtectedEnvironment && environment.protectionRules.length === 0 && !environment.branchPolicy) {
            problems.push(`${client.fullName}'s environment ${environment.name} has no protection rule, which the catalog requires`);
          } else if (secret.bindToRequester) {
            const rules = await gate.protectionRules(environment.name).catch((error: unknown) => oneLine(error));
            if (typeof rules === "string")
              problems.push(`${client.fullName}'s environment ${environment.name}: its protection rules could not be read (${rules})`);
            else if (!(rules ?? []).some((rule) => rule.appId === appId && rule.enabled)) {
              problems.push(
                `${client.fullName}'s environment ${environment.name} does not have jit-access as a deployment protection rule, which bind_to_requester needs (jit-access protect ${client.fullName} ${environment.name})`,
              );
            }
          }
        }
      }
      add(
        problems.length === 0
          ? {
              check,
              status: "ok",
              detail: `environments ${secret.environments.join(", ")} present in ${list(matching.map(({ client }) => client.fullName))}${secret.bindToRequester ? ", each gated by jit-access" : ""}`,
            }
          : {
              check,
              status: "fail",
              detail: list(problems),
              fix: "create the environments (repository Settings > Environments) and their protection rules, or correct the catalog",
            },
      );
    }
    const value = await readSecretValueSettled(secret.source, env);
    add(
      value.ok
        ? { check: `value of ${secret.name}`, status: "ok", detail: `its source (${secret.source.kind}) is readable` }
        : {
            check: `value of ${secret.name}`,
            status: "fail",
            detail: oneLine(value.error),
            fix: "grants of this secret fail until its source can be read",
          },
    );
  }
}

/** Recent deliveries: one page of the app's delivery log (100, newest first). */
async function checkDeliveries(app: AppOctokit, add: (r: CheckResult) => void): Promise<void> {
  let deliveries: { status_code: number; event: string; action?: string | null; delivered_at: string; guid: string }[];
  try {
    ({ data: deliveries } = await app.rest.apps.listWebhookDeliveries({ per_page: 100 }));
  } catch (error) {
    add({
      check: "webhook deliveries",
      status: "warn",
      detail: `the delivery log could not be read (${oneLine(error)})`,
      fix: "check the app's webhook settings on GitHub",
    });
    return;
  }
  if (deliveries.length === 0) {
    add({
      check: "webhook deliveries",
      status: "warn",
      detail: "GitHub has delivered no webhook to the app yet",
      fix: "check the app's webhook URL and that it is active; open a pull request to send one",
    });
    return;
  }
  const failed = deliveries.filter((d) => d.status_code < 200 || d.status_code >= 300);
  if (failed.length === 0) {
    add({ check: "webhook deliveries", status: "ok", detail: `the last ${deliveries.length} were all answered with 2xx` });
    return;
  }
  const latest = failed[0]!;
  add({
    check: "webhook deliveries",
    status: "warn",
    detail: `${failed.length} of the last ${deliveries.length} failed; the latest: ${latest.event}${latest.action ? `.${latest.action}` : ""} at ${latest.delivered_at} (${latest.status_code === 0 ? "no answer" : `status ${latest.status_code}`}, delivery ${latest.guid})`,
    fix: "check the server's log and that the webhook URL reaches it; GitHub can redeliver a failed delivery for 3 days",
  });
}

function list(items: string[]): string {
  const shown = items.slice(0, LIST_AT_MOST).join(", ");
  return items.length > LIST_AT_MOST ? `${shown} and ${items.length - LIST_AT_MOST} more` : shown;
}

function oneLine(error: unknown): string {
  return errorMessage(error)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ")
    .slice(0, 400);
}
