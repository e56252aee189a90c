/**
 * `jit-access sweep`: one pass over the ledger that revokes every grant whose time is up, the
 * same sweep the server runs on its interval. For cron, next to or instead of the server's own.
 */
import { lapsePass } from "../grant/lapse-requests.js";
import { loadCatalogOrNone } from "../app/load-catalog-or-none.js";
import { sweepOnce } from "../revoke/sweep.js";
import { retryDeferredGrants } from "../grant/retry-deferred-grants.js";
import { resumeInterruptedGrants, type ResumeResult } from "../grant/resume-interrupted-grants.js";
import { withApp, EXIT, type CliIO } from "./cli-context.js";
import { terminalText } from "../util/terminal-text.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";

export const SWEEP_USAGE = `usage: jit-access sweep

Revokes every live grant whose expiry has passed (once its retry backoff, if any, is over):
deletes the secret unless another live grant still uses it, records the end, tells the pull
request. Prints "swept: N due, N ended, N still due". With JIT_CATALOG set it also retries
grants that GitHub could not take earlier (rate limit, server error), while their approval
stands: "retried: N deferred grants"; and it resumes grants whose write was interrupted (a
process died between the ledger row and the PUT's answer, 5 minutes ago or more): completed
while their approval stands on the same head and request set, ended (secret deleted, PR told)
otherwise: "resumed: N interrupted grants (N completed, N ended)", when there were any.

Revoking never needs the catalog: when JIT_CATALOG names a catalog that cannot be loaded, the
sweep still revokes, skips only the retry of deferred and interrupted grants, and says so on stderr.

Needs APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, and DATABASE_URL (as the server).
Exit status: 0 nothing due is left, 1 a grant is still due (a delete failed; it is retried
with backoff) or JIT_CATALOG could not be loaded, 2 usage or configuration error.`;

export async function sweepCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs("sweep", SWEEP_USAGE, args, { options: HELP_OPTION }, io);
  if (typeof parsed === "number") return parsed;
  const catalogPath = io.env.JIT_CATALOG?.trim() ?? "";
  // The catalog is loaded after the sweep, and only for the retries: nothing about it can stop a revocation.
  return withApp(io, { catalog: false }, async ({ deps, log, clock }) => {
    const now = new Date(clock.now());
    const result = await sweepOnce(deps, log, { alsoRun: [lapsePass(deps, log)] });
    let retried: number | null = null;
    let resumed: ResumeResult | null = null;
    let catalogFailed = false;
    if (catalogPath !== "") {
      const loaded = await loadCatalogOrNone(catalogPath);
      if (loaded.ok) {
        retried = await retryDeferredGrants({ ...deps, catalog: loaded.catalog }, log);
        resumed = await resumeInterruptedGrants({ ...deps, catalog: loaded.catalog }, log);
      } else {
        catalogFailed = true;
        const waiting = (await deps.store.grantsAwaitingRetry(now, 1000)).length;
        io.stderr(
          terminalText(
            `jit-access sweep: the catalog (JIT_CATALOG) could not be loaded, so ${plural(waiting, "deferred grant")} waiting for a retry ${waiting === 1 ? "was" : "were"} not retried (revoking does not need the catalog; the sweep above ran in full):`,
          ),
        );
        for (const line of loaded.why.split("\n")) io.stderr(terminalText(`  ${line}`));
      }
    }
    // Still due: live and past expiry after this pass, including grants waiting out a backoff.
    const stillDue = await deps.store.expiringBy(now);
    io.stdout(`swept: ${result.due} due, ${result.ended} ended, ${stillDue.length} still due`);
    if (retried !== null) io.stdout(`retried: ${retried} deferred grants`);
    if (resumed !== null && resumed.found > 0) {
      io.stdout(`resumed: ${plural(resumed.found, "interrupted grant")} (${resumed.completed} completed, ${resumed.ended} ended)`);
    }
    for (const grant of stillDue) {
      const retry = grant.nextAttemptAt ? `; next attempt from ${grant.nextAttemptAt.toISOString()}` : "";
      const error = grant.lastError ? ` (${grant.revokeAttempts} failed: ${grant.lastError})` : "";
      io.stderr(
        terminalText(
          `still due: grant ${grant.id} ${grant.owner}/${grant.repo} ${grant.environment} ${grant.secret}, expired ${grant.expiresAt.toISOString()}${error}${retry}`,
        ),
      );
    }
    return stillDue.length === 0 && !catalogFailed ? EXIT.ok : EXIT.problem;
  });
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
