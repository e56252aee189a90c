/**
 * A repository's `.github/jit-access.yml`, read from the default branch. It can move the
 * requests file and tighten the catalog (shorter durations, more approvals, grants bound to their
 * requesters), never widen it.
 * This schema is the single source of the file's raw types; `load-repo-config.ts` turns its
 * output into a `RepoConfig`.
 */
import { z } from "zod";
import { DEFAULT_REPO_CONFIG } from "./repo-config.js";
import { allowedKeys, approvalsField, durationField } from "./config-fields.js";

const requestsFile = z
  .string({ error: "requests_file must be a path inside the repository, e.g. jit-requests.yml" })
  .superRefine((path, ctx) => {
    const problem = relativePathProblem(path);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });

const repoConfigShape = {
  /** Path of the requests file, relative to the repository root; `jit-requests.yml` unless set. */
  requests_file: requestsFile.default(DEFAULT_REPO_CONFIG.requestsFile),
  /** Longest duration any request may ask for; milliseconds after parsing. Only tightens. */
  max_duration: durationField("max_duration").optional(),
  /** Code owners who must approve every request; the higher of this and the catalog's wins. */
  approvals: approvalsField().optional(),
  /**
   * Where jit-access is an environment's custom deployment protection rule, every grant in this
   * repository serves only its requester's own workflow runs (the catalog can also ask this per
   * secret). Only tightens: false leaves the catalog's choice.
   */
  bind_to_requester: z.boolean({ error: "bind_to_requester must be true or false" }).optional(),
  /** `false` forbids break-glass here, whatever the catalog allows. Only tightens: true leaves the catalog's choice. */
  break_glass: z.boolean({ error: "break_glass must be true or false (false forbids break-glass in this repository)" }).optional(),
};

export const repoConfigSchema = z.strictObject(repoConfigShape, allowedKeys(repoConfigShape, "the repository config"));

/** The repository config file after validation: durations in milliseconds. */
export type RepoConfigFile = z.output<typeof repoConfigSchema>;

function relativePathProblem(path: string): string | null {
  const example = "write it relative to the repository root, e.g. jit-requests.yml or .github/jit-requests.yml";
  if (path === "") return `requests_file must not be empty; ${example}`;
  if (path.includes("\\")) return `requests_file must use / between folders, not \\; ${example}`;
  if (path.startsWith("/")) return `requests_file must not start with /; ${example}`;
  // eslint-disable-next-line no-control-regex -- a path with a control character is refused
  if (/[\u0000-\u001f\u007f]/.test(path)) return "requests_file must not contain control characters";
  const segments = path.split("/");
  if (segments.includes("..")) return `requests_file must stay inside the repository (no .. segments); ${example}`;
  if (segments.some((segment) => segment === "" || segment === ".")) {
    return `requests_file must not contain empty or . segments; ${example}`;
  }
  return null;
}
