import type { GitHubSimulator } from "../../sim/index.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { AUTHOR, APPROVER, ENVIRONMENT, type BenchPull } from "./fixtures.js";

const GRANT_DURATION_MS = 60 * 60_000;

/**
 * Writes one active grant per pull request straight into the ledger (as a grant would have
 * left it: `beginGrant`, then `markActive`), expiring at `expiresAt(i)`, and puts the secret
 * into the simulated environment so that its DELETE finds it.
 */
export async function seedGrants(
  sim: GitHubSimulator,
  store: LedgerStore,
  pulls: BenchPull[],
  expiresAt: (index: number) => number,
): Promise<Grant[]> {
  const grants: Grant[] = [];
  for (const [i, pull] of pulls.entries()) {
    const [owner, repo] = pull.repo.split("/") as [string, string];
    const expiry = expiresAt(i);
    const grantedAt = expiry - GRANT_DURATION_MS;
    const { grant } = await store.beginGrant({
      installationId: pull.installationId,
      owner,
      repo,
      environment: ENVIRONMENT,
      secret: pull.secret,
      requester: { id: 1, login: AUTHOR },
      prNumber: pull.number,
      headSha: "0".repeat(40),
      approvers: [{ id: 2, login: APPROVER }],
      reason: "INC-1: benchmark",
      durationMs: GRANT_DURATION_MS,
      requestKey: `bench/${pull.repo}#${pull.number}/${pull.secret}`,
      createdAt: new Date(grantedAt),
      expiresAt: new Date(expiry),
    });
    // Expiry counts from activation: an hour's grant activated an hour before `expiry`.
    grants.push(await store.markActive(grant.id, new Date(grantedAt)));
    sim.setSecret(pull.repo, ENVIRONMENT, pull.secret, "bench-only-value");
  }
  return grants;
}
