#!/usr/bin/env node
/**
 * The `jit-access` operator command (package.json `bin`). Loads `.env` from the working
 * directory when there is one, then runs the command with the process's streams and
 * environment; see `cli/run-cli.ts` for the commands.
 */
import { existsSync } from "node:fs";
import { keepAliveUntil } from "./cli/keep-alive.js";
import { runCli } from "./cli/run-cli.js";

if (existsSync(".env")) process.loadEnvFile(".env");

process.exitCode = await keepAliveUntil(
  runCli(process.argv.slice(2), {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
  }),
);
