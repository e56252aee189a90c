/**
 * Comment commands on a request PR: `/jit status`, `/jit revoke [reason]`,
 * `/jit extend DURATION [reason]`. One command per comment, on its first line; the command word
 * is case-insensitive. Pure: text in, command out.
 */
import { parseDuration, type DurationResult } from "../util/duration.js";

export type Command =
  | { kind: "status" }
  | { kind: "revoke"; reason: string | null }
  | { kind: "extend"; duration: DurationResult; durationText: string; reason: string | null }
  /** `/jit` with a word it does not know, or none: the reply lists the commands. */
  | { kind: "unknown"; word: string };

/** What a reason given with a command may hold at most; longer is cut (the audit and replies stay short). */
export const MAX_COMMAND_REASON = 200;

/** The comment's command, or null when its first line is not a `/jit` command (most comments). */
export function parseCommand(body: string): Command | null {
  const firstLine = (body.split(/\r?\n/u, 1)[0] ?? "").trim();
  const match = /^\/jit(?:[ \t]+(\S+)(?:[ \t]+(.*))?)?$/iu.exec(firstLine);
  if (match === null) return null;
  const word = (match[1] ?? "").toLowerCase();
  const rest = (match[2] ?? "").trim();
  const reason = (text: string): string | null => (text === "" ? null : text.slice(0, MAX_COMMAND_REASON));
  switch (word) {
    case "status":
      return { kind: "status" };
    case "revoke":
      return { kind: "revoke", reason: reason(rest) };
    case "extend": {
      const [durationText = "", ...words] = rest.split(/[ \t]+/u);
      return { kind: "extend", duration: parseDuration(durationText), durationText, reason: reason(words.join(" ")) };
    }
    default:
      return { kind: "unknown", word: match[1] ?? "" };
  }
}

/** The commands, as the reply to an unknown one lists them. */
export const COMMAND_HELP = [
  "- `/jit status`: what jit-access reads in this request, its live grants, and what it waits for",
  "- `/jit revoke [reason]`: end this pull request's live grants now (the requester, or a code owner who may approve)",
  "- `/jit extend DURATION [reason]`: move the expiry of this pull request's live grants, where the catalog allows it (the requester)",
].join("\n");
