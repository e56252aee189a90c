/**
 * `require_protected_environment: true`, through the simulator: the app in this process
 * (test/faults/helpers/sim-app.ts) reads the repository's environments from GitHub's API as it
 * does in production, and their protection from what GitHub lists (`protection_rules`,
 * `deployment_branch_policy`). An environment without any rule is refused at the entry's line,
 * even once a code owner approved; once its admin adds a rule, the same approval grants.
 */
import { describe, expect, it } from "@jest/globals";
import { countRoute, SECRET_PUT } from "../faults/helpers/request-prs.js";
import {
  approveRequest,
  closeStageAfterEach,
  ENVIRONMENT,
  latestCheck,
  REPO,
  runUntilGranted,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "../faults/helpers/scenario.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    require_protected_environment: true
`;

const UNPROTECTED =
  'PROD_DB_URL may only be granted into a protected environment, and "production" has no protection rule; add required reviewers, a wait timer or a deployment branch policy to it under Settings → Environments';

/** Delivers a webhook (the app's clock moving, so that its paced writes go out); resolves once the app answered it. */
async function delivered(current: Stage, send: () => Promise<unknown>): Promise<void> {
  let answered = false;
  void send().then(() => (answered = true));
  await current.app.runUntil(() => answered, { maxMs: 120_000, what: "the delivery to be handled" });
}

/** The failing check's annotations, as [the line they point at, message]. */
function annotatedLines(current: Stage): [string, string][] {
  const { app, pr } = current;
  const check = latestCheck(current)!;
  expect(check.conclusion).toBe("failure");
  const lines = app.sim.fileAt(REPO, app.sim.pullRequest(REPO, pr).headSha, "jit-requests.yml")!.split("\n");
  return check.output.annotations.map((a) => [lines[a.start_line - 1]!.trim(), a.message]);
}

describe("require_protected_environment, with the environment's protection as GitHub lists it", () => {
  it.each([
    ["a wait timer", { waitTimer: 10 }],
    ["a deployment branch policy (protected branches)", { branchPolicy: "protected_branches" as const }],
    ["a deployment branch policy (selected branches)", { branchPolicy: "custom_branch_policies" as const }],
  ])(
    "unprotected: refused at the entry's line, even approved; with %s added, the approval grants",
    async (_rule, rules) => {
      stage = await stageRequest({ catalog: CATALOG });
      const { app } = stage;
      expect(annotatedLines(stage)).toEqual([["environment: production", UNPROTECTED]]);

      // A code owner's approval does not make up for the missing protection.
      await approveRequest(stage);
      await app.settle();
      expect(annotatedLines(stage)).toEqual([["environment: production", UNPROTECTED]]);
      expect(await theGrant(app)).toBeUndefined();
      expect(countRoute(app.sim, SECRET_PUT)).toBe(0);
      expect(secretValue(app)).toBeUndefined();

      // The environment's admin adds a rule; the owner approves again.
      app.sim.protectEnvironment(REPO, ENVIRONMENT, rules);
      await approveRequest(stage);
      const grant = await runUntilGranted(stage);
      expect(grant).toMatchObject({ state: "active", environment: ENVIRONMENT, secret: "PROD_DB_URL" });
      expect(latestCheck(stage)).toMatchObject({ conclusion: "success" });
    },
    90_000,
  );

  it("a rule removed again: a new request is refused once more", async () => {
    stage = await stageRequest({ catalog: CATALOG });
    const { app, pr } = stage;
    app.sim.protectEnvironment(REPO, ENVIRONMENT, { waitTimer: 10 });
    await delivered(stage, () => approveRequest(stage!));
    await runUntilGranted(stage);

    app.sim.protectEnvironment(REPO, ENVIRONMENT, { waitTimer: null });
    // The requester asks for longer: the new head is judged against the environment as it is now.
    await delivered(stage, () =>
      app.deliver(() =>
        app.sim.pushToPullRequest(REPO, pr, {
          "jit-requests.yml": `requests:\n  - secret: PROD_DB_URL\n    environment: production\n    duration: 3h\n    reason: "INC-4200: inspect stuck migrations"\n`,
        }),
      ),
    );
    const headSha = app.sim.pullRequest(REPO, pr).headSha;
    await app.runUntil(() => latestCheck(stage!)?.headSha === headSha && latestCheck(stage!)?.status === "completed", {
      maxMs: 60_000,
      what: "the new head's check",
    });
    expect(annotatedLines(stage)).toEqual([["environment: production", UNPROTECTED]]);
  }, 90_000);
});
