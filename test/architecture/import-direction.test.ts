import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";

/**
 * Dependencies point one way: the pure stages (request parsing and validation, policy, the
 * decision) never reach GitHub, the ledger, the file system or the network, and the layers
 * below the lifecycle (ledger, github) never import it. `import type` is free: types carry no I/O.
 */
const SRC = resolve("src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Value imports of a file (not `import type`), resolved to paths under src/ or kept as package names. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gms)) {
    const spec = match[1] as string;
    found.push(spec.startsWith(".") ? relative(SRC, resolve(join(file, ".."), spec)).replace(/\.js$/, ".ts") : spec);
  }
  return found;
}

const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), imports: valueImports(file) }));
const inside =
  (...prefixes: string[]) =>
  (path: string) =>
    prefixes.some((p) => path.startsWith(p));

/** Modules that are pure: facts in, results out. */
const PURE = inside(
  "requests/",
  "policy/",
  "gate/decide-gate.ts",
  "gate/gate-comment.ts",
  "gate/callback-url.ts",
  "report/access-review.ts",
  "report/render-html.ts",
  "report/html-text.ts",
  "lifecycle/decide-pull-request.ts",
  "lifecycle/pull-request-facts.ts",
  "lifecycle/check-feedback.ts",
  "lifecycle/grant-comment.ts",
  "lifecycle/markdown.ts",
  "lifecycle/secret-ownership.ts",
  "notify/notify-event.ts",
  "commands/parse-command.ts",
  "commands/decide-extension.ts",
  "commands/command-replies.ts",
);
/** The ledger's rules (states, transitions, who holds a secret) are pure too: pure modules may use them. */
const PURE_LEDGER = new Set(["ledger/grant-states.ts"]);
/** Pure modules that read a file given by the operator, and may therefore touch the file system. */
const LOADERS = new Set(["policy/load-catalog.ts"]);
const IO_PACKAGES = new Set([
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:http",
  "node:https",
  "node:child_process",
  "better-sqlite3",
  "probot",
  "@octokit/rest",
  "pg",
]);

describe("import direction", () => {
  it("finds the source files", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.find((f) => f.path === "lifecycle/decide-pull-request.ts")?.imports.length).toBeGreaterThan(3);
  });

  it("keeps pure modules free of GitHub, the ledger and I/O", () => {
    const offending = files
      .filter((f) => PURE(f.path))
      .flatMap((f) =>
        f.imports
          .filter(
            (i) =>
              i.startsWith("github/") ||
              (i.startsWith("ledger/") && !PURE_LEDGER.has(i)) ||
              i.startsWith("lifecycle/gather") ||
              i.startsWith("lifecycle/apply") ||
              (!LOADERS.has(f.path) && IO_PACKAGES.has(i)),
          )
          .map((i) => `${f.path} → ${i}`),
      );
    expect(offending).toEqual([]);
  });

  it("keeps the ledger and the GitHub client below the lifecycle", () => {
    const offending = files
      .filter((f) => inside("ledger/", "github/")(f.path))
      .flatMap((f) => f.imports.filter(inside("lifecycle/", "handlers/", "expiry/", "cli/")).map((i) => `${f.path} → ${i}`));
    expect(offending).toEqual([]);
  });
});
