/**
 * Headless Chromium for the browser tests: Debian's `chromium` (JIT_CHROMIUM, default
 * /usr/bin/chromium) driven by playwright-core, which downloads nothing. Without it a suite is
 * skipped with one printed line, unless JIT_REQUIRE_BROWSER=1 (as `.ci/run` sets): then it fails.
 */
import { existsSync } from "node:fs";
import { describe } from "@jest/globals";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.JIT_CHROMIUM ?? "/usr/bin/chromium";
export const chromiumAvailable = existsSync(CHROMIUM);
const required = process.env.JIT_REQUIRE_BROWSER === "1";

/** `describe`, or `describe.skip` with one line saying why (`file` names the test file). */
export function describeInChromium(file: string): typeof describe {
  if (!chromiumAvailable && !required) {
    process.stdout.write(
      `${file}: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium; JIT_REQUIRE_BROWSER=1 makes this a failure)\n`,
    );
  }
  return chromiumAvailable || required ? describe : (describe.skip as typeof describe);
}

/** Launches headless Chromium; fails clearly when JIT_REQUIRE_BROWSER=1 and there is none. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable)
    throw new Error(`JIT_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set JIT_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}
