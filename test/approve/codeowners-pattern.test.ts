import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import { compilePattern, patternProblem } from "../../src/approve/codeowners-pattern.js";

interface PatternCase {
  name: string;
  pattern: string;
  paths: Record<string, boolean>;
}

// Path checks from an independent implementation (hmarr/codeowners); see the README beside it.
const peerCases = JSON.parse(readFileSync("test/fixtures/codeowners/patterns.json", "utf8")) as PatternCase[];

const peerChecks = peerCases.flatMap((c) =>
  Object.entries(c.paths).map(([path, expected]) => ({ name: c.name, pattern: c.pattern, path, expected })),
);

describe("compilePattern against the peer implementation's cases", () => {
  it("loads every case", () => {
    expect(peerCases).toHaveLength(30);
    expect(peerChecks).toHaveLength(153);
  });

  it.each(peerChecks)("$name: $pattern vs $path -> $expected", ({ pattern, path, expected }) => {
    expect(compilePattern(pattern)(path)).toBe(expected);
  });
});

describe("compilePattern: GitHub's documented rules", () => {
  it.each([
    // `*.js` matches anywhere
    ["*.js", "app.js", true],
    ["*.js", "src/deep/app.js", true],
    ["*.js", "app.jsx", false],
    // `docs/*` is one level only (documented example)
    ["docs/*", "docs/getting-started.md", true],
    ["docs/*", "docs/build-app/troubleshooting.md", false],
    ["docs/*", "src/docs/getting-started.md", false],
    // `apps/` is any apps directory, at any depth
    ["apps/", "apps/web/index.ts", true],
    ["apps/", "src/apps/web/index.ts", true],
    ["apps/", "apps", false],
    // `/docs/` is only the root docs directory, with its subdirectories
    ["/docs/", "docs/a.md", true],
    ["/docs/", "docs/build-app/troubleshooting.md", true],
    ["/docs/", "src/docs/a.md", false],
    // `/build/logs/`
    ["/build/logs/", "build/logs/x.log", true],
    ["/build/logs/", "build/logs/2024/x.log", true],
    ["/build/logs/", "src/build/logs/x.log", false],
    // `**/logs`
    ["**/logs", "logs", true],
    ["**/logs", "build/logs", true],
    ["**/logs", "deeply/nested/logs/x.log", true],
    ["**/logs", "build/logsx", false],
    // a pattern that names a directory owns everything below it
    ["/apps/github", "apps/github/x.ts", true],
    ["/apps/github", "apps/github", true],
    ["/apps/github", "apps/githubx", false],
    // the requests file itself
    ["jit-requests.yml", "jit-requests.yml", true],
    ["/jit-requests.yml", "jit-requests.yml", true],
    ["/jit-requests.yml", "sub/jit-requests.yml", false],
    ["jit-requests.yml", "jit-requests.yaml", false],
    ["jit-requests.yml", "jit-requestsxyml", false],
    // paths are case-sensitive
    ["/Docs/", "docs/a.md", false],
    // everything
    ["*", "jit-requests.yml", true],
    ["**", "a/b/c", true],
    ["/**", "a", true],
    ["**/", "a/b", true],
    ["**/", "a", false],
    // `*` never crosses `/`; `?` is one character
    ["/a*c", "abc", true],
    ["/a*c", "a/c", false],
    ["/a?c", "a/c", false],
    // escapes: `\ ` is a space, `\*` a star; other characters are literal
    ["my\\ file.txt", "dir/my file.txt", true],
    ["my\\ file.txt", "dir/myXfile.txt", false],
    ["/a.b", "axb", false],
    ["/a+b", "aab", false],
    ["/(x|y)", "x", false],
    ["/{a,b}", "a", false],
    ["/{a,b}", "{a,b}", true],
    ["/\\!important", "!important", true],
    // a leading slash on the path is tolerated
    ["/docs/", "/docs/a.md", true],
  ])("%s vs %s -> %s", (pattern, path, expected) => {
    expect(compilePattern(pattern)(path)).toBe(expected);
  });
});

describe("patternProblem", () => {
  it.each([
    ["", /empty/],
    ["!foo", /does not support "!" negation/],
    ["\\#foo", /escaping a leading "#".*does not work/],
    ["#foo", /comment/],
    ["foo\\", /lone "\\"/],
    ["foo\\/bar", /escapes a "\/"/],
    ["/", /names no path/],
    ["a//b", /empty path segment/],
  ])("%j is refused: %s", (pattern, message) => {
    expect(patternProblem(pattern)).toMatch(message);
    expect(() => compilePattern(pattern)).toThrow(/Invalid CODEOWNERS pattern/);
  });

  it.each(["*", "docs/*", "/apps/[param]/file.ts", "foo\\\\", "a\\ b", "vllm/^cpu", "f\\*o"])("%j is accepted", (pattern) => {
    expect(patternProblem(pattern)).toBeNull();
  });
});
