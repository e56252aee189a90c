/**
 * Argument parsing shared by the commands: `node:util` parseArgs in strict mode, so an unknown
 * flag, a missing value or a stray argument is a usage error (exit 2, with the usage), and
 * `--help` prints the usage (exit 0).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT, type CliIO } from "./cli-context.js";
import { terminalText } from "../util/terminal-text.js";
import { errorMessage } from "../util/error-message.js";

type ParsedResults<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** A command's parseArgs options; each command has `--help`. */
type CommandConfig = ParseArgsConfig & { options: { help: { type: "boolean"; short: "h" } } };

export const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/**
 * The parsed arguments, or the exit status when the command should stop here: 0 after
 * `--help` (usage on stdout), 2 after a usage error (message and usage on stderr).
 */
export function parseCommandArgs<T extends CommandConfig>(command: string, usage: string, args: string[], config: T, io: CliIO) {
  let parsed: ParsedResults<T & { args: string[]; strict: true }>;
  try {
    parsed = parseArgs({ ...config, args, strict: true });
  } catch (error) {
    return usageError(command, usage, errorMessage(error), io);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    io.stdout(usage);
    return EXIT.ok;
  }
  return parsed;
}

/** Prints `jit-access COMMAND: message` and the usage to stderr; returns exit status 2. */
export function usageError(command: string, usage: string, message: string, io: CliIO): number {
  io.stderr(terminalText(`jit-access ${command}: ${message}`));
  io.stderr(usage);
  return EXIT.usage;
}
