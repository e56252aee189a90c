#!/usr/bin/env node
/**
 * The `jit-access` operator command (package.json `bin`): runs the command with the process's
 * streams and environment; see `cli/run-cli.ts` for the commands. No `.env` is read from the
 * working directory: only a settings file named by `--env-file PATH` or `JIT_ENV_FILE`.
 */
import { once } from "node:events";
import { EXIT } from "./cli/cli-context.js";
import { keepAliveUntil } from "./cli/keep-alive.js";
import { runCli } from "./cli/run-cli.js";
import { errorMessage } from "./util/error-message.js";
import { terminalText } from "./util/terminal-text.js";

// A promise that nothing awaited failed: say so in one line and let the command run to its end
// (a sweep from cron finishes the revocations it started), then exit 1 rather than 0. Node's
// default would end the process at once, in the middle of whatever the command was writing.
let strayErrors = 0;
process.on("unhandledRejection", (reason: unknown) => {
  strayErrors++;
  process.stderr.write(`${terminalText(`jit-access: an unexpected error was not handled: ${errorMessage(reason)}`)}\n`);
  // The command may have returned already (its status set below) when the rejection is reported.
  if (process.exitCode === EXIT.ok) process.exitCode = EXIT.problem;
});

const status = await keepAliveUntil(
  runCli(process.argv.slice(2), {
    stdout: (line) => process.stdout.write(`${line}\n`),
    // A pipe to a slow reader queues writes; wait for it rather than hold the output in memory.
    stdoutDrained: async () => {
      if (process.stdout.writableNeedDrain) await once(process.stdout, "drain");
    },
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    stdoutIsTerminal: process.stdout.isTTY === true,
  }),
);
process.exitCode = status === EXIT.ok && strayErrors > 0 ? EXIT.problem : status;
