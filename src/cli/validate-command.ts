/**
 * `jit-access validate [FILE] --catalog PATH --repo OWNER/NAME [--base FILE] [--config FILE]`
 *
 * Checks a requests file against the operator catalog offline, as the app would on a pull
 * request, minus what needs GitHub: whether environments exist and the pull-request checks
 * (fork, base branch, author permission). With `--base`, only the entries added relative to
 * that file are judged, as on a pull request; without it, every entry is. The catalog is loaded
 * with the app's own rules (`loadCatalog`), so a catalog the app could not load (it would run
 * revoke-only) is refused here too.
 *
 * Exit status: 0 valid, 1 problems found (one `FILE:LINE:COL: message` line each),
 * 2 the command could not run (bad arguments, unreadable file, bad catalog or config).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { canonicalSecretName } from "../policy/secret-name.js";
import { ConfigError } from "../policy/config-error.js";
import { loadCatalog } from "../policy/load-catalog.js";
import { parseRepoConfig } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../policy/repo-config.js";
import { formatDuration } from "../util/duration.js";
import { terminalText } from "../util/terminal-text.js";
import { validateRequests, type ValidRequest } from "../request/validate-requests.js";

export interface CommandIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Relative paths are resolved against this; the process's working directory by default. */
  cwd?: string;
}

export const VALIDATE_USAGE = "usage: jit-access validate [FILE] --catalog PATH --repo OWNER/NAME [--base FILE] [--config FILE]";

const DEFAULT_FILE = "jit-requests.yml";
const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;

interface ValidateOptions {
  file: string;
  catalog: string;
  repository: string;
  base?: string;
  config?: string;
}

/** A reason the command cannot run; exit status 2. */
class UsageError extends Error {
  override readonly name = "UsageError";
}

export async function validateCommand(args: string[], io: CommandIo): Promise<number> {
  try {
    const options = readOptions(args);
    if (options === "help") {
      io.stdout(VALIDATE_USAGE);
      return 0;
    }
    return await run(options, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(terminalText(`jit-access validate: ${error.message}`));
    io.stderr(VALIDATE_USAGE);
    return 2;
  }
}

async function run(options: ValidateOptions, io: CommandIo): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const catalog = await configOrUsageError(() => loadCatalog(resolve(cwd, options.catalog)));
  const repoConfig = await readRepoConfig(options.config, cwd);
  const headText = await readText(options.file, cwd);
  const baseText = options.base === undefined ? null : await readText(options.base, cwd);

  const result = validateRequests({
    file: options.file,
    headText,
    baseText,
    catalog,
    repoConfig,
    repository: options.repository,
  });
  if (result.problems.length > 0) {
    for (const problem of result.problems) io.stdout(terminalText(`${options.file}:${problem.line}:${problem.column}: ${problem.message}`));
    return 1;
  }
  if (result.requests.length === 0) {
    io.stdout(terminalText(result.removedOnly ? `ok: ${options.file} only removes entries` : `ok: ${options.file} requests nothing new`));
  }
  for (const request of result.requests) io.stdout(terminalText(summary(request)));
  return 0;
}

/** `ok: PROD_DB_URL → production for 2h (needs 2 approvals)` */
export function summary(request: ValidRequest): string {
  const approvals = request.approvals === 1 ? "1 approval" : `${request.approvals} approvals`;
  const name = canonicalSecretName(request.secret.name);
  return `ok: ${name} → ${request.environment} for ${formatDuration(request.durationMs)} (needs ${approvals})`;
}

function readOptions(args: string[]): ValidateOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        catalog: { type: "string" },
        repo: { type: "string" },
        base: { type: "string" },
        config: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    const usage = parseArgsProblem(error);
    if (usage === null) throw error;
    throw new UsageError(usage, { cause: error });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return "help";
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}: ${positionals.join(" ")}`);
  if (values.catalog === undefined) throw new UsageError("--catalog PATH is required: the operator catalog to check against");
  if (values.repo === undefined) throw new UsageError("--repo OWNER/NAME is required: the repository the requests are for");
  if (!REPOSITORY.test(values.repo)) throw new UsageError(`--repo must be OWNER/NAME, e.g. acme/api, not "${values.repo}"`);
  const options: ValidateOptions = { file: positionals[0] ?? DEFAULT_FILE, catalog: values.catalog, repository: values.repo };
  if (values.base !== undefined) options.base = values.base;
  if (values.config !== undefined) options.config = values.config;
  return options;
}

/**
 * parseArgs reports unknown options, missing option values and the like as errors with an
 * `ERR_PARSE_ARGS_*` code. Checked by shape: such errors may come from another realm (a test VM),
 * where `instanceof TypeError` is false.
 */
function parseArgsProblem(error: unknown): string | null {
  if (typeof error !== "object" || error === null || !("code" in error) || !("message" in error)) return null;
  const { code, message } = error;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS") && typeof message === "string" ? message : null;
}

async function readRepoConfig(path: string | undefined, cwd: string): Promise<RepoConfig> {
  if (path === undefined) return DEFAULT_REPO_CONFIG;
  const text = await readText(path, cwd);
  return configOrUsageError(() => parseRepoConfig(text, path));
}

/** A ConfigError's message already names the file, line and fix; it becomes a usage error. */
async function configOrUsageError<T>(load: () => T | Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

async function readText(path: string, cwd: string): Promise<string> {
  try {
    return await readFile(resolve(cwd, path), "utf8");
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : null;
    if (code === null) throw error;
    throw new UsageError(`cannot read ${path}: ${readFailure(code)}`, { cause: error });
  }
}

function readFailure(code: string): string {
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "it is a directory; give the path of a file";
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`;
    default:
      return `${code}`;
  }
}
