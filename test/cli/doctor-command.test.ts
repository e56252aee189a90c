/**
 * `jit-access doctor` against the simulator, as an operator runs it after deploying: each check
 * with a healthy and a broken set-up, the exit status, and that it changes nothing and prints
 * no secret value.
 */
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { DOCTOR_USAGE } from "../../src/cli/doctor-command.js";
import { runCli } from "../../src/cli/run-cli.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from "../../src/ledger/migrations.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { startSimulator, type GitHubSimulator } from "../../sim/index.js";
import { zeroTablePages } from "../helpers/damage-ledger.js";
import { seedGrant } from "../helpers/grant-fixture.js";

const VALUE = "doctor-secret-value-7f3a";

let sim: GitHubSimulator;
let dir: string;
let answering: Server;
let answerStatus = 200;

beforeAll(async () => {
  answering = createServer((_request, response) => response.writeHead(answerStatus).end());
  await new Promise<void>((resolve) => answering.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await new Promise((resolve) => answering.close(resolve));
});

beforeEach(async () => {
  const address = answering.address() as { port: number };
  // checkResponses: the delivery log's answers are checked against GitHub's REST description too.
  sim = await startSimulator({ webhookUrl: `http://127.0.0.1:${address.port}/api/github/webhooks`, checkResponses: true });
  dir = mkdtempSync(join(tmpdir(), "jit-doctor-"));
  answerStatus = 200;
});
afterEach(async () => {
  expect(sim.violations).toEqual([]);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function catalog(options: { requireProtected?: boolean; bind?: boolean; repositories?: string; source?: string } = {}): string {
  const path = join(dir, "catalog.yml");
  writeFileSync(
    path,
    [
      "secrets:",
      "  PROD_DB_URL:",
      `    source: ${options.source ?? "env:PROD_DB_URL"}`,
      `    repositories: [${options.repositories ?? "acme/api"}]`,
      "    environments: [production]",
      "    max_duration: 1h",
      ...(options.requireProtected ? ["    require_protected_environment: true"] : []),
      ...(options.bind ? ["    bind_to_requester: true"] : []),
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return path;
}

async function migratedLedger(): Promise<string> {
  const url = `sqlite:${join(dir, "ledger.db")}`;
  await (await openLedger(url)).close();
  return url;
}

async function doctor(env: Record<string, string>, args: string[] = []): Promise<{ code: number; lines: string[]; stderr: string[] }> {
  const lines: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(["doctor", ...args], {
    stdout: (line) => lines.push(line),
    stderr: (line) => stderr.push(line),
    env: { PATH: process.env.PATH, ...env },
  });
  return { code, lines, stderr };
}

/** The line of one check (its first line, for checks that print one per item). */
const line = (lines: string[], check: string): string | undefined => lines.find((l) => l.slice(6).startsWith(`${check}:`));

async function healthyEnv(): Promise<Record<string, string>> {
  sim.createRepo("acme/api", { environments: ["production"] });
  return { ...sim.appEnv(), JIT_CATALOG: catalog(), DATABASE_URL: await migratedLedger(), PROD_DB_URL: VALUE };
}

describe("jit-access doctor", () => {
  it("a healthy set-up: every check ok, exit 0, nothing changed and no value printed", async () => {
    const env = await healthyEnv();
    await sim.deliver("ping", { zen: "Keep it logically awesome.", hook_id: 1 });
    const requestsBefore = sim.requests.length;

    const { code, lines, stderr } = await doctor(env);

    expect(lines.filter((l) => !l.startsWith("ok  ") && !l.startsWith("doctor:"))).toEqual([]);
    expect(code).toBe(0);
    expect(line(lines, "settings")).toMatch(/^ok {4}settings: valid; GitHub at http:\/\/127\.0\.0\.1:\d+\/api\/v3, ledger sqlite:…$/);
    expect(line(lines, "catalog")).toMatch(/^ok {4}catalog: 1 secret in /);
    expect(line(lines, "ledger")).toBe("ok    ledger: reachable and migrated; 0 live grants");
    expect(line(lines, "private key")).toMatch(/^ok {4}private key: GitHub accepts the app's token: jit-access \(id \d+\)$/);
    expect(line(lines, "installations")).toMatch(/^ok {4}installations: 1 active \(acme \d+\), 1 repository$/);
    expect(line(lines, "secret PROD_DB_URL")).toBe("ok    secret PROD_DB_URL: environments production present in acme/api");
    expect(line(lines, "value of PROD_DB_URL")).toBe("ok    value of PROD_DB_URL: its source (env) is readable");
    expect(line(lines, "webhook deliveries")).toBe("ok    webhook deliveries: the last 1 were all answered with 2xx");
    expect(line(lines, "webhook inbox")).toBe("ok    webhook inbox: 0 pending, no delivery given up");
    expect(lines.at(-1)).toBe("doctor: 11 ok, 0 warn, 0 fail");
    // Reads only: every request it made was a GET (the token exchange aside).
    const made = sim.requests.slice(requestsBefore);
    expect(made.filter((r) => r.method !== "GET" && !/\/access_tokens$/.test(r.path))).toEqual([]);
    expect([...lines, ...stderr].join("\n")).not.toContain(VALUE);
  });

  it("--json prints the same checks", async () => {
    const env = await healthyEnv();
    const { code, lines } = await doctor(env, ["--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(lines.join("\n")) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.check)).toEqual([
      "settings",
      "catalog",
      "ledger",
      "overdue grants",
      "break-glass reviews",
      "webhook inbox",
      "private key",
      "installations",
      "secret PROD_DB_URL",
      "value of PROD_DB_URL",
      "webhook deliveries",
    ]);
  });

  it("missing settings: fail, the checks that need them say so, the ledger is still checked; exit 1", async () => {
    const { code, lines } = await doctor({ DATABASE_URL: await migratedLedger() });
    expect(code).toBe(1);
    expect(line(lines, "settings")).toMatch(/^fail {2}settings: APP_ID is not set.*set them as README's Settings describes/);
    expect(line(lines, "ledger")).toMatch(/^ok {4}ledger: reachable and migrated/);
    expect(line(lines, "private key")).toBe("warn  private key: not checked: it needs the settings, which failed above. fix that first");
  });

  it("a private key of another app: GitHub refuses the token", async () => {
    const env = await healthyEnv();
    const other = await startSimulator();
    try {
      const { code, lines } = await doctor({ ...env, PRIVATE_KEY: other.privateKeyPem });
      expect(code).toBe(1);
      expect(line(lines, "private key")).toMatch(
        /^fail {2}private key: GitHub refused the app's token \(401\).*check that APP_ID and the private key/,
      );
      expect(line(lines, "installations")).toMatch(/^warn {2}installations: not checked/);
    } finally {
      await other.close();
    }
  });

  it("an invalid catalog fails with the loader's message", async () => {
    const env = await healthyEnv();
    writeFileSync(env.JIT_CATALOG!, "secrets:\n  PROD_DB_URL:\n    source: env:PROD_DB_URL\n", { mode: 0o600 });
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "catalog")).toMatch(/^fail {2}catalog: .*repositories/);
  });

  it("a ledger the app never created: fail, and doctor does not create it", async () => {
    const env = { ...(await healthyEnv()), DATABASE_URL: `sqlite:${join(dir, "none.db")}` };
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "ledger")).toMatch(/^fail {2}ledger: .*start the app once/);
    expect(existsSync(join(dir, "none.db"))).toBe(false);
  });

  it("a damaged ledger: fail, with the recovery to run", async () => {
    const env = await healthyEnv();
    const store = await openLedger(env.DATABASE_URL!);
    for (let i = 0; i < 120; i++)
      await seedGrant(store, { prNumber: i + 1, reason: `INC-${4000 + i}: ${"look into the stuck migration ".repeat(4)}` });
    await store.close();
    zeroTablePages(join(dir, "ledger.db"), 3);
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "ledger")).toMatch(
      /^fail {2}ledger: the ledger database .* is damaged \(PRAGMA quick_check: .*restore the ledger from a backup, then run jit-access reconcile --dry-run and jit-access reconcile/,
    );
  });

  it("a live grant past its expiry by more than two sweeps fails, with what to run", async () => {
    const env = await healthyEnv();
    const store = await openLedger(env.DATABASE_URL!);
    const grant = await seedGrant(store, { createdAt: new Date(Date.now() - 3 * 3_600_000), secret: "PROD_DB_URL" });
    await store.close();
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "overdue grants")).toMatch(
      new RegExp(
        `^fail  overdue grants: 1 live grant is past expiry, the oldest by \\d+ min \\(${grant.id} acme/api production PROD_DB_URL\\).*jit-access sweep`,
      ),
    );
  });

  it("a break-glass grant no code owner has reviewed yet: a warning naming it, with what to do", async () => {
    const env = await healthyEnv();
    const store = await openLedger(env.DATABASE_URL!);
    const grant = await seedGrant(store, {
      createdAt: new Date(Date.now() - 60_000),
      secret: "PROD_DB_URL",
      approvers: [],
      breakGlass: true,
      prNumber: 40,
    });
    await store.close();
    const { code, lines } = await doctor(env);
    expect(code).toBe(0);
    expect(line(lines, "break-glass reviews")).toMatch(
      new RegExp(
        `^warn  break-glass reviews: 1 break-glass grant waits for a code owner's review \\(${grant.id} acme/api#40 PROD_DB_URL\\).*--break-glass-unreviewed`,
      ),
    );
  });

  it("a ledger at an older schema version: fail, naming both versions, and doctor leaves the file as it was", async () => {
    const env = await healthyEnv();
    const file = join(dir, "old.db");
    const old = new Database(file);
    migrate(old, MIGRATIONS.slice(0, 5));
    old.close();
    const before = readFileSync(file);
    const { code, lines } = await doctor({ ...env, DATABASE_URL: `sqlite:${file}` });
    expect(code).toBe(1);
    expect(line(lines, "ledger")).toBe(
      `fail  ledger: the ledger database ${file} has schema version ${MIGRATIONS[4]!.version}, this build needs ${LATEST_SCHEMA_VERSION}; ` +
        "open it once without readonly so that it is migrated. start the app once so that it creates and migrates the ledger, or fix DATABASE_URL",
    );
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it("the app installed nowhere: a warning, not a failure", async () => {
    const { installationId } = sim.createRepo("acme/api", { environments: ["production"] });
    sim.deleteInstallation(installationId!);
    const env = { ...sim.appEnv(), JIT_CATALOG: catalog(), DATABASE_URL: await migratedLedger(), PROD_DB_URL: VALUE };
    const { code, lines } = await doctor(env);
    expect(code).toBe(0);
    expect(lines.filter((l) => l.slice(6).startsWith("installations:"))).toEqual([
      "warn  installations: the app is installed nowhere. install it on the repositories whose pull requests request access",
    ]);
    expect(line(lines, "secret PROD_DB_URL")).toBe(
      "warn  secret PROD_DB_URL: no installed repository matches acme/api. install the app on those repositories, or correct the catalog's repositories",
    );
  });

  it("a suspended installation: a warning naming it; the active ones are still checked", async () => {
    const suspended = sim.createRepo("acme/api", { environments: ["production"] }).installationId!;
    const active = sim.createRepo("globex/tools", { environments: ["production"] }).installationId!;
    sim.suspendInstallation(suspended);
    const env = {
      ...sim.appEnv(),
      JIT_CATALOG: catalog({ repositories: "acme/api, globex/tools" }),
      DATABASE_URL: await migratedLedger(),
      PROD_DB_URL: VALUE,
    };
    const { code, lines } = await doctor(env);
    expect(code).toBe(0);
    expect(lines.filter((l) => l.slice(6).startsWith("installations:"))).toEqual([
      `warn  installations: acme (${suspended}) is suspended. unsuspend it in the account's GitHub App settings; its grants cannot be written or revoked until then`,
      `ok    installations: 1 active (globex ${active}), 1 repository`,
    ]);
    // Only the active installation's repository is looked at.
    expect(line(lines, "secret PROD_DB_URL")).toBe("ok    secret PROD_DB_URL: environments production present in globex/tools");
  });

  it("every installation suspended: only the warning, no installation counted as active", async () => {
    const suspended = sim.createRepo("acme/api", { environments: ["production"] }).installationId!;
    sim.suspendInstallation(suspended);
    const env = { ...sim.appEnv(), JIT_CATALOG: catalog(), DATABASE_URL: await migratedLedger(), PROD_DB_URL: VALUE };
    const { lines } = await doctor(env);
    expect(lines.filter((l) => l.slice(6).startsWith("installations:"))).toEqual([
      `warn  installations: acme (${suspended}) is suspended. unsuspend it in the account's GitHub App settings; its grants cannot be written or revoked until then`,
    ]);
    expect(line(lines, "secret PROD_DB_URL")).toMatch(/^warn {2}secret PROD_DB_URL: no installed repository matches acme\/api\./);
  });

  it("a repository whose environments cannot be read fails, naming it and GitHub's answer", async () => {
    const env = await healthyEnv();
    sim.faults.add({ method: "GET", path: "/repos/{owner}/{repo}/environments", status: 500 });
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "secret PROD_DB_URL")).toMatch(
      /^fail {2}secret PROD_DB_URL: acme\/api: its environments could not be read \(.*Server Error.*\)\. /,
    );
    // The other checks go on.
    expect(line(lines, "value of PROD_DB_URL")).toBe("ok    value of PROD_DB_URL: its source (env) is readable");
  });

  it("a catalog environment missing from a repository fails, naming both", async () => {
    sim.createRepo("acme/api", { environments: ["staging"] });
    const env = { ...sim.appEnv(), JIT_CATALOG: catalog(), DATABASE_URL: await migratedLedger(), PROD_DB_URL: VALUE };
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "secret PROD_DB_URL")).toMatch(
      /^fail {2}secret PROD_DB_URL: acme\/api has no environment production\. create the environments/,
    );
  });

  it("an unprotected environment where the catalog requires protection fails", async () => {
    sim.createRepo("acme/api", { environments: ["production"] });
    const env = {
      ...sim.appEnv(),
      JIT_CATALOG: catalog({ requireProtected: true }),
      DATABASE_URL: await migratedLedger(),
      PROD_DB_URL: VALUE,
    };
    const { lines } = await doctor(env);
    expect(line(lines, "secret PROD_DB_URL")).toMatch(
      /^fail {2}secret PROD_DB_URL: acme\/api's environment production has no protection rule, which the catalog requires/,
    );
  });

  it("require_protected_environment: ok where the environment has a branch policy, or a protection rule such as a wait timer", async () => {
    sim.createRepo("acme/api", { environments: ["production"] });
    const env = {
      ...sim.appEnv(),
      JIT_CATALOG: catalog({ requireProtected: true }),
      DATABASE_URL: await migratedLedger(),
      PROD_DB_URL: VALUE,
    };
    sim.protectEnvironment("acme/api", "production", { branchPolicy: "protected_branches" });
    const branches = await doctor(env);
    expect(branches.code).toBe(0);
    expect(line(branches.lines, "secret PROD_DB_URL")).toBe("ok    secret PROD_DB_URL: environments production present in acme/api");
    sim.protectEnvironment("acme/api", "production", { branchPolicy: null, waitTimer: 5 });
    const timer = await doctor(env);
    expect(line(timer.lines, "secret PROD_DB_URL")).toBe("ok    secret PROD_DB_URL: environments production present in acme/api");
    sim.protectEnvironment("acme/api", "production", { waitTimer: null });
    const none = await doctor(env);
    expect(line(none.lines, "secret PROD_DB_URL")).toMatch(/^fail {2}secret PROD_DB_URL: .*has no protection rule/);
  });

  it("bind_to_requester: ok where jit-access gates the environment, fail with the command to run where it does not", async () => {
    sim.createRepo("acme/api", { environments: ["production"] });
    const env = { ...sim.appEnv(), JIT_CATALOG: catalog({ bind: true }), DATABASE_URL: await migratedLedger(), PROD_DB_URL: VALUE };
    const before = await doctor(env);
    expect(before.code).toBe(1);
    expect(line(before.lines, "secret PROD_DB_URL")).toBe(
      "fail  secret PROD_DB_URL: acme/api's environment production does not have jit-access as a deployment protection rule, which bind_to_requester needs (jit-access protect acme/api production). create the environments (repository Settings > Environments) and their protection rules, or correct the catalog",
    );
    sim.enableProtectionRule("acme/api", "production");
    const after = await doctor(env);
    expect(line(after.lines, "secret PROD_DB_URL")).toBe(
      "ok    secret PROD_DB_URL: environments production present in acme/api, each gated by jit-access",
    );
  });

  it("an unreadable value source fails without printing anything of it", async () => {
    const env = await healthyEnv();
    delete env.PROD_DB_URL;
    const { code, lines } = await doctor(env);
    expect(code).toBe(1);
    expect(line(lines, "value of PROD_DB_URL")).toMatch(/^fail {2}value of PROD_DB_URL: .*PROD_DB_URL.*grants of this secret fail/);
  });

  it("a file: value source: ok when the file can be read; the reason when it cannot; never its content", async () => {
    sim.createRepo("acme/api", { environments: ["production"] });
    const valueFile = join(dir, "secrets", "prod-db-url");
    mkdirSync(join(dir, "secrets"), { mode: 0o700 });
    const env = { ...sim.appEnv(), JIT_CATALOG: catalog({ source: `file:${valueFile}` }), DATABASE_URL: await migratedLedger() };
    const printed: string[] = [];
    const run = async (): Promise<{ code: number; lines: string[] }> => {
      const result = await doctor(env);
      printed.push(...result.lines, ...result.stderr);
      return result;
    };

    writeFileSync(valueFile, `${VALUE}\n`, { mode: 0o600 });
    const readable = await run();
    expect(readable.code).toBe(0);
    expect(line(readable.lines, "value of PROD_DB_URL")).toBe("ok    value of PROD_DB_URL: its source (file) is readable");

    // Not UTF-8: refused, and nothing of what the file holds is shown.
    writeFileSync(valueFile, Buffer.concat([Buffer.from(VALUE), Buffer.from([0xff, 0xfe])]), { mode: 0o600 });
    const garbled = await run();
    expect(garbled.code).toBe(1);
    expect(line(garbled.lines, "value of PROD_DB_URL")).toBe(
      `fail  value of PROD_DB_URL: file ${valueFile} is not valid UTF-8 text. grants of this secret fail until its source can be read`,
    );

    rmSync(valueFile);
    const missing = await run();
    expect(missing.code).toBe(1);
    expect(line(missing.lines, "value of PROD_DB_URL")).toBe(
      `fail  value of PROD_DB_URL: file ${valueFile} cannot be read: ENOENT. grants of this secret fail until its source can be read`,
    );

    mkdirSync(valueFile);
    const directory = await run();
    expect(directory.code).toBe(1);
    expect(line(directory.lines, "value of PROD_DB_URL")).toMatch(
      new RegExp(`^fail {2}value of PROD_DB_URL: file ${valueFile} is not a regular file \\(it is a directory\\)`),
    );
    expect(printed.join("\n")).not.toContain(VALUE);
  });

  it("--json when a check fails: ok false, the failing check with what to do, exit 1", async () => {
    const env = await healthyEnv();
    delete env.PROD_DB_URL;
    const { code, lines } = await doctor(env, ["--json"]);
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { ok: boolean; checks: { check: string; status: string; detail: string; fix?: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => c.status === "fail")).toEqual([
      {
        check: "value of PROD_DB_URL",
        status: "fail",
        detail: expect.stringContaining("PROD_DB_URL"),
        fix: "grants of this secret fail until its source can be read",
      },
    ]);
    expect(report.checks.find((c) => c.check === "private key")?.status).toBe("ok");
  });

  it("an unknown option: the usage on stderr, exit 2, and nothing checked", async () => {
    const env = await healthyEnv();
    const requestsBefore = sim.requests.length;
    const { code, lines, stderr } = await doctor(env, ["--bogus"]);
    expect(code).toBe(2);
    expect(lines).toEqual([]);
    expect(stderr[0]).toMatch(/^jit-access doctor: .*--bogus/);
    expect(stderr.slice(1)).toEqual([DOCTOR_USAGE]);
    expect(sim.requests.length).toBe(requestsBefore);
  });

  it("a delivery the webhook inbox gave up: a warning naming it and its error, with what to do", async () => {
    const env = await healthyEnv();
    const store = await openLedger(env.DATABASE_URL!);
    const now = new Date();
    await store.recordDelivery({ id: "d-41", event: "pull_request_review", payload: "{}", receivedAt: now });
    await store.claimDeliveries({ owner: "server-1", now, leaseMs: 60_000, limit: 1, maxAttempts: 5 });
    await store.failDelivery("d-41", "server-1", "GitHub answered 502", now, null);
    await store.close();
    const { code, lines } = await doctor(env);
    expect(code).toBe(0);
    expect(line(lines, "webhook inbox")).toBe(
      "warn  webhook inbox: 1 delivery was given up after failing every attempt (d-41 pull_request_review: GitHub answered 502). " +
        "read the app's log for these deliveries; once the cause is fixed, redeliver them from the app's settings on GitHub",
    );
  });

  it("GitHub's delivery log: a warning when it holds no delivery yet, and when it cannot be read", async () => {
    const env = await healthyEnv();
    const none = await doctor(env);
    expect(none.code).toBe(0);
    expect(line(none.lines, "webhook deliveries")).toBe(
      "warn  webhook deliveries: GitHub has delivered no webhook to the app yet. check the app's webhook URL and that it is active; open a pull request to send one",
    );
    sim.faults.add({ method: "GET", path: "/app/hook/deliveries", status: 500 });
    const unreadable = await doctor(env);
    expect(unreadable.code).toBe(0);
    expect(line(unreadable.lines, "webhook deliveries")).toMatch(
      /^warn {2}webhook deliveries: the delivery log could not be read \(Server Error.*\)\. check the app's webhook settings on GitHub$/,
    );
  });

  it("failed webhook deliveries: a warning naming the latest", async () => {
    const env = await healthyEnv();
    await sim.deliver("ping", { zen: "Design for failure.", hook_id: 1 });
    answerStatus = 500;
    const failed = await sim.deliver("ping", { zen: "Design for failure.", hook_id: 1 });
    const { code, lines } = await doctor(env);
    expect(code).toBe(0);
    expect(line(lines, "webhook deliveries")).toMatch(
      new RegExp(
        `^warn  webhook deliveries: 1 of the last 2 failed; the latest: ping at \\S+ \\(status 500, delivery ${failed.id}\\)\\. check the server's log`,
      ),
    );
  });
});
