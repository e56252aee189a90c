/**
 * Issue 19 §6: no source read happens while holding a lock that a revocation needs.
 *
 * The attack: a grant of PROD_DB_URL is live (alice's, or one that has leaked) and must end, by
 * its expiry or an operator's revoke. Meanwhile a second request for the same secret in the same
 * environment is approved, and its `file:` source sits on a file system that stops answering (a
 * hung network mount, or one someone made hang). If the grant read its value while holding the
 * secret's lock, the revocation, which takes the same lock, would wait for the read: the secret
 * would stay in the environment for as long as the file system hangs (up to the read's 5 s
 * limit per attempt, and every new request could start another).
 *
 * A hung mount holds each of Node's file-system worker threads that touches it. Here every
 * worker thread is held in the open of a FIFO nobody writes to, so the source's first file-system
 * call (resolving its path) cannot run until the test lets the threads go. Nothing is timed: the
 * revocation either finishes while the read is stalled, or it waits for the read.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import sodium from "libsodium-wrappers";
import { grantRequests, type GrantOutcome } from "../../src/grant/grant-requests.js";
import { RepoClient } from "../../src/github/repo-client.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import type { ValidRequest } from "../../src/request/validate-requests.js";
import { revokeGrant } from "../../src/revoke/revoke-grant.js";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock, type SecretBody } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const HOUR = 3_600_000;
const VALUE = "postgres://app:mounted-value@db.internal:5432/prod";

/** libuv's worker threads, as Node.js sizes the pool (UV_THREADPOOL_SIZE, 4 unless set; 1 to 1024). */
function workerThreads(): number {
  const size = Number(process.env["UV_THREADPOOL_SIZE"]);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/**
 * Holds every worker thread in the blocking open of a FIFO, as a hung mount holds the threads
 * that touch it: file-system calls made from now on wait until `release()`. Work already queued
 * ahead runs first, so the hold is in place for every call made after this returns.
 */
function hangFileSystem(dir: string): { release(): Promise<void> } {
  const fifos = Array.from({ length: workerThreads() }, (_, i) => join(dir, `hung-${i}`));
  for (const fifo of fifos) execFileSync("mkfifo", [fifo]);
  const held = fifos.map((fifo) => open(fifo, "r"));
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        // Opened read-write on the main thread: never blocks, and counts as the writer each open waits for.
        const writers = fifos.map((fifo) => openSync(fifo, "r+"));
        try {
          for (const handle of await Promise.all(held)) await handle.close();
        } finally {
          for (const fd of writers) closeSync(fd);
        }
      })()),
  };
}

let dir: string;
let store: LedgerStore;
let deps: LifecycleDeps;
let hung: { release(): Promise<void> } | undefined;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log } = recordingLog();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "jit-hung-source-"));
  await writeFile(join(dir, "prod-db-url"), `${VALUE}\n`);
  store = await openLedger("sqlite::memory:");
  ({ deps } = revocationDeps(store));
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  await hung?.release();
  hung = undefined;
  unmatched.stop();
  nock.cleanAll();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  nock.enableNetConnect();
});

/** mallory's approved request (PR #8) for PROD_DB_URL in production, whose source is a file. */
function approvedRequest(): ValidRequest {
  const catalog = parseCatalog(
    `secrets:
  PROD_DB_URL:
    source: file:${join(dir, "prod-db-url")}
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`,
    "jit-catalog.yml",
  );
  const secret = catalog.secrets.get("PROD_DB_URL")!;
  const reason = "INC-4300: check the replica lag";
  return {
    entry: { index: 0, secret: "PROD_DB_URL", environment: "production", duration: "1h", reason, breakGlass: false, line: 2, fields: {} },
    secret,
    environment: "production",
    durationMs: HOUR,
    reason,
    approvals: 1,
    boundToRequester: false,
    breakGlass: false,
  };
}

/** Starts granting PR #8's request; `settled` turns true once the grant path has returned. */
async function startGrant(): Promise<{ outcome: Promise<GrantOutcome[]>; settled: () => boolean }> {
  const client = new RepoClient(await deps.octokitFor(42), "acme", "api");
  let done = false;
  const outcome = grantRequests(
    deps,
    {
      installationId: 42,
      client,
      prNumber: 8,
      headSha: "c".repeat(40),
      repositoryId: 100_001,
      mergeBaseSha: "b".repeat(40),
      requestDigest: "d".repeat(64),
      requester: { id: 303, login: "mallory" },
      log,
    },
    [{ request: approvedRequest(), approvers: [{ id: 202, login: "bob", permission: "write", via: "@bob" }] }],
  ).finally(() => {
    done = true;
  });
  return { outcome, settled: () => done };
}

/** What alice's PR #7 hears when her grant ends, and the DELETE of the secret. */
function revocationCalls(): GitHubMock {
  const gh = new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL").comment(7).setLabels(7);
  return gh;
}

describe("a file: source that does not answer holds no lock a revocation needs", () => {
  it.each([
    {
      end: "an operator's revoke",
      state: "revoked",
      label: "jit:revoked",
      revoke: async (alice: Awaited<ReturnType<typeof seedGrant>>) => {
        const outcome = await revokeGrant(deps, { grant: alice, kind: "revoked", reason: "leaked in a log", actor: "operator:dana" }, log);
        expect(outcome).toMatchObject({ kind: "ended", deleted: true });
      },
    },
    {
      end: "the expiry sweep",
      state: "expired",
      label: "jit:expired",
      revoke: async () => {
        expect(await sweepOnce(deps, log)).toEqual({ due: 1, ended: 1, retrying: 0 });
      },
    },
  ])("$end ends a live grant of the secret while another grant's read of it hangs", async ({ state, label, revoke }) => {
    // alice's grant, due now (two hours from two hours ago); the operator's revoke ends it earlier anyway.
    const alice = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 2 * HOUR), prNumber: 7 });
    const gh = revocationCalls();

    hung = hangFileSystem(dir);
    const grant = await startGrant();

    await revoke(alice);

    // The revocation is done: the secret deleted, the grant ended, the PR told; the other grant's
    // read is still waiting on the file system, before it took the lock or wrote its ledger row.
    expect(await store.getGrant(alice.id)).toMatchObject({ state });
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [label] }]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(grant.settled()).toBe(false);
    expect((await store.listGrants({ liveOnly: false })).map((g) => g.prNumber)).toEqual([7]);

    // The file system answers again: the read finishes and the second grant writes its own value.
    await sodium.ready;
    const pair = sodium.crypto_box_keypair();
    const key = { keyId: "568250167242549743", key: sodium.to_base64(pair.publicKey, sodium.base64_variants.ORIGINAL) };
    const after = new GitHubMock("acme", "api")
      .pull({ number: 8, headSha: "c".repeat(40), author: { id: 303, login: "mallory" } })
      .secretMetadata("production", "PROD_DB_URL", null)
      .publicKey("production", key)
      .putSecret("production", "PROD_DB_URL")
      .secretMetadata("production", "PROD_DB_URL", "2026-03-01T10:00:01Z");
    await hung.release();
    const [outcome] = await grant.outcome;
    expect(outcome).toMatchObject({ kind: "granted", grant: { prNumber: 8, state: "active" } });
    const sealed = after.body<SecretBody>("/secrets/PROD_DB_URL").encrypted_value;
    const opened = sodium.crypto_box_seal_open(
      sodium.from_base64(sealed, sodium.base64_variants.ORIGINAL),
      pair.publicKey,
      pair.privateKey,
    );
    expect(sodium.to_string(opened)).toBe(VALUE);
    expect(unmatched.requests).toEqual([]);
  });
});
