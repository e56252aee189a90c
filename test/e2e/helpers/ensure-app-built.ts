/**
 * The end-to-end tests run the app as operators do, `node dist/main.js`. This makes sure
 * dist/ is there and newer than every file in src/, running `npm run build` when it is not.
 * At most one build per test file (module-level promise), and one at a time across jest
 * workers (a lock file in the temporary directory): a worker that finds a build under way waits
 * for it and then finds dist/ fresh.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { APP_ENTRY } from "../../../sim/app-process.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
const SRC = join(ROOT, "src");
const LOCK = join(tmpdir(), `jit-access-e2e-build-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.lock`);
const BUILD_TIMEOUT_MS = 120_000;
const LOCK_POLL_MS = 100;
/** A lock without a readable pid this old was left by a process that died while taking it. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

let built: Promise<void> | undefined;

export function ensureAppBuilt(): Promise<void> {
  built ??= buildIfStale();
  return built;
}

/** Whether dist/main.js is missing or older than some file under src/. */
export function appBuildIsStale(): boolean {
  if (!existsSync(APP_ENTRY)) return true;
  return newestMtimeMs(SRC) > statSync(APP_ENTRY).mtimeMs;
}

async function buildIfStale(): Promise<void> {
  if (!appBuildIsStale()) return;
  await withBuildLock(async () => {
    if (appBuildIsStale()) await runBuild();
  });
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

function runBuild(): Promise<void> {
  return new Promise((resolveBuild, reject) => {
    execFile("npm", ["run", "build"], { cwd: ROOT, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Error(`npm run build failed, so the end-to-end tests cannot start the app; fix the build first:\n${stdout}${stderr}`, {
            cause: error,
          }),
        );
      else resolveBuild();
    });
  });
}

async function withBuildLock(work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  while (!tryTakeLock()) {
    if (Date.now() > deadline)
      throw new Error(`${LOCK} has been held for over ${BUILD_TIMEOUT_MS / 1000}s; delete it if no build is running`);
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
  try {
    await work();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** Creates the lock with our pid in it; takes over a lock whose process is gone. */
function tryTakeLock(): boolean {
  try {
    const fd = openSync(LOCK, "wx");
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (holderAlive()) return false;
    rmSync(LOCK, { force: true });
    return false; // try again on the next poll, racing fairly with any other waiter
  }
}

function holderAlive(): boolean {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(LOCK, "utf8");
    ageMs = Date.now() - statSync(LOCK).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const pid = Number(text);
  if (text === "" || !Number.isInteger(pid) || pid <= 0) return ageMs < UNREADABLE_LOCK_STALE_MS;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
