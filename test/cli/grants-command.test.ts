import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";

const T = Date.parse("2026-03-01T08:00:00Z");

let cli: CliHarness;
/** `grants` reads only the ledger: no credentials in its environment. */
let ledgerOnly: NodeJS.ProcessEnv;
beforeEach(async () => {
  cli = await startCliHarness();
  ledgerOnly = { DATABASE_URL: cli.env.DATABASE_URL };
});
afterEach(async () => {
  await cli.close();
});

async function seed() {
  return {
    live: await seedGrant(cli.store, {
      createdAt: new Date(T),
      approvers: [
        { id: 1, login: "bob" },
        { id: 2, login: "carol" },
      ],
    }),
    granting: await seedGrant(
      cli.store,
      { createdAt: new Date(T + 1), secret: "PAYMENTS_KEY", environment: "staging", prNumber: 12 },
      "granting",
    ),
    ended: await seedGrant(cli.store, { createdAt: new Date(T + 2), repo: "web", prNumber: 3 }, "expired"),
  };
}

describe("jit-access grants", () => {
  it("lists live grants as a table with aligned columns, without credentials", async () => {
    const { live, granting } = await seed();

    const result = await cli.run(["grants"], ledgerOnly);

    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([]);
    const [header, ...rows] = result.stdout;
    expect(header!.split(/\s{2,}/)).toEqual([
      "ID",
      "REPOSITORY",
      "ENVIRONMENT",
      "SECRET",
      "REQUESTER",
      "PR",
      "STATE",
      "EXPIRES",
      "APPROVERS",
    ]);
    expect(rows.map((row) => row.split(/\s{2,}/))).toEqual([
      [live.id, "acme/api", "production", "PROD_DB_URL", "alice", "#7", "active", "2026-03-01T10:00:00.000Z", "bob,carol"],
      [granting.id, "acme/api", "staging", "PAYMENTS_KEY", "alice", "#12", "granting", "2026-03-01T10:00:00.001Z", "bob"],
    ]);
    for (const column of ["REPOSITORY", "STATE", "APPROVERS"]) {
      const start = header!.indexOf(column);
      expect(rows.map((row) => row.slice(start - 2, start))).toEqual(rows.map(() => "  "));
      expect(rows.every((row) => row[start] !== " ")).toBe(true);
    }
  });

  it("--all includes ended grants", async () => {
    const { ended } = await seed();

    const result = await cli.run(["grants", "--all"], ledgerOnly);

    expect(result.stdout).toHaveLength(4);
    expect(result.stdout[3]).toContain(ended.id);
    expect(result.stdout[3]).toContain("expired");
  });

  it("--json prints an array of grants with ISO dates, for scripts", async () => {
    const { live, granting } = await seed();

    const result = await cli.run(["grants", "--json"], ledgerOnly);

    expect(result.code).toBe(0);
    const grants = JSON.parse(result.stdout.join("\n")) as { id: string }[];
    expect(grants.map((grant) => grant.id)).toEqual([live.id, granting.id]);
    expect(grants[0]).toEqual({
      ...live,
      createdAt: "2026-03-01T08:00:00.000Z",
      grantedAt: "2026-03-01T08:00:00.000Z",
      expiresAt: "2026-03-01T10:00:00.000Z",
      endedAt: null,
      nextAttemptAt: null,
    });
    expect(grants[1]).toMatchObject({ state: "granting", grantedAt: null, secret: "PAYMENTS_KEY" });
  });

  it("--break-glass-unreviewed lists break-glass grants no code owner reviewed, with exit 1 while any exists", async () => {
    await seed();
    expect(await cli.run(["grants", "--break-glass-unreviewed"], ledgerOnly)).toMatchObject({
      code: 0,
      stdout: ["no break-glass grant is waiting for review"],
    });
    const glass = await seedGrant(cli.store, { createdAt: new Date(T + 3), approvers: [], breakGlass: true, prNumber: 40 });
    const ended = await seedGrant(cli.store, { createdAt: new Date(T + 4), approvers: [], breakGlass: true, prNumber: 41 }, "expired");

    const waiting = await cli.run(["grants", "--break-glass-unreviewed"], ledgerOnly);
    expect(waiting.code).toBe(1);
    expect(waiting.stdout.slice(1).map((row) => row.split(/\s{2,}/)[0])).toEqual([glass.id, ended.id]);
    expect(waiting.stdout[1]).toContain("#40");

    await cli.store.recordBreakGlassReview(glass.id, { id: 2, login: "carol" }, new Date(T + 5));
    const json = await cli.run(["grants", "--break-glass-unreviewed", "--json"], ledgerOnly);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout.join("\n")) as { id: string }[]).map((g) => g.id)).toEqual([ended.id]);
    await cli.store.recordBreakGlassReview(ended.id, { id: 2, login: "carol" }, new Date(T + 6));
    expect((await cli.run(["grants", "--break-glass-unreviewed"], ledgerOnly)).code).toBe(0);
    expect((await cli.run(["grants", "--all", "--break-glass-unreviewed"], ledgerOnly)).code).toBe(2);
  });

  it("says so when there are none", async () => {
    expect((await cli.run(["grants"], ledgerOnly)).stdout).toEqual(["no live grants (--all lists ended ones too)"]);
    expect((await cli.run(["grants", "--json"], ledgerOnly)).stdout).toEqual(["[]"]);
  });

  it.each([[["--live"]], [["extra"]], [["--json=yes"]]])("exits 2 with the usage for %p", async (args) => {
    const result = await cli.run(["grants", ...args], ledgerOnly);

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr.join("\n")).toContain("usage: jit-access grants [--all | --break-glass-unreviewed] [--json]");
  });

  it("exits 2 naming DATABASE_URL when it is not a usable ledger location", async () => {
    // Nothing listens on port 1 of the loopback interface.
    const result = await cli.run(["grants"], { DATABASE_URL: "postgres://user:hunter2@127.0.0.1:1/jit" });

    expect(result.code).toBe(2);
    expect(result.stderr.join("\n")).toContain("DATABASE_URL");
    expect(result.stderr.join("\n")).not.toContain("hunter2");
  });
});
