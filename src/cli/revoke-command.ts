/**
 * `jit-access revoke GRANT_ID --reason TEXT [--actor NAME]`: ends one grant now, as closing its
 * pull request would: the secret is deleted unless another live grant still uses it, the grant
 * is recorded `revoked` with the reason, and the pull request is told.
 */
import type { Grant } from "../ledger/store.js";
import { revokeGrant } from "../revoke/revoke-grant.js";
import { MAX_REASON_LENGTH } from "../request/request-messages.js";
import { checkLabel, EXIT, MAX_ACTOR_LENGTH, operatorActor, whoRan, withApp, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs, usageError } from "./command-args.js";
import { terminalText } from "../util/terminal-text.js";

export const REVOKE_USAGE = `usage: jit-access revoke GRANT_ID --reason TEXT [--actor NAME]

Ends a live grant now: deletes its secret (unless another live grant still uses it), records
the grant as revoked with the reason, and comments on its pull request.
  --reason TEXT   why (required; goes to the audit log and the pull request; plain text, at
                  most 500 characters, no control or invisible characters)
  --actor NAME    a label for the audit log, operator:NAME (default: $USER, else "cli"). It is
                  not checked: the audit record also keeps the OS account and host that ran
                  the command.

Grant ids are listed by "jit-access grants". Needs APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, and
DATABASE_URL. Exit status: 0 revoked, 1 unknown grant, already ended, or the delete failed,
2 usage or configuration error.`;

export async function revokeCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "revoke",
    REVOKE_USAGE,
    args,
    { options: { ...HELP_OPTION, reason: { type: "string" }, actor: { type: "string" } }, allowPositionals: true },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { positionals } = parsed;
  const reason = parsed.values.reason?.trim() ?? "";
  if (positionals.length !== 1) {
    return usageError(
      "revoke",
      REVOKE_USAGE,
      positionals.length === 0 ? "give the id of the grant to revoke" : "give exactly one grant id",
      io,
    );
  }
  if (reason === "") return usageError("revoke", REVOKE_USAGE, "--reason is required: say why the grant ends", io);
  const reasonProblem = checkLabel("--reason", reason, MAX_REASON_LENGTH);
  if (reasonProblem !== null) return usageError("revoke", REVOKE_USAGE, reasonProblem, io);
  if (parsed.values.actor !== undefined && parsed.values.actor.trim() === "") {
    return usageError("revoke", REVOKE_USAGE, "--actor is empty: give a name, or leave it out to use $USER", io);
  }
  const actorProblem = parsed.values.actor === undefined ? null : checkLabel("--actor", parsed.values.actor, MAX_ACTOR_LENGTH);
  if (actorProblem !== null) return usageError("revoke", REVOKE_USAGE, actorProblem, io);
  const id = positionals[0]!;

  return withApp(io, { catalog: false }, async ({ deps, log }) => {
    const grant = await deps.store.getGrant(id);
    if (grant === null) {
      io.stderr(terminalText(`jit-access revoke: no grant with id "${id}" in the ledger; "jit-access grants --all" lists them`));
      return EXIT.problem;
    }
    if (grant.state !== "active" && grant.state !== "granting") {
      io.stderr(terminalText(`jit-access revoke: ${describe(grant)} is already ${grant.state}${ended(grant)}; nothing to revoke`));
      return EXIT.problem;
    }
    const actor = operatorActor(io.env, parsed.values.actor);
    const outcome = await revokeGrant(deps, { grant, kind: "revoked", reason, actor, auditDetails: { ranBy: whoRan() } }, log);
    switch (outcome.kind) {
      case "ended": {
        const others = outcome.otherLiveGrants;
        const secret = outcome.deleted
          ? "the secret was deleted"
          : others > 0
            ? `the secret stays: ${others} other live grant${others === 1 ? "" : "s"} still use${others === 1 ? "s" : ""} it`
            : outcome.secretWritten
              ? "the secret was already gone"
              : "nothing had been written for it, so nothing was deleted";
        io.stdout(terminalText(`revoked ${describe(grant)}; ${secret}`));
        return EXIT.ok;
      }
      case "not-live":
        io.stderr(
          terminalText(`jit-access revoke: ${describe(grant)} is already ${outcome.grant.state}${ended(outcome.grant)}; nothing to revoke`),
        );
        return EXIT.problem;
      case "changed":
        // The CLI asks for no condition; a grant that changed under the lock is reported as it is now.
        io.stderr(
          terminalText(`jit-access revoke: ${describe(grant)} changed meanwhile (now ${outcome.grant.state}); nothing was revoked`),
        );
        return EXIT.problem;
      case "retry":
        io.stderr(
          terminalText(
            `jit-access revoke: could not delete ${grant.secret} from ${grant.owner}/${grant.repo} environment ${grant.environment}: ${outcome.error}. ` +
              `The grant stays live and its revocation pending: the sweep retries it from ${outcome.nextAttemptAt.toISOString()}; ` +
              "run this command again to retry sooner.",
          ),
        );
        return EXIT.problem;
    }
  });
}

function describe(grant: Grant): string {
  return `grant ${grant.id} (${grant.secret} in ${grant.owner}/${grant.repo} environment ${grant.environment}, PR #${grant.prNumber})`;
}

function ended(grant: Grant): string {
  if (grant.endedAt === null) return "";
  return ` since ${grant.endedAt.toISOString()}${grant.endReason ? ` (${grant.endReason})` : ""}`;
}
