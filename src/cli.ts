#!/usr/bin/env node
/**
 * The `jit-access` operator command (package.json `bin`): runs the command with the process's
 * streams and environment; see `cli/run-cli.ts` for the commands. No `.env` is read from the
 * working directory: only a settings file named by `--env-file PATH` or `JIT_ENV_FILE`.
 */
import { once } from "node:events";
import { keepAliveUntil } from "./cli/keep-alive.js";
import { runCli } from "./cli/run-cli.js";

process.exitCode = await keepAliveUntil(
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
