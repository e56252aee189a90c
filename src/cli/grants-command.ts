/**
 * `jit-access grants [--all] [--json]`: the grants in the ledger, live ones by default, as an
 * aligned table or as JSON for scripts. Reads only the ledger: no GitHub credentials needed.
 */
import type { Grant } from "../ledger/store.js";
import { withLedger, EXIT, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs } from "./command-args.js";
import { formatTable } from "./format-table.js";
import { jsonForTerminal, terminalText } from "./terminal-text.js";

export const GRANTS_USAGE = `usage: jit-access grants [--all] [--json]

Lists live grants (granting or active) from the ledger, oldest first. Control, bidi and
invisible characters in the table are shown as \\uXXXX.
  --all    every grant, ended ones too
  --json   a JSON array of grants (dates as ISO 8601 strings in UTC) instead of a table

Needs only DATABASE_URL. Exit status: 0, or 2 usage or configuration error.`;

const HEADER = ["ID", "REPOSITORY", "ENVIRONMENT", "SECRET", "REQUESTER", "PR", "STATE", "EXPIRES", "APPROVERS"];

export async function grantsCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "grants",
    GRANTS_USAGE,
    args,
    { options: { ...HELP_OPTION, all: { type: "boolean" }, json: { type: "boolean" } } },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { all = false, json = false } = parsed.values;
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
