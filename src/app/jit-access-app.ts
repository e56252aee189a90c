import type { ApplicationFunction } from "probot";
import { onDeploymentProtectionRule } from "./on-deployment-protection-rule.js";
import { onIssueComment } from "./on-issue-comment.js";
import { onPullRequestActivity } from "./on-pull-request-activity.js";
import { onPullRequestClosed } from "./on-pull-request-closed.js";
import type { LifecycleDeps } from "./deps.js";

/** The Probot app: wires webhook events to the lifecycle. No logic lives here. */
export function jitAccessApp(deps: LifecycleDeps): ApplicationFunction {
  return (app) => {
    app.on(
      [
        "pull_request.opened",
        "pull_request.reopened",
        "pull_request.synchronize",
        "pull_request.edited",
        "pull_request_review.submitted",
        "pull_request_review.dismissed",
      ],
      onPullRequestActivity(deps),
    );
    app.on("pull_request.closed", onPullRequestClosed(deps));
    app.on("deployment_protection_rule.requested", onDeploymentProtectionRule(deps));
    app.on("issue_comment.created", onIssueComment(deps));
  };
}
