/**
 * Runs the simulator on its own, for trying the app against it by hand:
 *
 *   npx tsx sim/cli.ts [--port N] [--latency MS] [--jitter MS] [--seed N] [--webhook-url URL]
 *
 * Prints the app's environment (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GHE_HOST, GHE_PROTOCOL) as
 * lines of an env file, and serves until interrupted. `--latency` delays every API request
 * (± `--jitter`, default a fifth of the latency, drawn from a generator seeded with `--seed`).
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { startSimulator, type SimulatorOptions } from "./index.js";

export function parseSimulatorArgs(argv: readonly string[]): SimulatorOptions {
  const options: SimulatorOptions = {};
  let jitter: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    const number = (): number => {
      const text = value();
      const parsed = Number(text);
      if (text.trim() === "" || !Number.isFinite(parsed) || parsed < 0) throw new Error(`${arg} needs a number >= 0, got "${text}"`);
      return parsed;
    };
    if (arg === "--port") options.port = number();
    else if (arg === "--latency") options.latencyMs = number();
    else if (arg === "--jitter") jitter = number();
    else if (arg === "--seed") options.latencySeed = number();
    else if (arg === "--webhook-url") options.webhookUrl = value();
    else throw new Error(`unknown option ${arg}`);
  }
  if (jitter !== undefined) options.jitterMs = jitter;
  else if (options.latencyMs !== undefined) options.jitterMs = options.latencyMs / 5;
  return options;
}

async function main(): Promise<void> {
  const options = parseSimulatorArgs(process.argv.slice(2));
  const sim = await startSimulator(options);
  for (const [name, value] of Object.entries(sim.appEnv())) console.log(`${name}=${JSON.stringify(value)}`);
  console.error(`simulator on ${sim.apiUrl}; latency ${options.latencyMs ?? 0} ± ${options.jitterMs ?? 0} ms; Ctrl-C stops it`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  });
}
