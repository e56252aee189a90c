/**
 * `jit-access COMMAND [ARGS]`: finds the command and runs it. Each command parses its own
 * arguments and returns its exit status; an error no command expected is reported here as
 * `jit-access COMMAND: message`, exit 1.
 */
import { readEnvFile, SettingsFileError } from "../app/settings-file.js";
import { auditCommand } from "./audit-command.js";
import { doctorCommand } from "./doctor-command.js";
import { EXIT, type CliIO } from "./cli-context.js";
import { grantsCommand } from "./grants-command.js";
import { protectCommand } from "./protect-command.js";
import { reconcileCommand } from "./reconcile-command.js";
import { reportCommand } from "./report-command.js";
import { revokeCommand } from "./revoke-command.js";
import { sweepCommand } from "./sweep-command.js";
import { terminalText } from "../util/terminal-text.js";
import { validateCommand } from "./validate-command.js";
import { errorMessage } from "../util/error-message.js";

interface Command {
  synopsis: string;
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  sweep: { synopsis: "sweep", summary: "revoke every grant whose time is up (one pass, for cron)", run: sweepCommand },
  grants: {
    synopsis: "grants [--all] [--json]",
    summary: "list live grants (or all; --break-glass-unreviewed: those awaiting review)",
    run: grantsCommand,
  },
  revoke: { synopsis: "revoke GRANT_ID --reason TEXT [--actor NAME]", summary: "end one grant now", run: revokeCommand },
  audit: {
    synopsis: "audit [--since ISO] [--format jsonl|csv]",
    summary: "export the audit log (--verify: check its hash chain; --archive: retention)",
    run: auditCommand,
  },
  report: {
    synopsis: "report --since ISO [--until ISO] --out FILE",
    summary: "write an access review of a period as one HTML page (or JSON)",
    run: reportCommand,
  },
  reconcile: {
    synopsis: "reconcile [--dry-run]",
    summary: "delete catalog secrets jit-access wrote that have no live grant",
    run: reconcileCommand,
  },
  doctor: {
    synopsis: "doctor [--json]",
    summary: "check the deployment: settings, catalog, ledger, GitHub, deliveries",
    run: doctorCommand,
  },
  protect: {
    synopsis: "protect OWNER/REPO ENVIRONMENT",
    summary: "make jit-access the environment's deployment protection rule",
    run: protectCommand,
  },
  validate: {
    synopsis: "validate [FILE] --catalog PATH --repo OWNER/NAME",
    summary: "check a requests file against the catalog, offline",
    run: validateCommand,
  },
};

export function cliHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((command) => command.synopsis.length));
  return [
    "usage: jit-access [--env-file PATH] COMMAND [ARGS]",
    "",
    "Commands:",
    ...Object.values(COMMANDS).map((command) => `  ${command.synopsis.padEnd(width)}  ${command.summary}`),
    "",
    'Run "jit-access COMMAND --help" for a command\'s options. Settings come from the environment, as',
    "for the server: DATABASE_URL, APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, GHE_HOST and GHE_PROTOCOL,",
    "JIT_CATALOG, LOG_LEVEL. No .env is read from the working directory; --env-file PATH (or",
    "JIT_ENV_FILE=PATH) names a settings file to read, for variables the environment does not set.",
    "Logs go to stderr.",
    "",
    "Exit status: 0 ok, 1 something is wrong or still due, 2 usage or configuration error.",
  ].join("\n");
}

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const option = takeEnvFileOption(argv);
  if ("error" in option) {
    io.stderr(`jit-access: ${option.error}`);
    io.stderr(cliHelp());
    return EXIT.usage;
  }
  const [name, ...args] = option.argv;
  if (name === "help" || name === "--help" || name === "-h") {
    if (args[0] !== undefined && Object.hasOwn(COMMANDS, args[0])) return COMMANDS[args[0]]!.run(["--help"], io);
    io.stdout(cliHelp());
    return EXIT.ok;
  }
  if (name === undefined || !Object.hasOwn(COMMANDS, name)) {
    io.stderr(name === undefined ? "jit-access: give a command" : terminalText(`jit-access: unknown command "${name}"`));
    io.stderr(cliHelp());
    return EXIT.usage;
  }
  const envFile = option.envFile ?? (io.env.JIT_ENV_FILE?.trim() || undefined);
  if (envFile !== undefined) {
    try {
      // The environment wins over the file, as with Node's --env-file.
      io = { ...io, env: { ...readEnvFile(envFile, option.envFile !== undefined ? "--env-file" : "JIT_ENV_FILE"), ...io.env } };
    } catch (error) {
      if (!(error instanceof SettingsFileError)) throw error;
      io.stderr(`jit-access: ${error.message}`);
      return EXIT.usage;
    }
  }
  try {
    return await COMMANDS[name]!.run(args, io);
  } catch (error) {
    io.stderr(terminalText(`jit-access ${name}: ${errorMessage(error)}`));
    return EXIT.problem;
  }
}

/**
 * Takes `--env-file PATH` (or `--env-file=PATH`) out of the arguments, wherever it stands before
 * a `--`, so it works before the command and after it alike.
 */
export function takeEnvFileOption(argv: readonly string[]): { argv: string[]; envFile?: string } | { error: string } {
  const rest: string[] = [];
  let envFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    let value: string | undefined;
    if (arg === "--env-file") {
      value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) return { error: "--env-file needs a path: --env-file /etc/jit-access/env" };
      i++;
    } else if (arg.startsWith("--env-file=")) {
      value = arg.slice("--env-file=".length);
    } else {
      rest.push(arg);
      continue;
    }
    if (value.trim() === "") return { error: "--env-file needs a path: --env-file /etc/jit-access/env" };
    if (envFile !== undefined) return { error: "--env-file is given twice; name one settings file" };
    envFile = value;
  }
  return envFile === undefined ? { argv: rest } : { argv: rest, envFile };
}
