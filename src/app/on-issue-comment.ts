import type { Context } from "probot";
import { parseCommand } from "../commands/parse-command.js";
import { runCommand } from "../commands/run-command.js";
import { RepoClient } from "../github/repo-client.js";
import type { LifecycleDeps } from "./deps.js";
import { repositoryInCatalog } from "./repository-in-catalog.js";

/**
 * A new comment on a request PR whose first line is a `/jit` command runs it (see
 * src/commands/). Comments on plain issues, comments by apps and bots (the app's own replies
 * among them), and comments that are not commands cost no call; edited comments are not
 * delivered here at all (only `issue_comment.created` is).
 */
export function onIssueComment(deps: LifecycleDeps) {
  return async (context: Context<"issue_comment.created">): Promise<void> => {
    const { repository, issue, comment, installation } = context.payload;
    if (!installation || issue.pull_request === undefined || issue.pull_request === null) return;
    const user = comment.user;
    if (!user || user.type === "Bot" || comment.performed_via_github_app != null || context.isBot) return;
    const command = parseCommand(comment.body ?? "");
    if (command === null) return;
    if (!deps.revokeOnly && !repositoryInCatalog(deps.catalog, repository.full_name)) return;
    const log = context.log.child({ repository: repository.full_name, pr: issue.number, delivery: context.id });
    const outcome = await runCommand(
      deps,
      {
        installationId: installation.id,
        client: new RepoClient(context.octokit, repository.owner.login, repository.name),
        prNumber: issue.number,
        commentId: comment.id,
        commenter: { id: user.id, login: user.login },
        log,
      },
      command,
    );
    log.info({ command: outcome.command, outcome: outcome.outcome }, "comment command handled");
  };
}
