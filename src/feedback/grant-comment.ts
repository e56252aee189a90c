import type { Grant } from "../ledger/store.js";
import { grantUsageSnippet } from "./grant-snippet.js";
import { grantList } from "./check-feedback.js";
import { markdownLiteral as literal } from "./markdown.js";

/**
 * The one comment posted when access is granted (or could not be): each grant with its
 * environment, expiry and approvers, what failed and what the operator must fix, and how to
 * use the secret in a workflow. Never a value.
 */
type Problem = { secret: string; environment: string; why: string };
/** A grant that took the value an earlier live grant (`holder`) had written, unchanged. */
type Kept = { grant: Grant; holder: Grant };

export function grantComment(
  outcome: { granted: Grant[]; failed: Problem[]; deferred: Problem[]; kept?: Kept[] },
  now: number,
  actionRef?: string,
  /** Whether a grant serves only its requester's own workflow runs (`bind_to_requester`); none is unless said. */
  isBound: (grant: Grant) => boolean = () => false,
): string {
  const { granted, failed, deferred, kept = [] } = outcome;
  const list = (items: Problem[]) => items.map((f) => `- ${literal(f.secret)} → ${literal(f.environment)}: ${literal(f.why)}`).join("\n");
  const parts: string[] = [];
  if (granted.length > 0) {
    parts.push(
      `**Access granted.** ${granted.length === 1 ? "This secret is" : "These secrets are"} available to workflows that target the environment until the expiry shown; then jit-access deletes ${granted.length === 1 ? "it" : "them"}.`,
    );
    parts.push(grantList(granted, now));
    parts.push(bindingNote(granted, isBound));
  }
  for (const { grant, holder } of kept) {
    parts.push(
      `**Note:** ${literal(grant.secret)} in ${literal(grant.environment)} already held the value written for a live grant of pull request #${holder.prNumber}. ` +
        "jit-access keeps that value unchanged while any grant holds the secret, so that no grantee's workflow sees it change; a change at its source since then is not in it.",
    );
  }
  if (failed.length > 0) {
    parts.push("**Access could not be granted** for:", list(failed));
    parts.push(
      "None of these is granted. Once the cause is fixed, push a new commit to this pull request (an empty one will do: `git commit --allow-empty`) and have it approved again.",
    );
  }
  if (deferred.length > 0) {
    parts.push("**Access is delayed** for:", list(deferred));
    parts.push("jit-access keeps trying while the approval stands; nothing needs to be done.");
  }
  if (granted.length > 0) {
    parts.push(
      grantUsageSnippet(
        granted.map((g) => ({ secret: g.secret, environment: g.environment })),
        actionRef ? { actionRef } : {},
      ),
    );
    parts.push("Closing this pull request without merging revokes the access at once.");
  }
  return parts.join("\n\n");
}

/**
 * Whether the grants are bound to their requester: where jit-access is the environment's
 * deployment protection rule, only runs the requester starts can use a bound grant; an unbound
 * one is readable by any run that targets the environment while it lasts.
 */
function bindingNote(granted: Grant[], isBound: (grant: Grant) => boolean): string {
  const bound = granted.filter(isBound);
  const requester = literal(`@${granted[0]!.requester.login}`);
  const names = (grants: Grant[]) => grants.map((g) => `${literal(g.secret)} → ${literal(g.environment)}`).join(", ");
  const boundText = `only workflow runs that ${requester} starts (and re-runs) pass jit-access's deployment protection rule, where the environment has it; other runs are rejected`;
  const unboundText = "any workflow run that targets the environment can read the secret while the grant lasts";
  if (bound.length === granted.length) return `**Bound to ${requester}:** ${boundText}.`;
  if (bound.length === 0) return `**Not bound to ${requester}:** ${unboundText}.`;
  return `**Bound to ${requester}:** ${names(bound)}: ${boundText}. **Not bound:** ${names(granted.filter((g) => !isBound(g)))}: ${unboundText}.`;
}

/**
 * Marks the comment that says access is delayed for head `headSha` (an HTML comment, not shown):
 * a later deferral of the same head updates that comment instead of posting another.
 */
export function delayedCommentMarker(headSha: string): string {
  return `<!-- jit-access:delayed ${headSha} -->`;
}
