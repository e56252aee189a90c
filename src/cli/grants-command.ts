/**
 * `jit-access grants [--all] [--json]`: the grants in the ledger, live ones by default, as an
 * aligned table or as JSON for scripts. Reads only the ledger: no GitHub credentials needed.
 */
import type { Grant } from "../ledger/store.js";
import { withLedger, EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";
import { formatTable } from "./format-table.js";
import { jsonForTerminal, terminalText } from "../util/terminal-text.js";

export const GRANTS_USAGE = `usage: jit-access grants [--all | --break-glass-unreviewed] [--json]

Lists live grants (granting or active) from the ledger, oldest first. Control, bidi and
invisible characters in the table are shown as \\uXXXX.
  --all                      every grant, ended ones too
  --break-glass-unreviewed   break-glass grants (live or ended) no code owner has reviewed yet;
                             exit 1 when there is any (for a scheduled alert)
  --json                     a JSON array of grants (dates as ISO 8601 strings in UTC) instead of a table

Needs only DATABASE_URL. Exit status: 0; 1 with --break-glass-unreviewed when any is listed;
2 usage or configuration error.`;

const HEADER = ["ID", "REPOSITORY", "ENVIRONMENT", "SECRET", "REQUESTER", "PR", "STATE", "EXPIRES", "APPROVERS"];

export async function grantsCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "grants",
    GRANTS_USAGE,
    args,
    { options: { ...HELP_OPTION, all: { type: "boolean" }, json: { type: "boolean" }, "break-glass-unreviewed": { type: "boolean" } } },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { all = false, json = false, "break-glass-unreviewed": unreviewed = false } = parsed.values;
  if (all && unreviewed) {
    io.stderr("jit-access grants: --all and --break-glass-unreviewed cannot be combined\n\n" + GRANTS_USAGE);
    return EXIT.usage;
  }
  if (unreviewed) return unreviewedBreakGlass(io, json);
  return withLedger(io, async ({ store }) => {
    const grants = await store.listGrants({ liveOnly: !all });
    if (json) io.stdout(jsonForTerminal(grants, 2));
    else if (grants.length === 0) io.stdout(all ? "no grants in the ledger" : "no live grants (--all lists ended ones too)");
    else
      for (const line of formatTable(
        HEADER,
        grants.map((grant) => grantRow(grant).map(terminalText)),
      ))
        io.stdout(line);
    return EXIT.ok;
  });
}

/** Break-glass grants waiting for a code owner's review: exit 1 when there is any. */
async function unreviewedBreakGlass(io: CliIO, json: boolean): Promise<number> {
  return withLedger(io, async ({ store }) => {
    const grants = await store.unreviewedBreakGlass();
    if (json) io.stdout(jsonForTerminal(grants, 2));
    else if (grants.length === 0) io.stdout("no break-glass grant is waiting for review");
    else
      for (const line of formatTable(
        HEADER,
        grants.map((grant) => grantRow(grant).map(terminalText)),
      ))
        io.stdout(line);
    return grants.length === 0 ? EXIT.ok : EXIT.problem;
  });
}

function grantRow(grant: Grant): string[] {
  return [
    grant.id,
    `${grant.owner}/${grant.repo}`,
    grant.environment,
    grant.secret,
    grant.requester.login,
    `#${grant.prNumber}`,
    grant.state,
    grant.expiresAt.toISOString(),
    grant.approvers.length === 0 ? "-" : grant.approvers.map((person) => person.login).join(","),
  ];
}
