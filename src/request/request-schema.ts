/**
 * The shape of `jit-requests.yml`: the single source of its types and of the JSON Schema that
 * editors use (`schema/jit-requests.schema.json`, written by `scripts/write-schema.ts`).
 * It describes shape only. Whether a secret exists, a duration is within bounds or a reason is
 * long enough depends on the catalog and is decided by `validate-requests.ts`.
 */
import { z } from "zod";
import { VISIBLE_TEXT } from "./invisible-characters.js";

const text = () => z.string().regex(VISIBLE_TEXT);

export const requestEntrySchema = z
  .strictObject({
    secret: text().describe(
      "Name of a secret from the operator's catalog, e.g. PROD_DB_URL. Case does not matter: GitHub stores secret names in upper case.",
    ),
    environment: text().describe("An existing GitHub Actions environment of this repository that may receive the secret, e.g. production."),
    duration: text().describe(
      "How long the secret stays in the environment: whole numbers with units d, h, m, s in that order, e.g. 90s, 15m, 2h, 1h30m, 1d. Must be within the catalog's bounds for the secret.",
    ),
    reason: text().describe(
      "Why the secret is needed, at least 10 characters, e.g. an incident or ticket number. The catalog may require a pattern.",
    ),
    break_glass: z
      .boolean()
      .optional()
      .describe(
        "Emergency access: true grants the secret at once, without approval, when the catalog allows break-glass for it (within its break_glass max_duration) and the repository does not forbid it. Loud: code owners are mentioned, the pull request is labelled, and its check stays neutral until a code owner approves afterwards.",
      ),
  })
  .describe("One request: a secret, written into an environment for a while, for a reason.");

export const requestsFileSchema = z
  .strictObject({
    requests: z
      .array(requestEntrySchema)
      .nullable()
      .optional()
      .describe("The requests. A pull request asks for the entries it adds; removing entries asks for nothing. May be empty."),
  })
  .meta({
    title: "jit-access requests",
    description:
      "Just-in-time access to GitHub Actions environment secrets: each entry asks for a secret from the operator's catalog, granted once enough code owners of this file approve the pull request, and removed again when the duration is over.",
  });

/** One entry as written. */
export type RequestFields = z.output<typeof requestEntrySchema>;
export type RequestsFile = z.output<typeof requestsFileSchema>;
export type RequestKey = keyof RequestFields;

/** The keys of an entry, in the order the file shows them. */
export const REQUEST_KEYS: readonly RequestKey[] = requestEntrySchema.keyof().options;
/** The keys every entry has, each text. */
export type TextRequestKey = Exclude<RequestKey, "break_glass">;
export const TEXT_REQUEST_KEYS: readonly TextRequestKey[] = REQUEST_KEYS.filter((k): k is TextRequestKey => k !== "break_glass");
/** The keys allowed at the top of the file. */
export const FILE_KEYS: readonly string[] = requestsFileSchema.keyof().options;
