/**
 * The secret value must appear nowhere a person or a log can see it. The app runs as a real
 * process at LOG_LEVEL=trace (Probot then logs every webhook payload and API request URL)
 * through a grant that expires, a grant GitHub refuses, and a grant revoked by closing the pull
 * request. Then every place is searched for the value, in plain text and in the encodings it
 * could be logged in: the process output, comments, check runs, the API paths the app called,
 * every ledger row (read with better-sqlite3, read-only, after the app stopped), the ledger's
 * files as raw bytes, and what the CLI prints from the ledger (the access review's page too).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import Database from "better-sqlite3";
import { APP_ENTRY } from "../../sim/app-process.js";
import { HOSTILE_WORLD_START_MS, type HostileWorld, REPO, requestFor, SECRET_VALUE, startHostileWorld } from "./helpers/hostile-world.js";

/** The value as plain text, and as it would look base64-, hex-, URL- or JSON-encoded. */
const FORMS: Array<[string, Buffer]> = [
  ["plain", Buffer.from(SECRET_VALUE, "utf8")],
  ["base64", Buffer.from(Buffer.from(SECRET_VALUE).toString("base64"))],
  ["hex", Buffer.from(Buffer.from(SECRET_VALUE).toString("hex"))],
  ["URL-encoded", Buffer.from(encodeURIComponent(SECRET_VALUE))],
  ["UTF-16", Buffer.from(SECRET_VALUE, "utf16le")],
];

function formsIn(where: string, content: string | Buffer): string[] {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return FORMS.filter(([, form]) => bytes.includes(form)).map(([name]) => `${name} value in ${where}`);
}

let world: HostileWorld;
const pulls: number[] = [];

beforeAll(async () => {
  world = await startHostileWorld({ logLevel: "trace" });
}, HOSTILE_WORLD_START_MS);

afterAll(async () => {
  await world?.close();
});

/**
 * Opens a pull request asking for PROD_DB_URL and has the code owner approve it. The approval's
 * delivery is answered only after the paced comment and label writes, by which time a short
 * grant may be over; so the caller gets the pending delivery to await after watching the secret.
 */
async function requestAndApprove(branch: string, duration: string): Promise<{ pr: number; approval: Promise<number> }> {
  const { sim } = world;
  sim.commit(REPO, branch, { "jit-requests.yml": requestFor(duration) }, { from: "main", author: "alice" });
  const pr = await sim.openPullRequest(REPO, { head: branch, base: "main", author: "alice", title: `Access for ${branch}` });
  pulls.push(pr);
  await sim.waitFor(() => sim.checkRuns(REPO, { headSha: sim.pullRequest(REPO, pr).headSha, name: "jit-access" })[0], {
    description: "the waiting check",
  });
  return { pr, approval: sim.submitReview(REPO, pr, { reviewer: "bob", state: "APPROVED" }) };
}

const secretNow = (): string | undefined => world.sim.secretValue(REPO, "production", "PROD_DB_URL");
const gone = (): true | null => (secretNow() === undefined ? true : null);

describe("a full lifecycle at LOG_LEVEL=trace", () => {
  it("grants, then expires", async () => {
    const { pr, approval } = await requestAndApprove("expires", "5s");
    expect(await world.sim.waitFor(secretNow, { timeoutMs: 10_000, intervalMs: 10, description: "the grant" })).toBe(SECRET_VALUE);
    await approval;
    await world.sim.waitFor(gone, { timeoutMs: 15_000, description: "the expiry" });
    await world.sim.waitFor(() => world.sim.comments(REPO, pr).find((c) => c.body.includes("Access expired")), {
      timeoutMs: 10_000,
      description: "the expiry comment",
    });
  }, 30_000);

  it("fails a grant GitHub refuses", async () => {
    const fault = world.sim.faults.add({ method: "PUT", path: /\/environments\/production\/secrets\/PROD_DB_URL$/, status: 422, times: 1 });
    const { pr, approval } = await requestAndApprove("refused", "2h");
    await approval;
    await world.sim.waitFor(() => world.sim.comments(REPO, pr).find((c) => c.body.includes("Access could not be granted")), {
      timeoutMs: 10_000,
      description: "the failure comment",
    });
    expect(world.sim.faults.fired(fault)).toBe(1);
    expect(secretNow()).toBeUndefined();
  }, 20_000);

  it("grants, then revokes when the pull request is closed unmerged", async () => {
    const { pr, approval } = await requestAndApprove("closed", "2h");
    await approval;
    // The delivery is answered once the app's inbox holds it; the grant follows.
    expect(await world.sim.waitFor(secretNow, { timeoutMs: 10_000, intervalMs: 10, description: "the grant" })).toBe(SECRET_VALUE);
    await world.sim.waitFor(() => (world.sim.labels(REPO, pr).includes("jit:granted") ? true : null), {
      timeoutMs: 10_000,
      description: "the granted label",
    });
    await world.sim.closePullRequest(REPO, pr, { merged: false });
    await world.sim.waitFor(gone, { timeoutMs: 10_000, description: "the revocation" });
    await world.sim.waitFor(() => world.sim.comments(REPO, pr).find((c) => c.body.includes("Access revoked")), {
      timeoutMs: 10_000,
      description: "the revocation comment",
    });
  }, 20_000);
});

describe("after it, the value is nowhere", () => {
  let outputWhileRunning = "";
  let filesWhileRunning: Array<[string, Buffer]> = [];
  const ledgerFiles = (): Array<[string, Buffer]> =>
    readdirSync(world.dataDir)
      .filter((name) => name.startsWith("jit-access.db"))
      .map((name): [string, Buffer] => [name, readFileSync(join(world.dataDir, name))]);

  beforeAll(async () => {
    filesWhileRunning = ledgerFiles();
    outputWhileRunning = world.app.output();
    await world.app.stop("SIGTERM");
  }, 20_000);

  it("the scan finds the value in every form it searches for (a control)", () => {
    const wrapped = (form: Buffer): Buffer => Buffer.concat([Buffer.from("…"), form, Buffer.from("…")]);
    expect(FORMS.flatMap(([name, form]) => formsIn(name, wrapped(form)))).toEqual(FORMS.map(([name]) => `${name} value in ${name}`));
  });

  it("the app logged verbosely: each event, each API request's URL, and the body of each write", () => {
    const output = world.app.output();
    expect(output.startsWith(outputWhileRunning)).toBe(true);
    expect(output).toContain("pull_request_review event received");
    expect(output).toContain("GitHub request: GET http://");
    expect(output).toMatch(
      /"encrypted_value":"[^"]+","key_id":"[^"]+","msg":"GitHub request: PUT [^"]*\/environments\/production\/secrets\/PROD_DB_URL/u,
    );
    expect(output).toContain('"body":"**Access granted.**');
  });

  it("in no line of the app's output", () => {
    const lines = world.app.output().split("\n");
    expect(lines.flatMap((line, i) => formsIn(`output line ${i + 1}`, line))).toEqual([]);
  });

  it("in no comment and no check run (title, summary, text, annotations)", () => {
    const found: string[] = [];
    for (const pr of pulls) {
      for (const comment of world.sim.comments(REPO, pr)) found.push(...formsIn(`comment ${comment.id}`, comment.body));
    }
    const runs = world.sim.checkRuns(REPO);
    expect(runs.length).toBeGreaterThanOrEqual(pulls.length);
    for (const run of runs) found.push(...formsIn(`check run ${run.id}`, JSON.stringify(run.output)));
    expect(found).toEqual([]);
  });

  it("in no API path or query the app sent", () => {
    expect(world.sim.requests.flatMap((request, i) => formsIn(`request ${i}`, JSON.stringify(request)))).toEqual([]);
  });

  it("in no ledger row, read after the app stopped", () => {
    const db = new Database(join(world.dataDir, "jit-access.db"), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(["grants", "audit"]));
      const audit = db.prepare("SELECT * FROM audit").all();
      expect(audit.length).toBeGreaterThanOrEqual(9);
      const found = tables.flatMap(({ name }) =>
        (db.prepare(`SELECT * FROM "${name}"`).all() as object[]).flatMap((row, i) => formsIn(`${name} row ${i}`, JSON.stringify(row))),
      );
      expect(found).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("in none of the ledger's files, as raw bytes, while running and after stopping", () => {
    expect(filesWhileRunning.map(([name]) => name)).toContain("jit-access.db");
    const found = [...filesWhileRunning.map(([name, bytes]): [string, Buffer] => [`${name} (running)`, bytes]), ...ledgerFiles()].flatMap(
      ([name, bytes]) => formsIn(name, bytes),
    );
    expect(found).toEqual([]);
  });

  it("in nothing the CLI prints or writes from the ledger, the access review included", () => {
    const cli = join(APP_ENTRY, "..", "cli.js");
    expect(existsSync(cli)).toBe(true);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: `sqlite:${join(world.dataDir, "jit-access.db")}` };
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const review = join(world.dataDir, "access-review.html");
    const outputs = [
      ["audit"],
      ["grants", "--all", "--json"],
      ["report", "--since", since, "--format", "json"],
      ["report", "--since", since, "--out", review],
    ].map((args) => execFileSync(process.execPath, [cli, ...args], { env, encoding: "utf8" }));
    expect(outputs[0]).toContain('"action":"granted"');
    // The review covers the three grants: one expired, one refused, one revoked by the close.
    expect((JSON.parse(outputs[2]!) as { grants: Array<{ ending: string }> }).grants.map((grant) => grant.ending).sort()).toEqual([
      "closed",
      "expired",
      "failed",
    ]);
    const page = readFileSync(review, "utf8");
    expect(page.match(/<a class="bar /gu)).toHaveLength(2);
    expect([...outputs, page].flatMap((text, i) => formsIn(`CLI output ${i + 1}`, text))).toEqual([]);
  });
});
