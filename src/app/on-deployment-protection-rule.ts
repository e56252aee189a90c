import type { Context } from "probot";
import { runFromCallbackUrl } from "../gate/callback-url.js";
import { GATE_ACTOR, reviewWaitingJob, type GateDeps } from "../gate/review-waiting-job.js";
import { errorSummary } from "../util/error-message.js";

/**
 * A job waits in an environment where jit-access is the custom deployment protection rule:
 * answer it (see `gate/review-waiting-job.ts`). The run comes from the delivery's callback URL,
 * which must name the delivery's own repository; a delivery whose URL does not is refused
 * before any call to GitHub, and the refusal is audited.
 */
export function onDeploymentProtectionRule(deps: GateDeps) {
  return async (context: Context<"deployment_protection_rule.requested">): Promise<void> => {
    const { repository, installation, environment, deployment_callback_url: callbackUrl } = context.payload;
    const log = context.log.child({ repository: repository.full_name, environment, delivery: context.id });
    if (!installation) return;
    const run = runFromCallbackUrl(callbackUrl, { owner: repository.owner.login, name: repository.name });
    if (!run.ok || typeof environment !== "string" || environment === "") {
      const why = run.ok ? "the delivery names no environment" : run.why;
      log.warn({ why }, "gate: deployment_protection_rule delivery refused; nothing was called or answered");
      await deps.store.appendAudit({
        at: new Date(deps.clock.now()),
        action: "gate_refused",
        actor: GATE_ACTOR,
        owner: repository.owner.login,
        repo: repository.name,
        ...(typeof environment === "string" && environment !== "" ? { environment } : {}),
        details: { why, delivery: context.id },
      });
      return;
    }
    try {
      await reviewWaitingJob(
        deps,
        context.octokit,
        {
          installationId: installation.id,
          repository: { id: repository.id, owner: repository.owner.login, name: repository.name, defaultBranch: repository.default_branch },
          environment,
          runId: run.runId,
          trigger: `${context.name}.${context.payload.action}`,
          deliveryId: context.id,
        },
        log,
      );
    } catch (error) {
      // The job keeps waiting (GitHub waits up to 30 days); a redelivery or the next catch-up asks again.
      log.error({ run: run.runId, error: errorSummary(error) }, "gate: the job could not be answered now");
    }
  };
}
