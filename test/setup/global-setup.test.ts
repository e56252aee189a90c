import { describe, expect, it } from "@jest/globals";
import { PREFIX_VARIABLE, setupPostgres, SKIPPED_VARIABLE, URL_VARIABLE } from "./global-setup.js";
import { describePostgres } from "../helpers/postgres.js";

/** Nothing listens on port 1 of the loopback interface. */
const NO_SERVER = "postgres://postgres:hunter2@127.0.0.1:1/test";

describe("the PostgreSQL tests' global setup", () => {
  it("skips the PostgreSQL tests with one line saying why when the default server does not answer", async () => {
    const env: NodeJS.ProcessEnv = {};
    const lines: string[] = [];
    await setupPostgres(env, NO_SERVER, (line) => lines.push(line));
    expect(lines).toEqual([
      "PostgreSQL tests skipped: no PostgreSQL at postgres://postgres@127.0.0.1:1/test (connect ECONNREFUSED 127.0.0.1:1); set TEST_DATABASE_URL to run them and require the server.",
    ]);
    expect(env[SKIPPED_VARIABLE]).toContain("ECONNREFUSED");
    expect(env[URL_VARIABLE]).toBeUndefined();
  });

  it("fails the run when TEST_DATABASE_URL names a server that does not answer, without its password", async () => {
    const lines: string[] = [];
    const failure = setupPostgres({ TEST_DATABASE_URL: NO_SERVER }, "postgres://unused", (line) => lines.push(line));
    await expect(failure).rejects.toThrow(
      "TEST_DATABASE_URL is set, but PostgreSQL at postgres://postgres@127.0.0.1:1/test cannot be used: connect ECONNREFUSED 127.0.0.1:1",
    );
    await expect(failure).rejects.not.toThrow("hunter2");
    expect(lines).toEqual([]);
  });
});

describePostgres("the PostgreSQL tests' global setup, with the server there", () => {
  it("hands the test files the server's URL and a schema prefix of this run", async () => {
    const env: NodeJS.ProcessEnv = { TEST_DATABASE_URL: process.env[URL_VARIABLE] };
    const lines: string[] = [];
    await setupPostgres(env, NO_SERVER, (line) => lines.push(line));
    expect(env[URL_VARIABLE]).toBe(process.env[URL_VARIABLE]);
    expect(env[PREFIX_VARIABLE]).toMatch(/^jit_test_[0-9a-f]{8}_$/);
    expect(env[SKIPPED_VARIABLE]).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
