import { describe, expect, it } from "@jest/globals";
import {
  CODEOWNERS_LOCATIONS,
  MAX_CODEOWNERS_BYTES,
  formatOwner,
  ownersFor,
  parseCodeowners,
  teamKey,
  type CodeownersRule,
  type Owner,
} from "../../src/approve/codeowners.js";

const user = (login: string): Owner => ({ kind: "user", login });
const team = (org: string, slug: string): Owner => ({ kind: "team", org, slug });
const email = (address: string): Owner => ({ kind: "email", email: address });

describe("CODEOWNERS_LOCATIONS", () => {
  it("lists the places GitHub looks, in its order", () => {
    expect(CODEOWNERS_LOCATIONS).toEqual([".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]);
  });
});

// The example file of GitHub's "About code owners" page.
const GITHUB_EXAMPLE = `# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in
# the repo. Unless a later match takes precedence,
# @global-owner1 and @global-owner2 will be requested for
# review when someone opens a pull request.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence. When someone opens a pull request that only
# modifies JS files, only @js-owner and not the global
# owner(s) will be requested for a review.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer. They'll be
# used to look up users just like we do for commit author
# emails.
*.go docs@example.com

# Teams can be specified as code owners as well. Teams should
# be identified in the format @org/team-name. Teams must have
# explicit write access to the repository. In this example,
# the octocats team in the octo-org organization owns all .txt files.
*.txt @octo-org/octocats

# In this example, @doctocat owns any files in the build/logs
# directory at the root of the repository and any of its
# subdirectories.
/build/logs/ @doctocat

# The \`docs/*\` pattern will match files like
# \`docs/getting-started.md\` but not further nested files like
# \`docs/build-app/troubleshooting.md\`.
docs/*  docs@example.com

# In this example, @octocat owns any file in an apps directory
# anywhere in your repository.
apps/ @octocat

# In this example, @doctocat owns any file in the \`/docs\`
# directory in the root of your repository and any of its
# subdirectories.
/docs/ @doctocat

# In this example, any change inside the \`/scripts\` directory
# will require approval from @doctocat or @octocat.
/scripts/ @doctocat @octocat

# In this example, @octocat owns any file in a \`/logs\` directory such as
# \`/build/logs\`, \`/scripts/logs\`, and \`/deeply/nested/logs\`. Any changes
# in a \`/logs\` directory will require approval from @octocat.
**/logs @octocat

# In this example, @octocat owns any file in the \`/apps\`
# directory in the root of your repository except for the \`/apps/github\`
# subdirectory, as its owners are left empty. Without an owner, changes
# to \`apps/github\` can be made with the approval of any user who has
# write access to the repository.
/apps/ @octocat
/apps/github

# In this example, @octocat owns any file in the \`/apps\`
# directory in the root of your repository except for the \`/apps/github\`
# subdirectory, as this subdirectory has its own owner @doctocat
/apps/ @octocat
/apps/github @doctocat
`;

describe("GitHub's documented example CODEOWNERS", () => {
  const { rules, errors } = parseCodeowners(GITHUB_EXAMPLE);

  it("parses without errors", () => {
    expect(errors).toEqual([]);
    expect(rules.map((r) => r.pattern)).toEqual([
      "*",
      "*.js",
      "*.go",
      "*.txt",
      "/build/logs/",
      "docs/*",
      "apps/",
      "/docs/",
      "/scripts/",
      "**/logs",
      "/apps/",
      "/apps/github",
      "/apps/",
      "/apps/github",
    ]);
  });

  it("keeps the inline comment out of the owners", () => {
    expect(rules[1]).toEqual({ pattern: "*.js", owners: [user("js-owner")], line: 14 });
  });

  it.each<[string, Owner[], string]>([
    ["README.md", [user("global-owner1"), user("global-owner2")], "*"],
    ["jit-requests.yml", [user("global-owner1"), user("global-owner2")], "*"],
    ["src/app.js", [user("js-owner")], "*.js"],
    ["main.go", [email("docs@example.com")], "*.go"],
    ["notes/a.txt", [team("octo-org", "octocats")], "*.txt"],
    ["build/logs/x.log", [user("octocat")], "**/logs"],
    ["build/logs/2024/x.js", [user("octocat")], "**/logs"],
    ["deeply/nested/logs/x", [user("octocat")], "**/logs"],
    ["docs/getting-started.md", [user("doctocat")], "/docs/"],
    ["docs/build-app/troubleshooting.md", [user("doctocat")], "/docs/"],
    // `docs/*` has a slash before its end, so like `/docs/*` it is anchored to the root
    ["src/docs/getting-started.md", [user("global-owner1"), user("global-owner2")], "*"],
    ["scripts/deploy.sh", [user("doctocat"), user("octocat")], "/scripts/"],
    ["lib/apps/x.rb", [user("octocat")], "apps/"],
    ["apps/web/index.html", [user("octocat")], "/apps/"],
    ["apps/github/index.html", [user("doctocat")], "/apps/github"],
  ])("%s is owned by %j (rule %s)", (path, owners, pattern) => {
    const found = ownersFor(rules, path);
    expect(found.owners).toEqual(owners);
    expect(found.rule?.pattern).toBe(pattern);
  });

  it("`docs/*` owns the files directly in the root docs directory only", () => {
    const beforeRootDocs = rules.slice(
      0,
      rules.findIndex((r) => r.pattern === "/docs/"),
    );
    expect(ownersFor(beforeRootDocs, "docs/getting-started.md").owners).toEqual([email("docs@example.com")]);
    expect(ownersFor(beforeRootDocs, "docs/build-app/troubleshooting.md").rule?.pattern).toBe("*");
  });

  it("an owner-less rule resets ownership for its paths", () => {
    const upToNoOwner = rules.slice(0, rules.findIndex((r) => r.pattern === "/apps/github") + 1);
    expect(upToNoOwner[upToNoOwner.length - 1]?.owners).toEqual([]);
    const found = ownersFor(upToNoOwner, "apps/github/index.html");
    expect(found.owners).toEqual([]);
    expect(found.rule?.pattern).toBe("/apps/github");
    expect(ownersFor(upToNoOwner, "apps/web/index.html").owners).toEqual([user("octocat")]);
  });
});

describe("parseCodeowners: lines", () => {
  it.each<[string, string, CodeownersRule[]]>([
    ["empty file", "", []],
    ["comments and blank lines", "# comment\n\n   \n\t# indented comment\n", []],
    ["user", "jit-requests.yml @alice", [{ pattern: "jit-requests.yml", owners: [user("alice")], line: 1 }]],
    [
      "team, user and email, tab separated",
      "/jit-requests.yml\t@acme/dba  @Bob\tdba@example.com",
      [
        {
          pattern: "/jit-requests.yml",
          owners: [team("acme", "dba"), user("Bob"), email("dba@example.com")],
          line: 1,
        },
      ],
    ],
    ["no owners", "/apps/github", [{ pattern: "/apps/github", owners: [], line: 1 }]],
    ["no owners, then a comment", "/apps/github # nobody", [{ pattern: "/apps/github", owners: [], line: 1 }]],
    ["trailing comment", "* @alice # and more @bob", [{ pattern: "*", owners: [user("alice")], line: 1 }]],
    ["comment glued to an owner", "* @alice#note", [{ pattern: "*", owners: [user("alice")], line: 1 }]],
    ["escaped space in the pattern", "my\\ file.txt @alice", [{ pattern: "my\\ file.txt", owners: [user("alice")], line: 1 }]],
    [
      "CRLF line endings",
      "a @x\r\nb @y\r\n",
      [
        { pattern: "a", owners: [user("x")], line: 1 },
        { pattern: "b", owners: [user("y")], line: 2 },
      ],
    ],
    ["byte order mark", "\uFEFF* @alice", [{ pattern: "*", owners: [user("alice")], line: 1 }]],
    ["leading indentation", "   /docs/ @alice", [{ pattern: "/docs/", owners: [user("alice")], line: 1 }]],
    [
      "duplicate owners, any case",
      "* @alice @ALICE @acme/DBA @Acme/dba",
      [{ pattern: "*", owners: [user("alice"), team("acme", "DBA")], line: 1 }],
    ],
    ["managed-user login with underscore", "* @alice_acme", [{ pattern: "*", owners: [user("alice_acme")], line: 1 }]],
    [
      "brackets are literal, not a section",
      "/apps/[id]/page.ts @alice",
      [{ pattern: "/apps/[id]/page.ts", owners: [user("alice")], line: 1 }],
    ],
    ["# inside a pattern is literal", "src/C#/ @alice", [{ pattern: "src/C#/", owners: [user("alice")], line: 1 }]],
  ])("%s", (_name, text, expected) => {
    const { rules, errors } = parseCodeowners(text);
    expect(errors).toEqual([]);
    expect(rules).toEqual(expected);
  });
});

describe("parseCodeowners: invalid lines are skipped and reported", () => {
  it.each<[string, string, RegExp]>([
    [
      "bare word owner",
      "* alice",
      /line 2: "alice" is not an owner: write owners as @user, @org\/team or user@example.com\. This line is skipped\./,
    ],
    ["comma separated owners", "* @alice,@bob", /"@alice,@bob" is not an owner: separate owners with spaces, not commas/],
    ["several bad owners", "* @alice bob carol@", /"bob", "carol@" are not owners/],
    ["nested team path", "* @acme/dba/extra", /"@acme\/dba\/extra" is not an owner/],
    ["negation", "!secret.yml @alice", /does not support "!" negation.*This line is skipped\./],
    ["escaped leading #", "\\#notes @alice", /escaping a leading "#" with "\\" does not work/],
    ["GitLab section", "[Database]", /"\[Database\]" is a GitLab section header/],
    ["GitLab optional section with approvals", "^[Docs][2] @alice", /"\^\[Docs\]\[2\]" is a GitLab section header/],
    ["dangling escape", "foo\\", /ends with a lone "\\"/],
  ])("%s", (_name, badLine, message) => {
    const { rules, errors } = parseCodeowners(`* @fallback\n${badLine}\n/docs/ @docs\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(2);
    expect(errors[0]?.message).toMatch(message);
    expect(rules.map((r) => r.line)).toEqual([1, 3]);
  });

  it("a skipped line leaves the earlier owners in charge, as on GitHub", () => {
    const { rules } = parseCodeowners("* @fallback\njit-requests.yml @alice, @bob\n");
    expect(ownersFor(rules, "jit-requests.yml").owners).toEqual([user("fallback")]);
  });
});

describe("parseCodeowners: size cap", () => {
  it("refuses a file of 3 MB or more, with no rules", () => {
    const line = "* @alice\n";
    const text = line.repeat(Math.ceil(MAX_CODEOWNERS_BYTES / line.length));
    const { rules, errors } = parseCodeowners(text);
    expect(rules).toEqual([]);
    expect(errors).toEqual([{ line: 1, message: expect.stringMatching(/GitHub ignores CODEOWNERS files of 3 MB or more/) }]);
  });

  it("counts bytes, not characters", () => {
    const text = `# ${"é".repeat(MAX_CODEOWNERS_BYTES / 2)}\n* @alice\n`;
    expect(text.length).toBeLessThan(MAX_CODEOWNERS_BYTES);
    expect(parseCodeowners(text).rules).toEqual([]);
  });

  it("accepts a file just under the cap", () => {
    const text = `# ${"x".repeat(MAX_CODEOWNERS_BYTES - 20)}\n* @alice\n`;
    expect(parseCodeowners(text).rules).toEqual([{ pattern: "*", owners: [user("alice")], line: 2 }]);
  });
});

describe("ownersFor", () => {
  it("returns no owners and no rule when nothing matches", () => {
    const { rules } = parseCodeowners("/docs/ @alice\n");
    expect(ownersFor(rules, "jit-requests.yml")).toEqual({ owners: [], rule: null });
  });

  it("the last matching rule wins, not the most specific", () => {
    const { rules } = parseCodeowners("/jit-requests.yml @alice\n* @bob\n");
    expect(ownersFor(rules, "jit-requests.yml")).toEqual({ owners: [user("bob")], rule: rules[1] });
  });

  it("matches paths case-sensitively", () => {
    const { rules } = parseCodeowners("/JIT-requests.yml @alice\n");
    expect(ownersFor(rules, "jit-requests.yml").owners).toEqual([]);
  });

  it("follows a rule whose pattern was changed after a first lookup", () => {
    const rule: CodeownersRule = { pattern: "/a.yml", owners: [user("alice")], line: 1 };
    expect(ownersFor([rule], "b.yml").rule).toBeNull();
    rule.pattern = "/b.yml";
    expect(ownersFor([rule], "b.yml").rule).toBe(rule);
  });
});

describe("formatOwner and teamKey", () => {
  it.each<[Owner, string]>([
    [user("Alice"), "@Alice"],
    [team("Acme", "DBA"), "@Acme/DBA"],
    [email("dba@example.com"), "dba@example.com"],
  ])("formats %j as %s", (owner, text) => {
    expect(formatOwner(owner)).toBe(text);
  });

  it("keys teams in lower case", () => {
    expect(teamKey({ org: "Acme", slug: "DBA" })).toBe("acme/dba");
  });
});
