/**
 * `jit-access protect OWNER/REPO ENVIRONMENT`: enables jit-access as a custom deployment
 * protection rule of one environment, through the API, when the app may (the Administration
 * permission, write). When it may not, nothing changes and the command prints how an admin of
 * the repository enables it by hand.
 */
import { GateClient } from "../github/gate-client.js";
import { type AppOctokit } from "../github/repo-client.js";
import { statusOf } from "../github/github-failure.js";
import type { Catalog } from "../policy/catalog.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { sameName } from "../util/ascii-case.js";
import { withApp, EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs, usageError } from "./command-args.js";
import { terminalText } from "../util/terminal-text.js";
import { errorSummary } from "../util/error-message.js";

export const PROTECT_USAGE = `usage: jit-access protect OWNER/REPO ENVIRONMENT

Enables jit-access as a custom deployment protection rule of ENVIRONMENT in OWNER/REPO: every
job that targets the environment then waits for jit-access, which approves it only when the
run's actor and triggering actor are the requester of a live grant there that is bound to its
requester (bind_to_requester), and rejects it otherwise, with the reason. Dedicate the
environment to just-in-time access (e.g. production-jit) rather than gating a deploy environment.

Enabling a rule through the API needs the app's Administration permission (write), which its
manifest does not ask for; without it nothing changes and the command prints how a repository
admin enables the rule by hand. Custom deployment protection rules work in public repositories
on every plan; private and internal repositories need GitHub Enterprise.

Needs APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, JIT_CATALOG and DATABASE_URL (as the server).
Exit status: 0 enabled (or already), 1 not enabled (what to do is printed), 2 usage or
configuration error.`;

const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/u;

export async function protectCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs("protect", PROTECT_USAGE, args, { options: { ...HELP_OPTION }, allowPositionals: true }, io);
  if (typeof parsed === "number") return parsed;
  const [repository, environment, ...extra] = parsed.positionals;
  if (repository === undefined || environment === undefined)
    return usageError("protect", PROTECT_USAGE, "give the repository and the environment: jit-access protect acme/api production-jit", io);
  if (extra.length > 0) return usageError("protect", PROTECT_USAGE, `unexpected argument "${extra[0]}"`, io);
  if (!REPOSITORY.test(repository)) return usageError("protect", PROTECT_USAGE, `"${repository}" is not OWNER/REPO, e.g. acme/api`, io);
  if (environment.trim() === "" || environment.length > 255)
    return usageError("protect", PROTECT_USAGE, "the environment is an Actions environment's name, 1 to 255 characters", io);
  const [owner, repo] = repository.split("/") as [string, string];

  return withApp(io, { catalog: true }, async ({ settings, deps, appOctokit }) => {
    const app = await appOctokit();
    const installationId = await repositoryInstallation(app, owner, repo);
    if (installationId === null) {
      io.stderr(terminalText(`jit-access is not installed on ${repository} (or cannot see it): install the app on the repository first`));
      return EXIT.problem;
    }
    const { data: self } = await app.rest.apps.getAuthenticated();
    const appName = self?.name ?? "jit-access";
    const gate = new GateClient(await deps.octokitFor(installationId), owner, repo);
    const rules = await gate.protectionRules(environment);
    if (rules === null) {
      io.stderr(
        terminalText(`${repository} has no environment "${environment}": create it first (Settings → Environments → New environment)`),
      );
      return EXIT.problem;
    }
    for (const line of bindingNotes(deps.catalog, repository, environment)) io.stderr(terminalText(line));
    if (rules.some((rule) => rule.appId === settings.appId && rule.enabled)) {
      io.stdout(terminalText(`jit-access is already a deployment protection rule of "${environment}" in ${repository}`));
      return EXIT.ok;
    }
    try {
      const rule = await gate.enableProtectionRule(environment, settings.appId);
      io.stdout(
        terminalText(
          `enabled jit-access (app ${settings.appId}) as a deployment protection rule of "${environment}" in ${repository} (rule ${rule.id})`,
        ),
      );
      return EXIT.ok;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 403 && status !== 404 && status !== 422) throw error;
      const why =
        status === 422
          ? `GitHub refused the rule (${errorSummary(error)}); custom deployment protection rules need a public repository, or GitHub Enterprise for a private or internal one`
          : "the app may not change the environment's protection rules (that needs its Administration permission, write, which its manifest does not ask for)";
      io.stderr(terminalText(`could not enable jit-access on "${environment}" in ${repository}: ${why}.`));
      for (const line of byHand(repository, environment, appName, settings.appId)) io.stderr(terminalText(line));
      return EXIT.problem;
    }
  });
}

/** The app's installation on the repository, or null when it has none (or cannot see it). */
async function repositoryInstallation(app: AppOctokit, owner: string, repo: string): Promise<number | null> {
  try {
    const { data } = await app.rest.apps.getRepoInstallation({ owner, repo });
    return data.id;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** What a repository admin does instead: the settings page, or the same call with their own token. */
function byHand(repository: string, environment: string, appName: string, appId: number): string[] {
  return [
    "To enable it by hand, a repository admin:",
    `  - opens ${repository} → Settings → Environments → "${environment}", ticks "${appName}" under Deployment protection rules, and saves; or`,
    `  - runs: gh api --method POST repos/${repository}/environments/${encodeURIComponent(environment)}/deployment_protection_rules -F integration_id=${appId}`,
  ];
}

/** Warnings when the rule would reject every job: no catalog secret there, or none bound by the catalog. */
function bindingNotes(catalog: Catalog, repository: string, environment: string): string[] {
  const here = [...catalog.secrets.values()].filter(
    (secret) => repositoryAllowed(secret.repositories, repository) && secret.environments.some((name) => sameName(name, environment)),
  );
  if (here.length === 0) {
    return [`note: no catalog secret may be granted into "${environment}" in ${repository}, so the rule will reject every job there`];
  }
  if (!here.some((secret) => secret.bindToRequester)) {
    return [
      `note: no catalog secret granted into "${environment}" sets bind_to_requester: true; unless ${repository}'s .github/jit-access.yml does, the rule will reject every job there`,
    ];
  }
  return [];
}
