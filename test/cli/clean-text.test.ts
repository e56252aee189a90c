/**
 * The CLI prints and stores clean text. What an operator types (`revoke --reason`, `--actor`)
 * is refused when it holds control, bidi or invisible characters, as requests' reasons are.
 * What the ledger holds — text that came from pull requests and GitHub — is shown on a terminal
 * with such characters escaped (`\uXXXX`): a stored ESC sequence cannot recolour, clear or
 * retitle the operator's terminal, a stored line break cannot forge a table row. JSON output
 * stays exactly faithful (it parses to the stored text); CSV is faithful byte for byte unless
 * it goes to a terminal.
 */
import { hostname, userInfo } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { runCli } from "../../src/cli/run-cli.js";
import { jsonForTerminal, terminalText } from "../../src/util/terminal-text.js";
import { startCliHarness, type CliHarness, type CliResult } from "../helpers/cli-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { mockInstallationToken } from "../helpers/reconcile-nock.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";

const AN_HOUR_LEFT = { createdAt: new Date(EXPIRY_START - 3_600_000) };

/** Raw characters a terminal acts on or hides. */
// eslint-disable-next-line no-control-regex -- the characters a terminal acts on are what it matches
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]|[\u{E0000}-\u{E007F}]/u;
const noUnsafe = (lines: string[]): string[] => lines.filter((line) => UNSAFE.test(line.replace(/[\r\n]$/, "")));

let cli: CliHarness;
beforeEach(async () => {
  cli = await startCliHarness();
});
afterEach(async () => {
  await cli.close();
});

describe("revoke refuses control characters in what the operator types", () => {
  it.each([
    [
      "an ANSI escape in --reason",
      ["--reason", "done \u001b[2J\u001b[31mearly"],
      "--reason contains an invisible control or bidi character (U+001B); type it as plain text",
    ],
    [
      "a C1 CSI in --reason",
      ["--reason", "done \u009b2J early"],
      "--reason contains an invisible control or bidi character (U+009B); type it as plain text",
    ],
    [
      "a line break inside --reason",
      ["--reason", "done early\nrevoked by: security team"],
      "--reason contains an invisible control or bidi character (U+000A); type it as plain text",
    ],
    [
      "a right-to-left override in --reason",
      ["--reason", "done \u202eylrae"],
      "--reason contains an invisible control or bidi character (U+202E); type it as plain text",
    ],
    [
      "a zero-width space in --reason",
      ["--reason", "INC-\u200b4211 done"],
      "--reason contains an invisible control or bidi character (U+200B); type it as plain text",
    ],
    ["a 501-character --reason", ["--reason", "x".repeat(501)], "--reason is 501 characters; keep it to 500"],
    [
      "an escape in --actor",
      ["--reason", "done early", "--actor", "erin\u001b]0;root\u0007"],
      "--actor contains an invisible control or bidi character (U+001B); type it as plain text",
    ],
    [
      "a tab in --actor",
      ["--reason", "done early", "--actor", "erin\tsecurity"],
      "--actor contains an invisible control or bidi character (U+0009); type it as plain text",
    ],
    ["a 101-character --actor", ["--reason", "done early", "--actor", "e".repeat(101)], "--actor is 101 characters; keep it to 100"],
  ])("%s: exit 2, nothing changed, no call to GitHub", async (_name, flags, message) => {
    nock.disableNetConnect();
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    const auditBefore = await cli.store.listAudit();

    const result = await cli.run(["revoke", grant.id, ...flags]);

    expect(result.code).toBe(2);
    expect(result.stderr[0]).toBe(`jit-access revoke: ${message}`);
    expect(result.stdout).toEqual([]);
    expect(await cli.store.getGrant(grant.id)).toMatchObject({ state: "active", endReason: null });
    expect(await cli.store.listAudit()).toEqual(auditBefore);
    expect(noUnsafe(result.stderr)).toEqual([]);
  });

  it("trims line breaks around --reason (as around a requests file's reason) and keeps the rest", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    revocationCalls();
    expect((await cli.run(["revoke", grant.id, "--reason", "\n  done early \n"])).code).toBe(0);
    expect(await cli.store.getGrant(grant.id)).toMatchObject({ state: "revoked", endReason: "done early" });
  });

  it("does not use a $USER holding control characters as the label", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    revocationCalls();
    expect((await cli.run(["revoke", grant.id, "--reason", "done early"], { ...cli.env, USER: "dana\u001b[8m" })).code).toBe(0);
    expect((await cli.store.listAudit()).at(-1)?.actor).toBe("operator:cli");
  });
});

describe("the revoke audit record", () => {
  it("keeps the --actor label and, beside it, the OS account and host that ran the command", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    revocationCalls();

    expect((await cli.run(["revoke", grant.id, "--reason", "value pasted in a ticket", "--actor", "the security team"])).code).toBe(0);

    const record = (await cli.store.listAudit()).at(-1)!;
    expect(record).toMatchObject({ action: "revoked", actor: "operator:the security team" });
    expect(record.details).toEqual({
      reason: "value pasted in a ticket",
      secretDeleted: true,
      otherLiveGrants: 0,
      ranBy: { user: userInfo().username, uid: process.getuid?.() ?? null, host: hostname() },
    });
  });

  it("a failed delete's revoke_failed record keeps them too", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    mockInstallationToken(42);
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 422);

    expect((await cli.run(["revoke", grant.id, "--reason", "done early"])).code).toBe(1);

    expect((await cli.store.listAudit()).at(-1)).toMatchObject({
      action: "revoke_failed",
      details: expect.objectContaining({ ranBy: expect.objectContaining({ host: hostname() }) }),
    });
  });
});

describe("stored text printed to a terminal", () => {
  // What a requester, GitHub or an older version could have put in the ledger.
  const HOSTILE = {
    environment: "production\u001b]0;owned\u0007",
    requester: { id: 101, login: "mallory\u009b2J" },
    reason: "INC-1 \u202e\u2066hidden\u2069 done",
    approvers: [{ id: 202, login: "bob\n7c1e5a93  acme/api  production  PROD_DB_URL  eve" }],
  };

  it("grants: the table shows control characters as \\uXXXX, one line per grant", async () => {
    await seedGrant(cli.store, { ...AN_HOUR_LEFT, ...HOSTILE });
    await seedGrant(cli.store, AN_HOUR_LEFT);

    const result = await cli.run(["grants"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toHaveLength(3);
    expect(noUnsafe(result.stdout)).toEqual([]);
    const row = result.stdout.find((line) => line.includes("mallory"))!;
    expect(row).toContain("production\\u001b]0;owned\\u0007");
    expect(row).toContain("mallory\\u009b2J");
    expect(row).toContain("bob\\u000a7c1e5a93");
  });

  it("grants --json: no raw control character, and it parses to exactly what is stored", async () => {
    const grant = await seedGrant(cli.store, { ...AN_HOUR_LEFT, ...HOSTILE });

    const result = await cli.run(["grants", "--json"]);

    expect(noUnsafe(result.stdout.join("\n").split("\n"))).toEqual([]);
    const [shown] = JSON.parse(result.stdout.join("\n")) as Array<Record<string, unknown>>;
    expect(shown).toMatchObject({
      id: grant.id,
      environment: HOSTILE.environment,
      requester: HOSTILE.requester,
      reason: HOSTILE.reason,
      approvers: HOSTILE.approvers,
    });
  });

  describe("audit", () => {
    beforeEach(async () => {
      const grant = await seedGrant(cli.store, { ...AN_HOUR_LEFT, ...HOSTILE });
      await cli.store.appendAudit({
        at: new Date(EXPIRY_START),
        action: "rejected",
        actor: HOSTILE.requester.login,
        owner: "acme",
        repo: "api",
        prNumber: 7,
        grantId: grant.id,
        environment: HOSTILE.environment,
        details: { reason: HOSTILE.reason },
      });
    });

    it("jsonl: no raw control character, and each line parses to exactly what is stored", async () => {
      const result = await cli.run(["audit"]);

      expect(noUnsafe(result.stdout)).toEqual([]);
      expect(JSON.parse(result.stdout.at(-1)!)).toMatchObject({
        actor: HOSTILE.requester.login,
        environment: HOSTILE.environment,
        details: { reason: HOSTILE.reason },
      });
    });

    it("csv to a file or a pipe: every character as stored", async () => {
      const result = await cli.run(["audit", "--format", "csv"]);

      expect(result.stdout.at(-1)).toContain(`,${HOSTILE.requester.login},`);
      expect(result.stdout.at(-1)).toContain(HOSTILE.environment);
    });

    it("csv to a terminal: control characters shown as \\uXXXX", async () => {
      const result: CliResult = { code: -1, stdout: [], stderr: [] };
      result.code = await runCli(["audit", "--format", "csv"], {
        stdout: (line) => void result.stdout.push(line),
        stderr: (line) => void result.stderr.push(line),
        env: cli.env,
        clock: cli.clock,
        stdoutIsTerminal: true,
      });

      expect(result.code).toBe(0);
      expect(noUnsafe(result.stdout)).toEqual([]);
      expect(result.stdout.at(-1)).toContain(",mallory\\u009b2J,");
      expect(result.stdout.at(-1)).toMatch(/\r$/);
    });
  });

  it("revoke of a grant that already ended shows its stored reason escaped", async () => {
    const grant = await seedGrant(cli.store, { ...AN_HOUR_LEFT, ...HOSTILE });
    await cli.store.markEnded(grant.id, "revoked", "closed \u001b[2J by \u202eadmin", new Date(EXPIRY_START));

    const result = await cli.run(["revoke", grant.id, "--reason", "done early"]);

    expect(result.code).toBe(1);
    expect(noUnsafe(result.stderr)).toEqual([]);
    expect(result.stderr[0]).toContain("(closed \\u001b[2J by \\u202eadmin)");
  });

  it("the log on stderr stays JSON lines, with C1 and bidi characters escaped the JSON way", async () => {
    const environment = "production\u009b2J\u202e";
    const grant = await seedGrant(cli.store, { ...AN_HOUR_LEFT, environment });
    mockInstallationToken(42);
    new GitHubMock("acme", "api").deleteSecret(environment, "PROD_DB_URL", 422);

    const result = await cli.run(["revoke", grant.id, "--reason", "done early"]);

    expect(result.code).toBe(1);
    const logLines = result.stderr.filter((line) => line.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(0);
    expect(noUnsafe(result.stderr)).toEqual([]);
    expect(logLines.map((line) => JSON.parse(line) as { environment?: string }).find((entry) => entry.environment)?.environment).toBe(
      environment,
    );
  });

  it("an unknown grant id is echoed escaped", async () => {
    const result = await cli.run(["revoke", "abc\u001b[2J", "--reason", "done early"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      'jit-access revoke: no grant with id "abc\\u001b[2J" in the ledger; "jit-access grants --all" lists them',
    ]);
  });
});

describe("terminalText and jsonForTerminal", () => {
  it("escape C0, DEL, C1, bidi, separators and invisible characters, and nothing else", () => {
    expect(terminalText("a\u0000b\u001bc\u007fd\u0085e\u009bf\u202eg\u2028h\u200bi\u{E0041}j\tk\nl")).toBe(
      "a\\u0000b\\u001bc\\u007fd\\u0085e\\u009bf\\u202eg\\u2028h\\u200bi\\udb40\\udc41j\\u0009k\\u000al",
    );
    expect(terminalText('production · Zürich 東京 ❤ \\ "q"')).toBe('production · Zürich 東京 ❤ \\ "q"');
  });

  it("jsonForTerminal parses back to the same value and keeps its layout", () => {
    const value = { a: "x\u009by\u202ez\u{E0041}\u007f", b: ["\u001b", "\n"], c: 1 };
    const json = jsonForTerminal(value, 2);
    expect(JSON.parse(json)).toEqual(value);
    expect(json.split("\n")).toHaveLength(JSON.stringify(value, null, 2).split("\n").length);
    expect(noUnsafe(json.split("\n"))).toEqual([]);
  });
});

function revocationCalls(): void {
  mockInstallationToken(42);
  const gh = new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 204);
  gh.comment(7).setLabels(7);
}
