/**
 * The operator catalog file (`JIT_CATALOG`, e.g. `jit-catalog.yml`) as written on disk.
 * This schema is the single source of the file's raw types; `load-catalog.ts` turns its output
 * into the `Catalog` every other module uses.
 */
import { isAbsolute } from "node:path/posix";
import { z } from "zod";
import type { SecretSource } from "./catalog.js";
import { allowedKeys, approvalsField, durationField } from "./config-fields.js";
import { repeatedBranchingGroup } from "./repeated-group.js";
import { canonicalSecretName, secretNameProblem } from "./secret-name.js";

const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `owner/name` where either side may use `*` and `?`; owners and names use GitHub's characters. */
const REPOSITORY_GLOB = /^[A-Za-z0-9\-*?]+\/[A-Za-z0-9._\-*?]+$/;
const MAX_ENVIRONMENT_NAME_LENGTH = 255;

const source = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? "source is required; write env:VARIABLE or file:/absolute/path"
        : "source must be env:VARIABLE or file:/absolute/path",
  })
  .transform((text, ctx): SecretSource => {
    const problem = sourceProblem(text);
    if (problem !== null) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
    return text.startsWith("env:") ? { kind: "env", variable: text.slice(4) } : { kind: "file", path: text.slice(5) };
  });

const repositoryGlob = z
  .string({ error: "each repository must be a glob over owner/name, e.g. acme/* or acme/api" })
  .regex(REPOSITORY_GLOB, { error: (issue) => repositoryGlobProblem(String(issue.input)) });

const environmentName = z
  .string({ error: "each environment must be the name of an Actions environment, e.g. production" })
  .min(1, "environment names must not be empty")
  .max(MAX_ENVIRONMENT_NAME_LENGTH, `environment names must be at most ${MAX_ENVIRONMENT_NAME_LENGTH} characters`);

const reasonPattern = z
  .string({ error: "reason_pattern must be a regular expression in quotes, e.g. '^INC-\\d+'" })
  .min(1, "reason_pattern must not be empty; remove the key to allow any reason")
  .superRefine((pattern, ctx) => {
    const problem = regexProblem(pattern);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });

const secretShape = {
  /** Where the value is read at grant time: `env:VARIABLE` or `file:/absolute/path`. */
  source,
  /** Globs over `owner/name` of the repositories that may receive the secret; at least one. */
  repositories: z
    .array(repositoryGlob, { error: "repositories must be a list of owner/name globs, e.g. [\"acme/*\"]" })
    .min(1, "repositories must list at least one owner/name glob, e.g. [\"acme/*\"]"),
  /** Names of the Actions environments that may receive the secret; at least one. */
  environments: z
    .array(environmentName, { error: "environments must be a list of environment names, e.g. [production]" })
    .min(1, "environments must list at least one environment, e.g. [production]"),
  /** Longest grant, e.g. `4h`; milliseconds after parsing. Required. */
  max_duration: durationField("max_duration"),
  /** Shortest grant, e.g. `5m`; milliseconds after parsing. No minimum unless set. */
  min_duration: durationField("min_duration").optional(),
  /** Distinct code owners of the requests file who must approve; 1 unless set. */
  approvals: approvalsField().default(1),
  /** A regular expression (compiled with the `u` flag) every request's reason must match. */
  reason_pattern: reasonPattern.optional(),
};

/** One secret's policy. */
export const catalogSecretSchema = z
  .strictObject(secretShape, allowedKeys(secretShape, "a secret's policy"))
  .superRefine(
    (secret, ctx) => {
      if (secret.min_duration !== undefined && secret.min_duration > secret.max_duration) {
        const message = "min_duration must not be longer than max_duration";
        ctx.addIssue({ code: "custom", path: ["min_duration"], message });
      }
    },
    // Compare the bounds whenever both parsed, even if other keys of this secret have problems.
    { when: (payload) => bothDurationsParsed(payload.value) },
  );

/** Secrets keyed by their name in the environment, as written. */
const secrets = z
  .record(z.string(), catalogSecretSchema, {
    error: (issue) =>
      issue.input === undefined
        ? "secrets is required: a map from each secret's name to its policy"
        : issue.input === null
          ? "secrets has no entries; a catalog must list at least one secret"
          : "secrets must be a map from each secret's name to its policy",
  })
  .superRefine(
    (map, ctx) => {
      const names = Object.keys(map);
      if (names.length === 0) {
        ctx.addIssue({ code: "custom", message: "secrets has no entries; a catalog must list at least one secret" });
      }
      const firstByCanonical = new Map<string, string>();
      for (const name of names) {
        const problem = secretNameProblem(name);
        if (problem !== null) ctx.addIssue({ code: "custom", path: [name], params: { at: "key" }, message: problem });
        const canonical = canonicalSecretName(name);
        const first = firstByCanonical.get(canonical);
        if (first === undefined) {
          firstByCanonical.set(canonical, name);
        } else {
          ctx.addIssue({
            code: "custom",
            path: [name],
            params: { at: "key" },
            message: `"${name}" and "${first}" are the same secret (GitHub secret names ignore case); keep one`,
          });
        }
      }
    },
    // Check names even when some secret's policy has problems, so every problem is listed.
    { when: (payload) => isPlainObject(payload.value) },
  );

const catalogShape = {
  /** The secrets the app may grant; at least one. */
  secrets,
};

export const catalogSchema = z.strictObject(catalogShape, allowedKeys(catalogShape, "the catalog"));

/** The catalog file after validation: sources parsed, durations in milliseconds. */
export type CatalogFile = z.output<typeof catalogSchema>;
export type CatalogSecretFile = z.output<typeof catalogSecretSchema>;

function sourceProblem(text: string): string | null {
  if (text.startsWith("env:")) {
    return ENV_VARIABLE.test(text.slice(4))
      ? null
      : "env: must name an environment variable (letters, digits and _, not starting with a digit), e.g. env:PROD_DB_URL";
  }
  if (text.startsWith("file:")) {
    const path = text.slice(5);
    if (path.includes("\0")) return "file: path must not contain NUL characters";
    return isAbsolute(path) ? null : "file: must be an absolute path, e.g. file:/run/secrets/prod-db-url";
  }
  return "source must be env:VARIABLE or file:/absolute/path";
}

/**
 * `*` alone would match no repository at all (a `*` never crosses the `/`), so it is refused
 * rather than left as a silent no-op. Every repository is a star on each side of the slash,
 * which an operator may allow.
 */
function repositoryGlobProblem(glob: string): string {
  if (/^\*+$/u.test(glob)) {
    return `"${glob}" is not a glob over owner/name and would match no repository, because * does not match the / between owner and name; write */* to allow every repository the app is installed on, or acme/* for one owner`;
  }
  return `"${glob}" is not a glob over owner/name; write it like acme/* or acme/api`;
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return `reason_pattern is not a valid regular expression with the u flag: ${detail}`;
  }
  const group = repeatedBranchingGroup(pattern);
  if (group === null) return null;
  return `reason_pattern repeats a group that itself repeats or branches, ${group}, which can take minutes to test against a crafted reason; rewrite it without the nesting, e.g. (a+)+ as a+, (x|y)+ as [xy]+, (\\w+\\s?)+ as [\\w\\s]+`;
}

function bothDurationsParsed(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  return typeof value["max_duration"] === "number" && typeof value["min_duration"] === "number";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
