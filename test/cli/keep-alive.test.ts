import { describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * The hazard, in a real process: the only thing left to wait for is an unref'd timer (as the
 * write scheduler's pacing waits are). A top-level await on it ends the process early with
 * status 13; wrapped in keepAliveUntil, the work completes.
 *
 * The bare case waits on an hour-long timer: the process must end because nothing holds it, not
 * because it happened to end before a short timer was due. With a short one the outcome would
 * depend on how long the loader's own I/O (tsx's cache writes, its hooks thread) keeps the
 * process up on a busy machine, and on Node 24 under load it sometimes outlasts 20 ms.
 */
const KEEP_ALIVE = new URL("../../src/cli/keep-alive.ts", import.meta.url).href;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const run = promisify(execFile);

const pacedWork = (ms: number): string => `new Promise((resolve) => setTimeout(() => resolve('done'), ${ms}).unref())`;

async function runModule(source: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ["--import", TSX, "--input-type=module", "--eval", source]);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe("keepAliveUntil", () => {
  it.each([
    {
      name: "a bare top-level await ends the process before the work is done",
      wrapped: false,
      ms: 3_600_000,
      expected: { code: 13, stdout: "" },
    },
    { name: "keepAliveUntil keeps the process until the work is done", wrapped: true, ms: 20, expected: { code: 0, stdout: "done\n" } },
  ])("$name", async ({ wrapped, ms, expected }) => {
    const work = wrapped ? `keepAliveUntil(${pacedWork(ms)})` : pacedWork(ms);
    const source = `import { keepAliveUntil } from ${JSON.stringify(KEEP_ALIVE)};\nconsole.log(await ${work});`;

    expect(await runModule(source)).toEqual(expected);
  });

  it("passes on the work's result and its failure", async () => {
    const { keepAliveUntil } = await import("../../src/cli/keep-alive.js");

    await expect(keepAliveUntil(Promise.resolve(7))).resolves.toBe(7);
    await expect(keepAliveUntil(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});
