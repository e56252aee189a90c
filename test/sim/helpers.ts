/** Shared set-up for the simulator's tests: a simulator and real Octokit clients for it. */
import { createSign } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { startSimulator, type GitHubSimulator, type SimulatorOptions } from "../../sim/index.js";

/** Octokit logs failed requests; the tests expect failures and assert on them instead. */
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A simulator that also checks its own responses against GitHub's description. */
export function startCheckedSimulator(options: SimulatorOptions = {}): Promise<GitHubSimulator> {
  return startSimulator({ checkResponses: true, ...options });
}

/** An Octokit authenticated as an installation, exactly as Probot builds one. */
export function installationOctokit(sim: GitHubSimulator, installationId: number): Octokit {
  return new Octokit({
    baseUrl: sim.apiUrl,
    log: quiet,
    authStrategy: createAppAuth,
    auth: { appId: sim.appId, privateKey: sim.privateKeyPem, installationId },
  });
}

/** An Octokit authenticated as the app (JWT). */
export function appOctokit(sim: GitHubSimulator): Octokit {
  return new Octokit({
    baseUrl: sim.apiUrl,
    log: quiet,
    authStrategy: createAppAuth,
    auth: { appId: sim.appId, privateKey: sim.privateKeyPem },
  });
}

/** An Octokit with a fixed credential (a hand-made JWT or token). */
export function tokenOctokit(sim: GitHubSimulator, token: string): Octokit {
  return new Octokit({ baseUrl: sim.apiUrl, log: quiet, auth: token });
}

/** An Octokit without credentials. */
export function anonymousOctokit(sim: GitHubSimulator): Octokit {
  return new Octokit({ baseUrl: sim.apiUrl, log: quiet });
}

/** Signs an RS256 JWT with arbitrary claims, for tests of rejected JWTs. */
export function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKeyPem).toString("base64url");
  return `${unsigned}.${signature}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The HTTP status of a rejected Octokit call (fails the test if the call succeeded). */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number") return status;
    throw error;
  }
  throw new Error("Expected the request to fail, but it succeeded.");
}
