import { describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * The hazard, in a real process: the only thing left to wait for is an unref'd timer (as the
 * write scheduler's pacing waits are). A top-level await on it ends the process early with
 * status 13; wrapped in keepAliveUntil, the work completes.
 */
const KEEP_ALIVE = new URL("../../src/cli/keep-alive.ts", import.meta.url).href;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const run = promisify(execFile);

const PACED_WORK = "new Promise((resolve) => setTimeout(() => resolve('done'), 20).unref())";

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
    { name: "a bare top-level await ends the process before the work is done", wrapped: false, expected: { code: 13, stdout: "" } },
    { name: "keepAliveUntil keeps the process until the work is done", wrapped: true, expected: { code: 0, stdout: "done\n" } },
  ])("$name", async ({ wrapped, expected }) => {
    const work = wrapped ? `keepAliveUntil(${PACED_WORK})` : PACED_WORK;
    const source = `import { keepAliveUntil } from ${JSON.stringify(KEEP_ALIVE)};\nconsole.log(await ${work});`;

    expect(await runModule(source)).toEqual(expected);
  });

  it("passes on the work's result and its failure", async () => {
    const { keepAliveUntil } = await import("../../src/cli/keep-alive.js");

    await expect(keepAliveUntil(Promise.resolve(7))).resolves.toBe(7);
    await expect(keepAliveUntil(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});
