/**
 * `jit-access report --since ISO [--until ISO] [--repo GLOB] [--secret NAME] [--format html|json]
 * [--out PATH]`: an access review of the ledger for a period, as one self-contained HTML page or
 * as JSON (the same data). Reads only the ledger: no GitHub credentials needed.
 *
 * The grants are read a page at a time (`report/read-access-review.ts`); the review keeps what
 * it shows of them, and of the audit records only counts and a few facts per grant
 * (`report/access-review.ts`). The page is drawn by `report/render-html.ts`.
 */
import { rename, rm, writeFile } from "node:fs/promises";
import { secretNameProblem } from "../policy/secret-name.js";
import type { AccessReview } from "../report/access-review.js";
import { readAccessReview } from "../report/read-access-review.js";
import { renderAccessReviewHtml } from "../report/render-html.js";
import { checkLabel, EXIT, withLedger, type CliIO } from "./cli-context.js";
import { HELP_OPTION, parseCommandArgs, usageError } from "./command-args.js";
import { parseIsoInstant } from "./parse-iso-instant.js";
import { jsonForTerminal, terminalText } from "../util/terminal-text.js";

export const REPORT_USAGE = `usage: jit-access report --since ISO [--until ISO] [--repo GLOB] [--secret NAME]
                         [--format html|json] [--out PATH]

Writes an access review of every grant whose access overlaps the period: exceptions first
(grants without a recorded approval, secrets that outlived the end the ledger set, audit chain
breaks), a summary, a timeline per secret and environment, and a table of every grant.
  --since ISO      the period's start: 2026-01-01 (midnight UTC) or 2026-01-01T09:30:00Z
                   (a time needs its offset: Z or +01:00)
  --until ISO      the period's end, exclusive; now when absent
  --repo GLOB      only repositories whose OWNER/NAME matches (* and ?, as in the catalog: acme/*)
  --secret NAME    only this secret
  --format html    one self-contained HTML page, for a browser offline (the default); needs --out
  --format json    the same data as JSON, to --out or else to stdout
  --out PATH       the file to write; replaced whole (written beside it, then renamed)

No secret value is in the ledger, so none is in the review. Needs only DATABASE_URL.
Exit status: 0 the review was written (its exceptions are in it), 1 the file cannot be written,
2 usage or configuration error.`;

const FORMATS = ["html", "json"] as const;
type Format = (typeof FORMATS)[number];

export async function reportCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(
    "report",
    REPORT_USAGE,
    args,
    {
      options: {
        ...HELP_OPTION,
        since: { type: "string" },
        until: { type: "string" },
        repo: { type: "string" },
        secret: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
      },
    },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { since: sinceText, until: untilText, repo, secret, format = "html", out } = parsed.values;
  const usage = (message: string): number => usageError("report", REPORT_USAGE, message, io);

  if (sinceText === undefined) return usage("give the period's start: --since 2026-01-01");
  const since = parseIsoInstant(sinceText);
  if (since === null)
    return usage(`--since must be an ISO 8601 date or date-time with offset, e.g. 2026-01-01 or 2026-01-01T09:30:00Z; got "${sinceText}"`);
  const until = untilText === undefined ? undefined : parseIsoInstant(untilText);
  if (until === null)
    return usage(`--until must be an ISO 8601 date or date-time with offset, e.g. 2026-04-01 or 2026-04-01T00:00:00Z; got "${untilText}"`);
  if (!isFormat(format)) return usage(`--format must be html or json; got "${format}"`);
  if (format === "html" && out === undefined)
    return usage("an HTML review is written to a file: give --out report.html (or --format json for stdout)");
  if (out !== undefined && out.trim() === "") return usage("--out needs a file path: --out report.html");
  if (repo !== undefined) {
    const problem = checkLabel("--repo", repo, 200);
    if (problem !== null) return usage(problem);
    if (!/^[^/\s]+\/[^/\s]+$/u.test(repo))
      return usage(`--repo must be OWNER/NAME, with * or ? for any characters (acme/*); got "${repo}"`);
  }
  if (secret !== undefined) {
    const problem = secretNameProblem(secret);
    if (problem !== null) return usage(`--secret: ${problem}; got "${secret}"`);
  }

  return withLedger(io, async ({ settings, store, clock }) => {
    const now = new Date(clock.now());
    const end = until ?? now;
    if (since.getTime() >= end.getTime()) {
      return usage(
        `the period must start before it ends: --since ${since.toISOString()} is not before ${until === undefined ? "now" : "--until"} ${end.toISOString()}`,
      );
    }
    const review = await readAccessReview(store, {
      since,
      until: end,
      now,
      ...(repo !== undefined && { repo }),
      ...(secret !== undefined && { secret }),
      webUrl: webUrl(settings.baseUrl),
    });

    if (out === undefined) {
      io.stdout(jsonForTerminal(review, 2));
      return EXIT.ok;
    }
    const text = format === "html" ? renderAccessReviewHtml(review) : `${JSON.stringify(review, null, 2)}\n`;
    const written = await writeWhole(out, text);
    if (written !== null) {
      io.stderr(terminalText(`jit-access report: cannot write ${out}: ${written}`));
      return EXIT.problem;
    }
    io.stdout(terminalText(`wrote ${out}: ${describe(review)}`));
    return EXIT.ok;
  });
}

const WRITE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "its folder does not exist",
  ENOTDIR: "its folder does not exist",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a folder",
  EROFS: "the file system is read-only",
  ENOSPC: "the disk is full",
};

/** Writes `text` beside `path`, then renames it over `path`: a reader never sees half a review. Null, or why not. */
async function writeWhole(path: string, text: string): Promise<string | null> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { encoding: "utf8", flag: "wx" });
    await rename(temporary, path);
    return null;
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    // Node's own errors may come from another realm (under test): read them by shape.
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    const message = typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error);
    return WRITE_ERRORS[code] ?? message;
  }
}

function describe(review: AccessReview): string {
  const { withoutApproval, outlived, auditChain } = review.exceptions;
  const exceptions = withoutApproval.length + outlived.length + (auditChain.intact ? 0 : 1);
  const grants = review.summary.grants;
  return `${grants} ${grants === 1 ? "grant" : "grants"} with access from ${review.period.since} to ${review.period.until}; ${
    exceptions === 0 ? "no exceptions" : `${exceptions} ${exceptions === 1 ? "exception" : "exceptions"}`
  }`;
}

/** GitHub's web address for the API the app uses: github.com, or the Enterprise Server host. */
export function webUrl(apiBaseUrl: string): string {
  return apiBaseUrl === "https://api.github.com" ? "https://github.com" : apiBaseUrl.replace(/\/api\/v3\/?$/u, "");
}

function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}
