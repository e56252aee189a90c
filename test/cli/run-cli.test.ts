import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { COMMANDS } from "../../src/cli/run-cli.js";
import { VALIDATE_USAGE } from "../../src/cli/validate-command.js";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { RECONCILE_CATALOG } from "../helpers/reconcile-catalog.js";
import { API } from "../helpers/github-nock.js";

let cli: CliHarness;
beforeEach(async () => {
  cli = await startCliHarness({ catalog: RECONCILE_CATALOG });
});
afterEach(async () => {
  await cli.close();
});

describe("jit-access", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s lists every command on stdout and exits 0", async (flag) => {
    const result = await cli.run([flag]);

    expect(result.code).toBe(0);
    const help = result.stdout.join("\n");
    expect(help).toMatch(/^usage: jit-access \[--env-file PATH\] COMMAND \[ARGS\]/);
    for (const name of ["sweep", "grants", "revoke", "audit", "reconcile", "validate"])
      expect(help).toMatch(new RegExp(`^  ${name}\\b`, "m"));
  });

  it.each(Object.keys(COMMANDS))("help %s prints that command's usage", async (name) => {
    const result = await cli.run(["help", name]);

    expect(result.code).toBe(0);
    expect(result.stdout.join("\n")).toMatch(new RegExp(`^usage: jit-access ${name}\\b`));
  });

  it("dispatches validate to the validate command", async () => {
    const result = await cli.run(["validate", "--help"]);

    expect(result).toMatchObject({ code: 0, stdout: [VALIDATE_USAGE] });
  });

  it.each([
    [[], "jit-access: give a command"],
    [["expire"], 'jit-access: unknown command "expire"'],
  ])("exits 2 with the command list for %p", async (args, message) => {
    const result = await cli.run(args);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr[0]).toBe(message);
    expect(result.stderr[1]).toMatch(/^usage: jit-access \[--env-file PATH\] COMMAND/);
  });

  it.each([
    [["grants", "--env-file"], "jit-access: --env-file needs a path: --env-file /etc/jit-access/env"],
    [["--env-file", "--json", "grants"], "jit-access: --env-file needs a path: --env-file /etc/jit-access/env"],
    [["--env-file=", "grants"], "jit-access: --env-file needs a path: --env-file /etc/jit-access/env"],
    [["--env-file", "a.env", "grants", "--env-file=b.env"], "jit-access: --env-file is given twice; name one settings file"],
  ])("exits 2 for a bad --env-file: %p", async (args, message) => {
    const result = await cli.run(args);

    expect(result).toMatchObject({ code: 2, stdout: [] });
    expect(result.stderr[0]).toBe(message);
  });

  it("reports an error no command expected as 'jit-access COMMAND: message', exit 1", async () => {
    nock(API).get("/app/installations").query(true).reply(401, { message: "A JSON web token could not be decoded" });

    const result = await cli.run(["reconcile"]);

    expect(result.code).toBe(1);
    expect(result.stderr.at(-1)).toBe(
      "jit-access reconcile: could not list the app's installations: A JSON web token could not be decoded; " +
        "check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH)",
    );
    expect(nock.pendingMocks()).toEqual([]);
  });
});
