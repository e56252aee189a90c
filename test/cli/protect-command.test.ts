import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GitHubSimulator } from "../../sim/index.js";
import { runCli } from "../../src/cli/run-cli.js";
import { createAppOctokit } from "../../src/github/app-octokit.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { systemClock } from "../../src/util/clock.js";
import { startCheckedSimulator } from "../sim/helpers.js";

/**
 * `jit-access protect` against the simulator (every request checked against GitHub's REST
 * description): it enables the rule when the app has the Administration permission, says so
 * when the rule is there already, and otherwise changes nothing and prints the steps by hand.
 */
const CATALOG = `secrets:
  DEPLOY_KEY:
    source: env:DEPLOY_KEY
    repositories: ["acme/api"]
    environments: [production-jit]
    max_duration: 4h
    bind_to_requester: true
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
`;
const INSTALLATION = 42;
const PERMISSIONS = {
  actions: "read",
  checks: "write",
  contents: "read",
  deployments: "write",
  environments: "write",
  metadata: "read",
  pull_requests: "write",
  secrets: "write",
} as const;

let sim: GitHubSimulator;
let dir: string;
let env: NodeJS.ProcessEnv;
const Octokit = createAppOctokit(
  { scheduler: new WriteScheduler({ clock: systemClock, writeIntervalMs: 0, notifyIntervalMs: 0 }), clock: systemClock },
  { retry: false },
);

async function protect(...args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const result = { code: -1, stdout: [] as string[], stderr: [] as string[] };
  result.code = await runCli(["protect", ...args], {
    stdout: (line) => void result.stdout.push(line),
    stderr: (line) => void result.stderr.push(line),
    env,
    deps: { Octokit },
  });
  return result;
}
const ruleWrites = () =>
  sim.requests.filter((r) => r.route === "POST /repos/{owner}/{repo}/environments/{environment_name}/deployment_protection_rules");

beforeAll(async () => {
  sim = await startCheckedSimulator();
  sim.createRepo("acme/api", { installationId: INSTALLATION, environments: ["production-jit", "production", "release eu"] });
  sim.createRepo("other/tools", { installationId: null, environments: ["production"] });
  dir = await mkdtemp(join(tmpdir(), "jit-protect-"));
  await writeFile(join(dir, "jit-catalog.yml"), CATALOG);
  env = { ...sim.appEnv(), JIT_CATALOG: join(dir, "jit-catalog.yml"), DATABASE_URL: `sqlite:${join(dir, "ledger.db")}`, LOG_LEVEL: "warn" };
});
afterAll(async () => {
  expect(sim.violations).toEqual([]);
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => sim.setInstallationPermissions(INSTALLATION, { ...PERMISSIONS }));

describe("jit-access protect", () => {
  it("without the Administration permission: changes nothing, prints what a repository admin does by hand, exit 1", async () => {
    const result = await protect("acme/api", "production-jit");
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([
      'could not enable jit-access on "production-jit" in acme/api: the app may not change the environment\'s protection rules (that needs its Administration permission, write, which its manifest does not ask for).',
      "To enable it by hand, a repository admin:",
      '  - opens acme/api → Settings → Environments → "production-jit", ticks "jit-access" under Deployment protection rules, and saves; or',
      `  - runs: gh api --method POST repos/acme/api/environments/production-jit/deployment_protection_rules -F integration_id=${sim.appId}`,
    ]);
    expect(sim.protectionRules("acme/api", "production-jit")).toEqual([]);
  });

  it("with it: enables the rule, then says it is there already", async () => {
    sim.setInstallationPermissions(INSTALLATION, { ...PERMISSIONS, administration: "write" });
    const first = await protect("acme/api", "production-jit");
    expect(first.code).toBe(0);
    const [rule] = sim.protectionRules("acme/api", "production-jit");
    expect(rule).toMatchObject({ appId: sim.appId });
    expect(first.stdout).toEqual([
      `enabled jit-access (app ${sim.appId}) as a deployment protection rule of "production-jit" in acme/api (rule ${rule!.id})`,
    ]);
    expect(first.stderr).toEqual([]);

    const writes = ruleWrites().length;
    const again = await protect("acme/api", "production-jit");
    expect(again).toEqual({
      code: 0,
      stdout: ['jit-access is already a deployment protection rule of "production-jit" in acme/api'],
      stderr: [],
    });
    expect(ruleWrites()).toHaveLength(writes);
  });

  it("warns when the rule would reject every job: no secret bound there, or none granted there at all", async () => {
    sim.setInstallationPermissions(INSTALLATION, { ...PERMISSIONS, administration: "write" });
    const unbound = await protect("acme/api", "production");
    expect(unbound.code).toBe(0);
    expect(unbound.stderr).toEqual([
      'note: no catalog secret granted into "production" sets bind_to_requester: true; unless acme/api\'s .github/jit-access.yml does, the rule will reject every job there',
    ]);
    const none = await protect("acme/api", "release eu");
    expect(none.code).toBe(0);
    expect(none.stderr).toEqual([
      'note: no catalog secret may be granted into "release eu" in acme/api, so the rule will reject every job there',
    ]);
    expect(sim.requests.some((r) => r.path.includes("/environments/release%20eu/deployment_protection_rules"))).toBe(true);
  });

  it.each<[string, string[], RegExp]>([
    ["a repository the app is not installed on", ["other/tools", "production"], /^jit-access is not installed on other\/tools/u],
    ["an environment that does not exist", ["acme/api", "staging"], /^acme\/api has no environment "staging": create it first/u],
  ])("%s: exit 1 with the reason", async (_name, args, message) => {
    const writes = ruleWrites().length;
    const result = await protect(...args);
    expect(result.code).toBe(1);
    expect(result.stderr[0]).toMatch(message);
    expect(ruleWrites()).toHaveLength(writes);
  });

  it.each<[string[], string]>([
    [[], "give the repository and the environment"],
    [["acme/api"], "give the repository and the environment"],
    [["acme", "production"], '"acme" is not OWNER/REPO'],
    [["acme/api", "production", "extra"], 'unexpected argument "extra"'],
  ])("usage error for %j: exit 2", async (args, message) => {
    const result = await protect(...args);
    expect(result.code).toBe(2);
    expect(result.stderr[0]).toContain(message);
  });
});
