/**
 * Zod building blocks shared by the catalog and repository config schemas, so that both files
 * accept the same durations and approval counts and word their problems the same way.
 */
import { z } from "zod";
import { parseDuration } from "../util/duration.js";

/** More approvals than this is almost surely a typo; nothing could ever be approved. */
export const MAX_APPROVALS = 10;

/** A duration such as `4h` or `1h30m`, parsed to milliseconds. */
export function durationField(key: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `${key} is required; write it like 90s, 15m, 2h or 1h30m`
          : `${key} must be a duration like 90s, 15m, 2h or 1h30m`,
    })
    .transform((text, ctx) => {
      const parsed = parseDuration(text);
      if (parsed.ok) return parsed.ms;
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    });
}

/**
 * Distinct code owners who must approve: a whole number from 1 to MAX_APPROVALS.
 * One refinement rather than `z.int().min().max()`: zod's integer check aborts the whole parse,
 * which would hide the problems found in other parts of the file.
 */
export function approvalsField() {
  const message = `approvals must be a whole number from 1 to ${MAX_APPROVALS}`;
  return z.number({ error: message }).refine((n) => Number.isInteger(n) && n >= 1 && n <= MAX_APPROVALS, { error: message });
}

/**
 * Options for `z.strictObject` that name the allowed keys. The loader turns the one
 * `unrecognized_keys` issue into one problem per unknown key, placed on that key.
 */
export function allowedKeys(shape: Record<string, unknown>, what: string) {
  const keys = Object.keys(shape).join(", ");
  return {
    error: (issue: z.core.$ZodRawIssue): string | undefined => {
      if (issue.code === "unrecognized_keys") return `allowed keys are: ${keys}`;
      if (issue.code === "invalid_type") {
        return issue.input === undefined || issue.input === null
          ? `${what} is empty; expected a map with the keys: ${keys}`
          : `${what} must be a map with the keys: ${keys}`;
      }
      return undefined;
    },
  };
}
