/**
 * The app as operators run it (`node dist/main.js`, built first when src/ is newer) against the
 * local GitHub simulator, with one catalog secret whose value is distinctive enough to search
 * for anywhere: acme/api has environment production and CODEOWNERS making @bob the owner of
 * jit-requests.yml; other/thing is installed but in no catalog secret's repositories.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAppProcess, type AppProcess } from "../../../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../../../sim/index.js";
import { ensureAppBuilt } from "../../e2e/helpers/ensure-app-built.js";

/** Long enough for a build of dist/ on a busy machine before the first test. */
export const HOSTILE_WORLD_START_MS = 180_000;

export const REPO = "acme/api";
export const OUTSIDE_REPO = "other/thing";

/** Found nowhere else: not in the catalog, the simulator, or any fixture. */
export const SECRET_VALUE = "jit-leak-canary::7f3a9c2e-Zq81-Never-Print-Me::d41d";

export const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`;

export interface HostileWorld {
  sim: GitHubSimulator;
  app: AppProcess;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHostileWorld(options: { logLevel: string; sweepInterval?: string }): Promise<HostileWorld> {
  await ensureAppBuilt();
  const sim = await startSimulator({ port: 0 });
  for (const login of ["alice", "bob", "mallory"]) sim.addUser(login);
  sim.createRepo(REPO, {
    collaborators: { alice: "write", bob: "write" },
    environments: ["production"],
    files: { ".github/CODEOWNERS": "jit-requests.yml @bob\n", "jit-requests.yml": "requests: []\n" },
  });
  sim.createRepo(OUTSIDE_REPO, {
    collaborators: { mallory: "admin" },
    environments: ["production"],
    files: { ".github/CODEOWNERS": "* @mallory\n", "jit-requests.yml": "requests: []\n" },
  });
  const dataDir = mkdtempSync(join(tmpdir(), "jit-access-hostile-"));
  let app: AppProcess;
  try {
    app = await startAppProcess(sim, {
      catalog: CATALOG,
      env: { PROD_DB_URL: SECRET_VALUE },
      dataDir,
      logLevel: options.logLevel,
      sweepInterval: options.sweepInterval ?? "1s",
    });
  } catch (error) {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    sim,
    app,
    dataDir,
    close: async () => {
      try {
        await app.stop("SIGTERM");
      } finally {
        await sim.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** A requests file asking for PROD_DB_URL in production for `duration`. */
export function requestFor(duration: string): string {
  return `requests:\n  - secret: PROD_DB_URL\n    environment: production\n    duration: ${duration}\n    reason: "INC-4211: inspect stuck migrations"\n`;
}
