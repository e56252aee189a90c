import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAppProcess, type AppProcess } from "../../sim/app-process.js";
import { startSimulator, type Delivery, type GitHubSimulator, type RecordedRequest } from "../../sim/index.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { AuditEvent, Grant } from "../../src/ledger/store.js";
import { adminQuery, describePostgres, DROP_TIMEOUT_MS, dropTestSchemas, freshSchema } from "../helpers/postgres.js";
import { SECRET_VALUES } from "./helpers/catalog.js";
import { ensureAppBuilt } from "./helpers/ensure-app-built.js";
import { WORLD_START_TIMEOUT_MS } from "./helpers/e2e-world.js";
import { secretRequests } from "./helpers/read-backs.js";
import { REQUESTS_FILE, requestsYaml } from "./helpers/requests-yaml.js";

/**
 * Several replicas of the app (`node dist/main.js`) on one PostgreSQL ledger, the simulator as
 * GitHub, deliveries spread over the replicas in turn and every third one posted to two of them
 * at once. What must hold across processes: each approval granted once, each grant ended once,
 * no secret left after its grant, the installation's writes paced a second apart whichever
 * replica made them, each revocation attempted by one replica only, the claims of a replica that
 * dies mid-sweep taken over by another, once, at the lease's end, and the grants of a replica
 * that dies before their expiry ended by another's sweep.
 * A replica SIGKILLed after answering 202 to an approval it had not processed: another replica
 * processes the inbox entry once its lease ends, and the approval is granted once. A replica
 * SIGKILLed mid-grant, its PUT landing after it died: a live replica completes the grant once or
 * ends it with its secret deleted, long before its expiry.
 * Correctness bounds, not performance measurements (those are in bench/).
 */

const OWNERS = ["acme", "globex"] as const;
const SECRET = "PROD_DB_URL";
/**
 * The sweep's claim lease (JIT_CLAIM_LEASE) in the crash test: short, so a dead replica's claims
 * free soon, yet longer than a revocation takes here, so a live replica never loses its own.
 */
const LEASE_MS = 8_000;
/**
 * The inbox's claim lease (JIT_INBOX_LEASE) in the crash tests: a dead replica's delivery is
 * processed again soon, yet a live replica processes one of these deliveries well within it.
 */
const INBOX_LEASE_MS = 5_000;
const LEASES = { JIT_CLAIM_LEASE: `${LEASE_MS / 1000}s`, JIT_INBOX_LEASE: `${INBOX_LEASE_MS / 1000}s` };
const REDELIVERY_ROUTE = "POST /app/hook/deliveries/{delivery_id}/attempts";
/**
 * Arrival times in the simulator's request log may differ from send times by the transit of one
 * request on this machine: two writes the app sent exactly 1 s apart may arrive a few ms closer.
 */
const TRANSIT_JITTER_MS = 30;
const SWEEP_INTERVAL_MS = 1_000;
/** Room for the writes queued before a DELETE in one installation, a second apart. */
const PACING_SLACK_MS = 5_000;
/** How a grant's end is audited, whichever way it ends. */
const END_ACTIONS = new Set(["expired", "revoked", "failed"]);
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const catalog = `secrets:
  ${SECRET}:
    source: env:${SECRET}
    repositories: ["acme/*", "globex/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 1h
`;

interface Cluster {
  sim: GitHubSimulator;
  databaseUrl: string;
  schema: string;
  replicas: AppProcess[];
  /** Every process started, including those stopped since, for the leak check. */
  everyProcess: AppProcess[];
  pulls: { repo: string; number: number }[];
  start(count: number, env?: Record<string, string>): Promise<AppProcess[]>;
  /** Sends deliveries to the running replicas in turn, every `twiceEvery`-th to two at once. */
  spread(twiceEvery: number): void;
}

let cluster: Cluster | undefined;
const dataDirs: string[] = [];

async function startCluster(): Promise<Cluster> {
  const { schema, url } = await freshSchema();
  const sim = await startSimulator({ port: 0 });
  const c: Cluster = {
    sim,
    databaseUrl: url,
    schema,
    replicas: [],
    everyProcess: [],
    pulls: [],
    start: async (count, env = {}) => {
      // One after another: each start points the simulator's webhook URL at itself; `spread` fixes that.
      const started: AppProcess[] = [];
      for (let i = 0; i < count; i++) {
        const dataDir = mkdtempSync(join(tmpdir(), "jit-access-replica-"));
        dataDirs.push(dataDir);
        const replica = await startAppProcess(sim, {
          catalog,
          dataDir,
          sweepInterval: `${SWEEP_INTERVAL_MS / 1000}s`,
          logLevel: "debug",
          env: { [SECRET]: SECRET_VALUES.PROD_DB_URL, DATABASE_URL: url, ...env },
        });
        started.push(replica);
        c.replicas.push(replica);
        c.everyProcess.push(replica);
      }
      return started;
    },
    spread: (twiceEvery) =>
      sim.setWebhookUrls(
        c.replicas.map((replica) => `${replica.url}/api/github/webhooks`),
        { twiceEvery },
      ),
  };
  cluster = c;
  return c;
}

function createRepo(c: Cluster, repo: string): void {
  for (const login of ["alice", "bob"]) c.sim.addUser(login);
  c.sim.createRepo(repo, {
    defaultBranch: "main",
    collaborators: { alice: "write", bob: "write" },
    environments: ["production"],
    files: { ".github/CODEOWNERS": `${REQUESTS_FILE} @bob\n`, [REQUESTS_FILE]: "requests: []\n" },
  });
}

async function openRequest(c: Cluster, repo: string, duration: string): Promise<number> {
  c.sim.commit(repo, "need-db", { [REQUESTS_FILE]: requestsYaml([{ secret: SECRET, duration }]) }, { from: "main", author: "alice" });
  const number = await c.sim.openPullRequest(repo, { head: "need-db", base: "main", author: "alice", title: "Need the database" });
  c.pulls.push({ repo, number });
  return number;
}

async function withLedger<T>(c: Cluster, read: (store: Awaited<ReturnType<typeof openLedger>>) => Promise<T>): Promise<T> {
  const store = await openLedger(c.databaseUrl);
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

async function grantsOf(c: Cluster, repo: string): Promise<Grant[]> {
  const [owner, name] = repo.split("/") as [string, string];
  return withLedger(c, (store) => store.listGrants({ owner, repo: name, liveOnly: false }));
}

async function auditOf(c: Cluster): Promise<AuditEvent[]> {
  return withLedger(c, (store) => store.listAudit());
}

const repos = (c: Cluster): string[] => [...new Set(c.pulls.map((pull) => pull.repo))];

/** Every approval granted once, every grant ended once (expired), every secret gone, no write twice. */
async function expectEachGrantedAndEndedOnce(c: Cluster): Promise<void> {
  const audit = await auditOf(c);
  for (const repo of repos(c)) {
    const grants = await grantsOf(c, repo);
    expect({ repo, grants: grants.map((g) => ({ state: g.state, endReason: g.endReason })) }).toEqual({
      repo,
      grants: [{ state: "expired", endReason: "expired" }],
    });
    const id = grants[0]!.id;
    const actions = audit.filter((event) => event.grantId === id).map((event) => event.action);
    expect({
      repo,
      granted: actions.filter((a) => a === "granted").length,
      expired: actions.filter((a) => a === "expired").length,
    }).toEqual({ repo, granted: 1, expired: 1 });
    expect({ repo, puts: secretRequests(c.sim, repo, "PUT", SECRET).map((r) => r.status) }).toEqual({ repo, puts: [expect.any(Number)] });
    const deletes = secretRequests(c.sim, repo, "DELETE", SECRET).filter((r) => r.faultId === null);
    expect({ repo, deletes: deletes.map((r) => r.status) }).toEqual({ repo, deletes: [204] });
    expect({ repo, secrets: c.sim.secretNames(repo, "production") }).toEqual({ repo, secrets: [] });
    expect(deletes[0]!.atMs).toBeGreaterThanOrEqual(grants[0]!.expiresAt.getTime());
  }
}

/** The smallest gap between two writes of one installation, over every installation, from the simulator's log. */
function closestWrites(sim: GitHubSimulator): { installationId: number; gapMs: number; first: string; second: string } | null {
  const byInstallation = new Map<number, RecordedRequest[]>();
  for (const request of sim.requests) {
    if (!WRITE_METHODS.has(request.method) || request.installationId === null) continue;
    byInstallation.set(request.installationId, [...(byInstallation.get(request.installationId) ?? []), request]);
  }
  let closest: { installationId: number; gapMs: number; first: string; second: string } | null = null;
  for (const [installationId, writes] of byInstallation) {
    const sorted = [...writes].sort((a, b) => a.atMs - b.atMs);
    for (let i = 1; i < sorted.length; i++) {
      const gapMs = sorted[i]!.atMs - sorted[i - 1]!.atMs;
      if (closest === null || gapMs < closest.gapMs) {
        closest = { installationId, gapMs, first: sorted[i - 1]!.route ?? "", second: sorted[i]!.route ?? "" };
      }
    }
  }
  return closest;
}

function expectPacedAcrossReplicas(sim: GitHubSimulator): void {
  const closest = closestWrites(sim);
  expect(closest).not.toBeNull();
  expect(closest!.gapMs).toBeGreaterThanOrEqual(1000 - TRANSIT_JITTER_MS);
}

/** The delivery ids a replica logged as received (the "event received" line, at debug level). */
function receivedDeliveries(replica: AppProcess): Set<string> {
  const ids = new Set<string>();
  for (const line of replica.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; delivery?: string };
      // Each delivery a replica took is answered once, and the answer is logged with its id.
      if (/^webhook \S+ answered \d+$/.test(entry.msg ?? "") && typeof entry.delivery === "string") ids.add(entry.delivery);
    } catch {
      // not a log line
    }
  }
  return ids;
}

/** Resolves once the inbox holds no delivery still to process (every one recorded so far is done). */
async function inboxDrained(c: Cluster): Promise<void> {
  await c.sim.waitFor(async () => (await withLedger(c, (store) => store.countDeliveries())).pending === 0, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: "every delivery so far processed",
  });
}

/** The replicas still running after `dead` was stopped; deliveries go to them from now on. */
function drop(c: Cluster, dead: AppProcess): void {
  c.replicas.splice(c.replicas.indexOf(dead), 1);
}

/**
 * The approval goes to `replica` alone and is answered 202 there: the simulator's record of that
 * delivery (its last attempt's status and how many attempts).
 */
async function approveThrough(c: Cluster, replica: AppProcess, repo: string, number: number): Promise<Delivery> {
  c.sim.setWebhookUrl(`${replica.url}/api/github/webhooks`);
  const before = c.sim.deliveries.length;
  await c.sim.submitReview(repo, number, { reviewer: "bob", state: "APPROVED" });
  const sent = c.sim.deliveries.slice(before).filter((delivery) => delivery.event === "pull_request_review");
  expect(sent.map((delivery) => ({ status: delivery.status, attempts: delivery.attempts }))).toEqual([{ status: 202, attempts: 1 }]);
  return sent[0]!;
}

/**
 * The approval's delivery reached the app once and was never asked for again: no redelivery
 * requested by any replica (each read its delivery log at start-up, the replacement after the
 * crash too), its inbox entry processed, claimed twice (by the replica that died and by the one
 * that processed it).
 */
async function expectProcessedOnceAfterCrash(c: Cluster, approval: Delivery, crashedAtMs: number): Promise<void> {
  expect(c.sim.requests.filter((r) => r.route === "GET /app/hook/deliveries" && r.atMs > crashedAtMs).length).toBeGreaterThan(0);
  expect(c.sim.requests.filter((r) => r.route === REDELIVERY_ROUTE).map((r) => r.path)).toEqual([]);
  expect(c.sim.deliveries.filter((delivery) => delivery.id === approval.id).map((delivery) => delivery.attempts)).toEqual([1]);
  const entry = await withLedger(c, (store) => store.getDelivery(approval.id));
  expect({ state: entry?.state, attempts: entry?.attempts, claimedBy: entry?.claimedBy }).toEqual({
    state: "done",
    attempts: 2,
    claimedBy: null,
  });
}

/** A replica's JSON log lines. */
function logLines(replica: AppProcess): { msg?: string; grant?: string }[] {
  const lines: { msg?: string; grant?: string }[] = [];
  for (const line of replica.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as { msg?: string; grant?: string });
    } catch {
      // not a log line
    }
  }
  return lines;
}

/**
 * Each grant's revocation was attempted by one replica: one of them logged its end, and none
 * reached a grant another had ended already (after waiting for the secret's lock), which is what
 * a second attempt comes to. Returns, per grant, the index of the replica that ended it.
 */
function expectEachRevocationAttemptedOnce(c: Cluster, grantIds: string[]): number[] {
  const lines = c.everyProcess.map(logLines);
  const wasted = lines.flatMap((entries, i) =>
    entries.filter((entry) => entry.msg?.startsWith("the grant had already ended")).map((entry) => ({ replica: i, grant: entry.grant })),
  );
  expect(wasted).toEqual([]);
  return grantIds.map((id) => {
    const enders = lines.flatMap((entries, i) => (entries.some((entry) => entry.grant === id && entry.msg === "grant expired") ? [i] : []));
    expect({ grant: id, enders: enders.length }).toEqual({ grant: id, enders: 1 });
    return enders[0]!;
  });
}

function expectNoSecretShown(c: Cluster): void {
  const places = [
    ...c.everyProcess.map((replica, i) => ({ where: `output of replica ${i + 1}`, text: replica.output() })),
    ...c.pulls.flatMap(({ repo, number }) =>
      c.sim.comments(repo, number).map((comment) => ({ where: `comment on ${repo}#${number}`, text: comment.body })),
    ),
  ];
  expect(places.filter(({ text }) => text.includes(SECRET_VALUES.PROD_DB_URL)).map(({ where }) => where)).toEqual([]);
}

describePostgres("three replicas on one PostgreSQL ledger", () => {
  beforeAll(() => ensureAppBuilt(), WORLD_START_TIMEOUT_MS);
  afterEach(async () => {
    if (cluster) {
      await Promise.all(cluster.replicas.map((replica) => replica.stop("SIGTERM")));
      await cluster.sim.close();
      cluster = undefined;
    }
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(dropTestSchemas, DROP_TIMEOUT_MS);

  it("grant each approval once and end each grant once, with writes paced across replicas, while deliveries are spread and duplicated", async () => {
    const c = await startCluster();
    await c.start(3);
    c.spread(3);
    const sim = c.sim;
    const pulls: { repo: string; number: number }[] = [];
    for (const owner of OWNERS) {
      for (const name of ["api", "billing"]) {
        const repo = `${owner}/${name}`;
        createRepo(c, repo);
        pulls.push({ repo, number: await openRequest(c, repo, "12s") });
      }
    }
    // The approvals together, as reviewers would: spread over the replicas, some to two at once.
    await Promise.all(pulls.map(({ repo, number }) => sim.submitReview(repo, number, { reviewer: "bob", state: "APPROVED" })));
    expect(sim.deliveries.every((delivery) => delivery.status !== null && delivery.status < 300)).toBe(true);
    // Every replica received deliveries, and some reached two replicas at once. A replica logs
    // its answer after sending it: its lines are read once they are all written.
    const seenBy = () => {
      const received = c.replicas.map(receivedDeliveries);
      const twice = sim.deliveries.filter((delivery) => received.filter((ids) => ids.has(delivery.id)).length === 2);
      return { received, twice };
    };
    await sim
      .waitFor(() => seenBy().received.every((ids) => ids.size > 0) && seenBy().twice.length >= 2, {
        timeoutMs: 10_000,
        intervalMs: 100,
        description: "the replicas' logs to show the deliveries each answered",
      })
      .catch(() => undefined); // the expectations below say what is missing
    const { received, twice } = seenBy();
    expect(received.map((ids) => ids.size > 0)).toEqual([true, true, true]);
    expect(twice.length).toBeGreaterThanOrEqual(2);
    expect(twice.map((delivery) => delivery.event)).toContain("pull_request_review");

    await sim.waitFor(
      async () => (await Promise.all(pulls.map(async ({ repo }) => (await grantsOf(c, repo))[0]?.endedAt))).every(Boolean),
      {
        timeoutMs: 75_000,
        intervalMs: 500,
        description: "every grant to end",
      },
    );
    await sim.waitFor(() => pulls.every(({ repo, number }) => sim.labels(repo, number).includes("jit:expired")), {
      timeoutMs: 20_000,
      description: "every pull request told of the expiry",
    });

    await expectEachGrantedAndEndedOnce(c);
    for (const { repo, number } of pulls) {
      expect(sim.comments(repo, number).filter((comment) => comment.body.startsWith("**Access expired:**"))).toHaveLength(1);
    }
    // Each replica arms exact timers for the grants it wrote only, and a timer claims its grant:
    // no replica waited on another's revocation to find the grant ended.
    const grantIds = await Promise.all(pulls.map(async ({ repo }) => (await grantsOf(c, repo))[0]!.id));
    expectEachRevocationAttemptedOnce(c, grantIds);
    expectPacedAcrossReplicas(sim);
    expect(sim.violations).toEqual([]);
    expectNoSecretShown(c);
  }, 150_000);

  it("a replica SIGKILLed mid-sweep: another replica ends the grants it had claimed, once, at the end of its lease", async () => {
    const c = await startCluster();
    const sim = c.sim;
    const lease = { JIT_CLAIM_LEASE: `${LEASE_MS / 1000}s` };
    // A rollout: the old replica grants, then stops gracefully, leaving the grants to the sweeps of the new ones.
    const [old] = await c.start(1, lease);
    const { pulls, states } = await grantInEveryOwner(c);
    expect(await old!.stop("SIGTERM")).toBe(0);
    c.replicas.splice(c.replicas.indexOf(old!), 1);
    const lastExpiry = Math.max(...(await states()).map((grant) => grant!.expiresAt.getTime()));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastExpiry - Date.now() + 200)));

    // Every DELETE hangs unanswered, without effect: the next replica up claims the due grants
    // at start (one page, all of them) and is stuck revoking them.
    const stuck = sim.faults.add({ method: "DELETE", path: /\/environments\/production\/secrets\/PROD_DB_URL$/, hang: true });
    const [doomed] = await c.start(1, lease);
    await sim.waitFor(() => sim.faults.fired(stuck) >= 1, { timeoutMs: 20_000, description: "a DELETE in flight" });
    const claims = await adminQuery<{ claim_owner: string | null; claim_expires_at: string | null }>(
      c.schema,
      "SELECT claim_owner, claim_expires_at FROM grants",
    );
    // A claim owner is host:pid:random.
    expect(claims.map((claim) => claim.claim_owner?.split(":")[1])).toEqual(pulls.map(() => String(doomed!.pid)));
    const leaseEnds = Math.max(...claims.map((claim) => Number(claim.claim_expires_at)));

    // It dies mid-sweep; GitHub answers again; two more replicas come up while its claims still hold.
    expect(await doomed!.stop("SIGKILL")).toBeNull();
    c.replicas.splice(c.replicas.indexOf(doomed!), 1);
    sim.faults.remove(stuck);
    for (const { repo } of pulls) expect(sim.secretNames(repo, "production")).toEqual([SECRET]);
    await c.start(2, lease);
    const upAt = Date.now();

    await sim.waitFor(async () => (await states()).every((grant) => grant?.endedAt), {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: "every grant to end after the crash",
    });
    await expectEachGrantedAndEndedOnce(c);
    // Ended by a live replica's sweep once the lease has ended (no replica arms a timer for a
    // grant it found in the ledger, nor revokes one another process holds), no later than the
    // lease's end plus two sweeps and the pacing of the installation's writes.
    for (const { repo } of pulls) {
      const [deleted] = secretRequests(sim, repo, "DELETE", SECRET).filter((r) => r.status === 204);
      expect(deleted!.atMs).toBeGreaterThanOrEqual(leaseEnds);
      expect(deleted!.atMs).toBeLessThanOrEqual(Math.max(leaseEnds, upAt) + 2 * SWEEP_INTERVAL_MS + PACING_SLACK_MS);
    }
    expectPacedAcrossReplicas(sim);
    expect(sim.violations).toEqual([]);
    expectNoSecretShown(c);
  }, 150_000);
  it("a replica SIGKILLed after answering 202 to an approval it had not processed: another replica processes it once its inbox lease ends, granting once", async () => {
    const c = await startCluster();
    const sim = c.sim;
    const [doomed] = await c.start(3, LEASES);
    c.spread(3);
    const repo = "acme/service";
    createRepo(c, repo);
    const number = await openRequest(c, repo, "20s");
    await inboxDrained(c);

    // The approval reaches one replica, which records it and answers 202; processing it, that
    // replica reads the reviews, and GitHub never answers that read.
    const stuck = sim.faults.add({ method: "GET", path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", hang: true, times: 1 });
    const approval = await approveThrough(c, doomed!, repo, number);
    await sim.waitFor(() => sim.faults.fired(stuck) >= 1, { timeoutMs: 20_000, description: "the reviews read in flight" });
    const entry = await withLedger(c, (store) => store.getDelivery(approval.id));
    // A claim owner is host:pid:random.
    expect({ state: entry?.state, owner: entry?.claimedBy?.split(":")[1] }).toEqual({ state: "pending", owner: String(doomed!.pid) });

    // It dies with the delivery acknowledged and not processed; nothing was written for it.
    expect(await doomed!.stop("SIGKILL")).toBeNull();
    const crashedAtMs = Date.now();
    drop(c, doomed!);
    expect(await grantsOf(c, repo)).toEqual([]);
    // A replacement comes up (its start-up catch-up reads the delivery log); deliveries go to the live replicas.
    await c.start(1, LEASES);
    c.spread(3);

    await sim.waitFor(async () => (await grantsOf(c, repo))[0]?.state === "active", {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: "the approval granted by a live replica",
    });
    await sim.waitFor(async () => (await grantsOf(c, repo))[0]?.endedAt, {
      timeoutMs: 45_000,
      intervalMs: 250,
      description: "the grant to end",
    });
    await sim.waitFor(() => sim.labels(repo, number).includes("jit:expired"), { timeoutMs: 20_000, description: "the expiry told" });
    await inboxDrained(c);
    await expectProcessedOnceAfterCrash(c, approval, crashedAtMs);
    await expectEachGrantedAndEndedOnce(c);
    expect(sim.comments(repo, number).filter((comment) => comment.body.startsWith("**Access granted"))).toHaveLength(1);
    expectPacedAcrossReplicas(sim);
    expect(sim.violations).toEqual([]);
    expectNoSecretShown(c);
  }, 150_000);

  it("a replica SIGKILLed with exact timers armed for the grants it wrote: another replica's sweep ends them, once, within a sweep of their expiry", async () => {
    const c = await startCluster();
    const sim = c.sim;
    // Two replicas up first; the one started last receives every delivery, so it writes every
    // grant. Its sweep interval is a minute: each grant, due within it, has its exact timer at once.
    const survivors = await c.start(2);
    const [writer] = await c.start(1, { JIT_SWEEP_INTERVAL: "60s" });
    const { pulls, states } = await grantInEveryOwner(c);
    const grants = (await states()).map((grant) => grant!);
    expect(grants.every((grant) => grant.expiresAt.getTime() > Date.now())).toBe(true);

    // It dies with its timers armed (the grants are due within its next sweep); it had claimed none.
    expect(await writer!.stop("SIGKILL")).toBeNull();
    c.replicas.splice(c.replicas.indexOf(writer!), 1);
    const claims = await adminQuery<{ claim_owner: string | null }>(c.schema, "SELECT claim_owner FROM grants");
    expect(claims.map((claim) => claim.claim_owner)).toEqual(pulls.map(() => null));

    await sim.waitFor(async () => (await states()).every((grant) => grant?.endedAt), {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: "every grant to end after the writer died",
    });
    await expectEachGrantedAndEndedOnce(c);
    // A survivor's sweep ended each, after its expiry and within two sweeps of it plus the pacing.
    for (const [i, { repo }] of pulls.entries()) {
      const [deleted] = secretRequests(sim, repo, "DELETE", SECRET).filter((r) => r.status === 204);
      expect(deleted!.atMs).toBeGreaterThanOrEqual(grants[i]!.expiresAt.getTime());
      expect(deleted!.atMs).toBeLessThanOrEqual(grants[i]!.expiresAt.getTime() + 2 * SWEEP_INTERVAL_MS + PACING_SLACK_MS);
    }
    const enders = expectEachRevocationAttemptedOnce(
      c,
      grants.map((grant) => grant.id),
    );
    expect(enders.map((i) => survivors.includes(c.everyProcess[i]!))).toEqual(pulls.map(() => true));
    expectPacedAcrossReplicas(sim);
    expect(sim.violations).toEqual([]);
    expectNoSecretShown(c);
  }, 150_000);

  it("a replica SIGKILLed mid-grant, its PUT landing after it died: a live replica completes the grant once or ends it with its secret deleted, before its expiry", async () => {
    const c = await startCluster();
    const sim = c.sim;
    const [doomed] = await c.start(3, LEASES);
    c.spread(3);
    const repo = "acme/service";
    createRepo(c, repo);
    const number = await openRequest(c, repo, "45s");
    await inboxDrained(c);

    // The replica that takes the approval records the grant's row and sends the PUT; GitHub holds
    // the PUT until the replica is dead, then writes the secret: the answer reaches no one.
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = sim.faults.add({ method: "PUT", path: /\/environments\/production\/secrets\/PROD_DB_URL$/, until: released, times: 1 });
    const approval = await approveThrough(c, doomed!, repo, number);
    await sim.waitFor(() => sim.faults.fired(held) >= 1, { timeoutMs: 20_000, description: "the PUT in flight" });
    const [interrupted] = await grantsOf(c, repo);
    expect(interrupted?.state).toBe("granting");

    expect(await doomed!.stop("SIGKILL")).toBeNull();
    const crashedAtMs = Date.now();
    drop(c, doomed!);
    release();
    await sim.waitFor(() => secretRequests(sim, repo, "PUT", SECRET).length === 1, {
      timeoutMs: 10_000,
      description: "the held PUT answered",
    });
    expect(secretRequests(sim, repo, "PUT", SECRET).map((r) => r.status)).toEqual([201]);
    expect(sim.secretNames(repo, "production")).toEqual([SECRET]);
    // A replacement comes up (its start-up passes run); deliveries go to the live replicas.
    await c.start(1, LEASES);
    c.spread(3);

    // Completed (active) or ended, well before the expiry: never left granting until then.
    const settled = await sim.waitFor(
      async () => {
        const [grant] = await grantsOf(c, repo);
        return grant !== undefined && grant.state !== "granting" ? grant : null;
      },
      {
        timeoutMs: interrupted!.expiresAt.getTime() - Date.now() - 5_000,
        intervalMs: 250,
        description: "the interrupted grant completed or ended before its expiry",
      },
    );
    if (settled.state === "active") {
      await sim.waitFor(async () => (await grantsOf(c, repo))[0]?.endedAt, {
        timeoutMs: 60_000,
        intervalMs: 250,
        description: "the completed grant to end",
      });
    } else {
      expect(settled.endedAt!.getTime()).toBeLessThan(settled.expiresAt.getTime());
    }
    await inboxDrained(c);

    const grants = await grantsOf(c, repo);
    expect(grants.map((grant) => grant.id)).toEqual([interrupted!.id]);
    const [grant] = grants;
    const actions = (await auditOf(c)).filter((event) => event.grantId === grant!.id).map((event) => event.action);
    const granted = actions.filter((action) => action === "granted").length;
    expect({
      granting: actions.filter((action) => action === "granting").length,
      granted,
      ended: actions.filter((action) => END_ACTIONS.has(action)).length,
    }).toEqual({ granting: 1, granted: settled.state === "active" ? 1 : 0, ended: 1 });
    // Whatever the live replicas did, at most one more PUT, none after the end; the secret
    // deleted once, no earlier than the end was decided for a completed grant, and gone now.
    const puts = secretRequests(sim, repo, "PUT", SECRET);
    expect(puts.filter((r) => r.atMs > crashedAtMs).length).toBeLessThanOrEqual(1);
    expect(puts.filter((r) => r.atMs > grant!.endedAt!.getTime())).toEqual([]);
    const deletes = secretRequests(sim, repo, "DELETE", SECRET).filter((r) => r.status === 204);
    expect(deletes).toHaveLength(1);
    if (granted === 1) expect(deletes[0]!.atMs).toBeGreaterThanOrEqual(grant!.expiresAt.getTime());
    expect(sim.secretNames(repo, "production")).toEqual([]);
    await expectProcessedOnceAfterCrash(c, approval, crashedAtMs);
    expectPacedAcrossReplicas(sim);
    expect(sim.violations).toEqual([]);
    expectNoSecretShown(c);
  }, 180_000);
});

/**
 * Opens a 15 s request in `<owner>/service` for every owner, has bob approve each, and waits
 * until every grant is active; `states()` reads each repository's grant again.
 */
async function grantInEveryOwner(
  c: Cluster,
): Promise<{ pulls: { repo: string; number: number }[]; states: () => Promise<(Grant | undefined)[]> }> {
  const pulls: { repo: string; number: number }[] = [];
  for (const owner of OWNERS) {
    const repo = `${owner}/service`;
    createRepo(c, repo);
    pulls.push({ repo, number: await openRequest(c, repo, "15s") });
  }
  for (const { repo, number } of pulls) await c.sim.submitReview(repo, number, { reviewer: "bob", state: "APPROVED" });
  const states = async (): Promise<(Grant | undefined)[]> => Promise.all(pulls.map(async ({ repo }) => (await grantsOf(c, repo))[0]));
  await c.sim.waitFor(async () => (await states()).every((grant) => grant?.state === "active"), {
    timeoutMs: 30_000,
    intervalMs: 250,
    description: "every grant active",
  });
  return { pulls, states };
}
