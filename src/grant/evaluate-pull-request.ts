import type { RepoClient } from "../github/repo-client.js";
import { applyDecision, type Evaluation } from "./apply-decision.js";
import { decidePullRequest } from "../approve/decide-pull-request.js";
import type { LifecycleDeps, Log } from "../app/deps.js";
import { gatherPullRequest, type GatherHint } from "../approve/gather-pull-request.js";

export type { Evaluation } from "./apply-decision.js";

export interface EvaluationContext {
  installationId: number;
  client: RepoClient;
  prNumber: number;
  log: Log;
  /** What woke us: "pull_request.opened", "pull_request_review.submitted", … (for the audit). */
  trigger: string;
  /** What the webhook said of the head, base and default branch: lets reads go out with the PR's re-read (checked against it). */
  hint?: GatherHint;
}

/**
 * The whole decision for one pull request, from fresh data: gather (every read) → decide (pure)
 * → apply (the writes). Every webhook for the PR runs this same path, so a redelivered or
 * out-of-order event converges to the same state and grants nothing twice.
 */
export async function evaluatePullRequest(deps: LifecycleDeps, ctx: EvaluationContext): Promise<Evaluation> {
  await deps.rateLimits?.beforeEvaluation(String(ctx.installationId));
  const lookups = deps.lookups && { cache: deps.lookups, installationId: ctx.installationId };
  const publicKeys = deps.publicKeys && { cache: deps.publicKeys, installationId: ctx.installationId };
  const facts = await gatherPullRequest(
    { client: ctx.client, store: deps.store, lookups, publicKeys },
    ctx.prNumber,
    deps.catalog,
    ctx.hint,
  );
  const decision = decidePullRequest(facts, {
    catalog: deps.catalog,
    now: deps.clock.now(),
    trigger: ctx.trigger,
    revokeOnly: deps.revokeOnly !== undefined,
  });
  return applyDecision(deps, facts.secretMetadata ? { ...ctx, secretMetadata: facts.secretMetadata } : ctx, decision);
}
