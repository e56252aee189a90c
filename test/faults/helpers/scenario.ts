import { afterEach, expect } from "@jest/globals";
import type { Grant } from "../../../src/ledger/store.js";
import { approve, createRequestRepo, openRequest } from "./request-prs.js";
import type { AppRequest, Ignore } from "./request-tracker.js";
import { startSimApp, VALUE, type SimApp, type SimAppOptions } from "./sim-app.js";

/** One repository, one installation, one request PR: the stage for most fault tests. */
export const REPO = "acme/api";
export const ENVIRONMENT = "production";
export const SECRET = "PROD_DB_URL";
export const INSTALLATION = 42;
export const SECRET_PATH = /\/environments\/production\/secrets\/PROD_DB_URL$/;
export const PUBLIC_KEY_PATH = /\/environments\/production\/secrets\/public-key$/;

export interface Stage {
  app: SimApp;
  pr: number;
}

const closed = new WeakSet<Stage>();

/**
 * Registers the afterEach every fault test runs: the simulator saw no breach of GitHub's rules,
 * and the test's stage (as `current` returns it) is closed, once.
 */
export function closeStageAfterEach(current: () => Stage | undefined): void {
  afterEach(async () => {
    const stage = current();
    if (!stage || closed.has(stage)) return;
    closed.add(stage);
    expect(stage.app.sim.violations).toEqual([]);
    await stage.app.close();
  });
}

/** Starts the app, creates the repository and opens a request PR (already validated, waiting). */
export async function stageRequest(options: SimAppOptions & { duration?: string } = {}): Promise<Stage> {
  const app = await startSimApp(options);
  createRequestRepo(app.sim, REPO, { installationId: INSTALLATION });
  const pr = await app.deliver(() => openRequest(app.sim, REPO, options.duration ?? "2h"));
  return { app, pr };
}

/** The code owner approves; the delivery is answered once the app has run its handlers. */
export function approveRequest({ app, pr }: Stage): Promise<number> {
  return app.deliver(() => approve(app.sim, REPO, pr));
}

/** Every grant in the ledger, whatever its state. */
export function allGrants(app: SimApp): Promise<Grant[]> {
  return app.store.listGrants({ liveOnly: false });
}

/** The one grant in the ledger, or undefined when there is none yet (more than one fails the test). */
export async function theGrant(app: SimApp): Promise<Grant | undefined> {
  const grants = await allGrants(app);
  expect(grants.length).toBeLessThanOrEqual(1);
  return grants[0];
}

export const isDeferred = (grant: Grant | undefined): boolean => grant?.state === "granting" && grant.nextAttemptAt !== null;

export function secretValue(app: SimApp): string | undefined {
  return app.sim.secretValue(REPO, ENVIRONMENT, SECRET);
}

export function commentBodies({ app, pr }: Stage): string[] {
  return app.sim.comments(REPO, pr).map((c) => c.body);
}

export function latestCheck({ app, pr }: Stage) {
  return app.sim.checkRuns(REPO, { headSha: app.sim.pullRequest(REPO, pr).headSha, name: "jit-access" }).at(-1);
}

/** The app's requests to a path (RegExp on the path after /api/v3), optionally one method. */
export function requestsTo(app: SimApp, path: RegExp, method?: string): AppRequest[] {
  return app.tracker.requests.filter((r) => path.test(decodeURIComponent(r.path)) && (method === undefined || r.method === method));
}

/** Leaves a request that a `hang` fault holds out of "settled": only the app's timeout ends it. */
export function hungAt(path: RegExp, method: string): Ignore {
  return (r) => r.method === method && path.test(decodeURIComponent(r.path)) && r.status === 0 && r.error === undefined;
}

/** Runs the app until the grant is active, its comment posted and labelled; returns the grant. */
export async function runUntilGranted(stage: Stage, options: { ignore?: Ignore } = {}): Promise<Grant> {
  const { app, pr } = stage;
  await app.runUntil(async () => (await theGrant(app))?.state === "active" && app.sim.labels(REPO, pr).includes("jit:granted"), {
    maxMs: 300_000,
    what: "the grant",
    ...options,
  });
  const grant = (await theGrant(app))!;
  expect(secretValue(app)).toBe(VALUE);
  return grant;
}

/** Nothing the app wrote to GitHub or logged holds the secret's value. */
export function expectNoValueLeaked(stage: Stage): void {
  const { app } = stage;
  const written = [...commentBodies(stage), ...app.sim.checkRuns(REPO).map((c) => JSON.stringify(c.output))].join("\n");
  expect(written).not.toContain(VALUE);
  expect(app.logs.join("\n")).not.toContain(VALUE);
}
