/**
 * `jit-access sweep`: one pass over the ledger that revokes every grant whose time is up, the
 * same sweep the server runs on its interval. For cron, next to or instead of the server's own.
 */
import { sweepOnce } from "../expiry/sweep.js";
import { retryDeferredGrants } from "../lifecycle/retry-deferred-grants.js";
import { withApp, EXIT, type CliIO } from "./cli-context.js";
import { terminalText } from "./terminal-text.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";

export const SWEEP_USAGE = `usage: jit-access sweep

Revokes every live grant whose expiry has passed (once its retry backoff, if any, is over):
deletes the secret unless another live grant still uses it, records the end, tells the pull
request. Prints "swept: N due, N ended, N still due". With JIT_CATALOG set it also retries
grants that GitHub could not take earlier (rate limit, server error), while their approval
stands: "retried: N deferred grants".

Needs APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, and DATABASE_URL (as the server).
Exit status: 0 nothing due is left, 1 a grant is still due (a delete failed; it is retried
with backoff), 2 usage or configuration error.`;

export async function sweepCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs("sweep", SWEEP_USAGE, args, { options: HELP_OPTION }, io);
  if (typeof parsed === "number") return parsed;
  const withCatalog = Boolean(io.env.JIT_CATALOG?.trim());
  return withApp(io, { catalog: withCatalog }, async ({ deps, log, clock }) => {
    const now = new Date(clock.now());
    const result = await sweepOnce(deps, log);
    const retried = withCatalog ? await retryDeferredGrants(deps, log) : null;
    // Still due: live and past expiry after this pass, including grants waiting out a backoff.
    const stillDue = await deps.store.expiringBy(now);
    io.stdout(`swept: ${result.due} due, ${result.ended} ended, ${stillDue.length} still due`);
    if (retried !== null) io.stdout(`retried: ${retried} deferred grants`);
    for (const grant of stillDue) {
      const retry = grant.nextAttemptAt ? `; next attempt from ${grant.nextAttemptAt.toISOString()}` : "";
      const error = grant.lastError ? ` (${grant.revokeAttempts} failed: ${grant.lastError})` : "";
      io.stderr(
        terminalText(`still due: grant ${grant.id} ${grant.owner}/${grant.repo} ${grant.environment} ${grant.secret}, expired ${grant.expiresAt.toISOString()}${error}${retry}`),
      );
    }
    return stillDue.length === 0 ? EXIT.ok : EXIT.problem;
  });
}
