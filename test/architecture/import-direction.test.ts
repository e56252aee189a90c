import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";

/**
 * Dependencies point one way: the pure stages (request parsing and validation, policy, the
 * decision) never reach GitHub, the ledger, the file system or the network; each folder imports
 * only from folders below it in the lifecycle's order; and the layers below the lifecycle
 * (ledger, github, util) never import it. `import type` is free: types carry no I/O.
 */
const SRC = resolve("src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/**
 * Value imports of a file (not `import type`), resolved to paths under src/ or kept as package
 * names. A module loaded when first needed (`await import("…")`) counts as imported: loading it
 * later does not change which way the dependency points.
 */
function valueImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  const specs = [
    ...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gms),
    ...text.matchAll(/(?<!typeof\s+)\bimport\(\s*"([^"]+)"\s*\)/g),
  ];
  for (const match of specs) {
    const spec = match[1] as string;
    found.push(spec.startsWith(".") ? relative(SRC, resolve(join(file, ".."), spec)).replace(/\.js$/, ".ts") : spec);
  }
  return found;
}

/** Every import of a file, `import type` included. */
function allImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+[^;]*?from\s+"([^"]+)"/gms)) {
    const spec = match[1] as string;
    if (spec.startsWith(".")) found.push(relative(SRC, resolve(join(file, ".."), spec)).replace(/\.js$/, ".ts"));
  }
  return found;
}

const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), imports: valueImports(file), types: allImports(file) }));
const inside =
  (...prefixes: string[]) =>
  (path: string) =>
    prefixes.some((p) => path.startsWith(p));

/**
 * The folders in the order of the lifecycle, lowest first. A module may import values from a
 * folder of a lower rank, or from its own folder; never from one of the same rank or higher. So
 * the stages read request → approve → grant, revoke sits below grant (a failed or dismissed grant
 * is ended through it), feedback (check runs, comments, notifications) is used by every stage,
 * and only app/, server/ and cli/ wire things together.
 */
const RANK: Record<string, number> = {
  util: 0,
  ledger: 1,
  github: 1,
  policy: 2,
  request: 3,
  feedback: 4,
  approve: 5,
  revoke: 6,
  grant: 7,
  commands: 8,
  gate: 8,
  inbox: 8,
  report: 8,
  metrics: 8,
  app: 9,
  server: 10,
  cli: 11,
};
const folderOf = (path: string): string | null => (path.includes("/") ? (path.split("/")[0] as string) : null);

/** Modules that are pure: facts in, results out. */
const PURE = inside(
  "util/duration.ts",
  "util/ascii-case.ts",
  "request/",
  "policy/",
  "approve/codeowners.ts",
  "approve/codeowners-pattern.ts",
  "approve/path-program.ts",
  "approve/decide-approval.ts",
  "approve/decide-pull-request.ts",
  "approve/pull-request-facts.ts",
  "grant/secret-ownership.ts",
  "feedback/check-feedback.ts",
  "feedback/grant-comment.ts",
  "feedback/grant-snippet.ts",
  "feedback/labels.ts",
  "feedback/markdown.ts",
  "feedback/notify-event.ts",
  "gate/decide-gate.ts",
  "gate/gate-comment.ts",
  "gate/callback-url.ts",
  "commands/parse-command.ts",
  "commands/decide-extension.ts",
  "commands/command-replies.ts",
  "report/access-review.ts",
  "report/render-html.ts",
  "revoke/end-reasons.ts",
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
    expect(files.find((f) => f.path === "approve/decide-pull-request.ts")?.imports.length).toBeGreaterThan(3);
    // Modules loaded when first needed are imports too.
    expect(files.find((f) => f.path === "ledger/open-ledger.ts")?.imports).toEqual(
      expect.arrayContaining(["ledger/pg-open.ts", "ledger/sqlite-open.ts"]),
    );
    // Every folder has its place in the order.
    const unranked = [...new Set(files.map((f) => folderOf(f.path)).filter((folder) => folder !== null && !(folder in RANK)))];
    expect(unranked).toEqual([]);
  });

  it("keeps pure modules free of GitHub, the ledger and I/O: they import only pure modules", () => {
    const offending = files
      .filter((f) => PURE(f.path))
      .flatMap((f) =>
        f.imports
          .filter((i) =>
            i.endsWith(".ts") ? !(PURE(i) || PURE_LEDGER.has(i) || i.startsWith("util/")) : !LOADERS.has(f.path) && IO_PACKAGES.has(i),
          )
          .map((i) => `${f.path} → ${i}`),
      );
    expect(offending).toEqual([]);
  });

  it("imports only from lower folders: the lifecycle reads off the tree", () => {
    const offending = files.flatMap((f) => {
      const from = folderOf(f.path);
      if (from === null) return []; // main.ts and cli.ts are the entry points: they may import anything
      return f.imports
        .filter((i) => i.endsWith(".ts"))
        .filter((i) => {
          const to = folderOf(i);
          return to !== null && to !== from && !((RANK[to] ?? 99) < (RANK[from] ?? -1));
        })
        .map((i) => `${f.path} → ${i}`);
    });
    expect(offending).toEqual([]);
  });

  it("keeps the ledger, the GitHub client and the utilities below every stage, types included", () => {
    const offending = files
      .filter((f) => inside("ledger/", "github/", "util/")(f.path))
      .flatMap((f) =>
        f.types
          .filter(inside("request/", "approve/", "grant/", "revoke/", "feedback/", "gate/", "commands/", "app/", "cli/", "server/"))
          .map((i) => `${f.path} → ${i}`),
      );
    expect(offending).toEqual([]);
  });
});
