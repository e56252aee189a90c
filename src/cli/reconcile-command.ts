/**
 * `jit-access reconcile [--dry-run]`: deletes catalog-managed secrets that the app wrote and that
 * are present in an environment without a live grant in the ledger; lists the ones it has no
 * record of writing as unmanaged, and leaves them alone. Secrets the catalog does not manage are
 * never touched.
 */
import { NO_LIVE_GRANT, NOT_WRITTEN_BY_APP, reconcile, type Orphan } from "../revoke/reconcile.js";
import { withApp, EXIT, operatorActor, type CliIO } from "./cli-context.js";
import { terminalText } from "../util/terminal-text.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";

export const RECONCILE_USAGE = `usage: jit-access reconcile [--dry-run]

For every installation of the app and every repository it can see, looks at the catalog
secrets allowed there, in the environments the catalog allows them in, and deletes each one
that is present without a live grant in the ledger and that jit-access wrote: its updated_at
matches a write the ledger recorded (an audit record "reconciled" each). One it has no record
of writing is listed as "unmanaged, left alone" and never deleted. Secrets that are not in the
catalog are never touched.
  --dry-run   print what would be deleted and what is left alone; change nothing

Needs APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, JIT_CATALOG and DATABASE_URL (as the server).
Exit status: 0 done, 1 a delete failed or a repository could not be read, 2 usage or
configuration error.`;

export async function reconcileCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs("reconcile", RECONCILE_USAGE, args, { options: { ...HELP_OPTION, "dry-run": { type: "boolean" } } }, io);
  if (typeof parsed === "number") return parsed;
  const dryRun = parsed.values["dry-run"] ?? false;

  return withApp(io, { catalog: true }, async ({ deps, log, appOctokit }) => {
    const report = await reconcile({ ...deps, appOctokit }, { dryRun, actor: operatorActor(io.env) }, log);
    for (const orphan of report.orphans) {
      if (orphan.outcome === "failed") io.stderr(terminalText(`could not delete ${where(orphan)}: ${orphan.error ?? "unknown error"}`));
      else
        io.stdout(
          terminalText(
            `${VERB[orphan.outcome]} ${where(orphan)} (${orphan.outcome === "kept" ? "a grant was recorded meanwhile" : NO_LIVE_GRANT})`,
          ),
        );
    }
    for (const unmanaged of report.unmanaged) {
      io.stdout(
        terminalText(`unmanaged, left alone: ${where(unmanaged)} (${NOT_WRITTEN_BY_APP}; updated ${unmanaged.updatedAt.toISOString()})`),
      );
    }
    for (const { what, error } of report.unreadable) io.stderr(terminalText(`could not check ${what}: ${error}`));

    const count = (outcome: Orphan["outcome"]) => report.orphans.filter((orphan) => orphan.outcome === outcome).length;
    const failed = count("failed");
    const scanned =
      `${plural(report.installations, "installation")}, ${plural(report.repositories, "repository", "repositories")}, ` +
      `${plural(report.checked, "catalog secret")} checked`;
    const leftAlone = `${report.unmanaged.length} unmanaged left alone`;
    io.stdout(
      dryRun
        ? `reconcile (dry run): ${scanned}, ${count("would-delete")} would be deleted, ${leftAlone}`
        : `reconciled: ${scanned}, ${count("deleted") + count("absent")} deleted, ${failed} failed, ${leftAlone}`,
    );
    return failed === 0 && report.unreadable.length === 0 ? EXIT.ok : EXIT.problem;
  });
}

const VERB: Record<Exclude<Orphan["outcome"], "failed">, string> = {
  "would-delete": "would delete",
  deleted: "deleted",
  absent: "deleted (already gone)",
  kept: "kept",
};

function where(found: { owner: string; repo: string; environment: string; secret: string }): string {
  return `${found.owner}/${found.repo} ${found.environment} ${found.secret}`;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
