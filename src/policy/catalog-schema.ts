/**
 * The operator catalog file (`JIT_CATALOG`, e.g. `jit-catalog.yml`) as written on disk.
 * This schema is the single source of the file's raw types; `load-catalog.ts` turns its output
 * into the `Catalog` every other module uses.
 */
import { isAbsolute } from "node:path/posix";
import { z } from "zod";
import type { ApproverRef, SecretSource } from "./catalog.js";
import { catalogMessages as m } from "./catalog-messages.js";
import { formatOwner, parseOwner } from "./owner.js";
import { allowedKeys, approvalsField, durationField } from "./config-fields.js";
import { reasonPatternProblem } from "./match-reason-pattern.js";
import { repeatedBranchingGroup } from "./repeated-group.js";
import { hasWildcard } from "./repo-glob.js";
import { canonicalSecretName, secretNameProblem, shadowedVariableProblem } from "./secret-name.js";
import { errorMessage } from "../util/error-message.js";

const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `owner/name` where either side may use `*` and `?`; owners and names use GitHub's characters. */
const REPOSITORY_GLOB = /^[A-Za-z0-9\-*?]+\/[A-Za-z0-9._\-*?]+$/;
const MAX_ENVIRONMENT_NAME_LENGTH = 255;

const source = z
  .string({ error: (issue) => (issue.input === undefined ? m.sourceRequired : m.sourceKind) })
  .transform((text, ctx): SecretSource => {
    const problem = sourceProblem(text);
    if (problem !== null) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
    return text.startsWith("env:") ? { kind: "env", variable: text.slice(4) } : { kind: "file", path: text.slice(5) };
  });

const repositoryGlob = z
  .string({ error: m.repositoryNotText })
  .regex(REPOSITORY_GLOB, { error: (issue) => repositoryGlobProblem(String(issue.input)) });

const environmentName = z
  .string({ error: m.environmentNotText })
  .min(1, m.environmentEmpty)
  .max(MAX_ENVIRONMENT_NAME_LENGTH, m.environmentTooLong(MAX_ENVIRONMENT_NAME_LENGTH));

const reasonPattern = z
  .string({ error: m.reasonPatternNotText })
  .min(1, m.reasonPatternEmpty)
  .superRefine((pattern, ctx) => {
    const problem = regexProblem(pattern);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });

/** `@org/team` or `@user`, as a CODEOWNERS owner is written; emails are refused. */
const approver = z.string({ error: m.approverNotText }).transform((text, ctx): ApproverRef => {
  const owner = parseOwner(text);
  if (owner !== null && owner.kind !== "email") return owner;
  const withAt = text.startsWith("@") ? null : parseOwner(`@${text}`);
  let message: string;
  if (owner?.kind === "email") message = m.approverEmail(text);
  else if (withAt !== null && withAt.kind !== "email") message = m.approverWithoutAt(text);
  else message = m.approverInvalid(text);
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
});

const approvers = z
  .array(approver, { error: m.approversNotList })
  .min(1, m.approversEmpty)
  .superRefine(
    (list, ctx) => {
      const firstByKey = new Map<string, string>();
      list.forEach((entry, index) => {
        if (!isApproverRef(entry)) return;
        const written = formatOwner(entry);
        const key = written.toLowerCase();
        const first = firstByKey.get(key);
        if (first === undefined) firstByKey.set(key, written);
        else ctx.addIssue({ code: "custom", path: [index], message: m.approverRepeated(written, first) });
      });
    },
    // Find repeats among the entries that parsed, even when others did not.
    { when: (payload) => Array.isArray(payload.value) },
  );

/** Shortest and longest `request_ttl`. */
export const MIN_REQUEST_TTL_MS = 60_000;
export const MAX_REQUEST_TTL_MS = 30 * 24 * 3_600_000;

/** A duration from `min` to `max` milliseconds. */
function boundedDuration(key: string, min: number, max: number) {
  return durationField(key).refine((ms) => ms >= min && ms <= max, { error: m.durationOutOfRange(key, "1m", "30d") });
}

const secretShape = {
  /** Where the value is read at grant time: `env:VARIABLE` or `file:/absolute/path`. */
  source,
  /** Globs over `owner/name` of the repositories that may receive the secret; at least one. */
  repositories: z.array(repositoryGlob, { error: m.repositoriesNotList }).min(1, m.repositoriesEmpty),
  /** Names of the Actions environments that may receive the secret; at least one. */
  environments: z.array(environmentName, { error: m.environmentsNotList }).min(1, m.environmentsEmpty),
  /** Longest grant, e.g. `4h`; milliseconds after parsing. Required. */
  max_duration: durationField("max_duration"),
  /** Shortest grant, e.g. `5m`; milliseconds after parsing. No minimum unless set. */
  min_duration: durationField("min_duration").optional(),
  /** Distinct code owners of the requests file who must approve; 1 unless set. */
  approvals: approvalsField().default(1),
  /**
   * `@org/team` and `@user` entries: an approval counts only when its reviewer is also one of
   * these users or an active member of one of these teams. Required when `repositories` has a
   * wildcard; any code owner of the requests file may approve unless set.
   */
  approvers: approvers.optional(),
  /** A regular expression (compiled with the `u` flag) every request's reason must match. */
  reason_pattern: reasonPattern.optional(),
  /** Grant only into environments that have at least one protection rule; false unless set. */
  require_protected_environment: z.boolean({ error: m.requireProtectedEnvironment }).default(false),
  /**
   * Where jit-access is an environment's custom deployment protection rule, a grant of this
   * secret serves only its requester's own workflow runs (actor and triggering actor); false
   * unless set.
   */
  bind_to_requester: z.boolean({ error: m.bindToRequester }).default(false),
  // Request lapse and break-glass (issue 15): kept together.
  /** How long a request's head may wait for its approvals after its first evaluation, e.g. `24h`; 24h unless set. */
  request_ttl: boundedDuration("request_ttl", MIN_REQUEST_TTL_MS, MAX_REQUEST_TTL_MS).optional(),
  /** Break-glass allowed: granted at once without approval, for at most `max_duration`; not allowed unless set. */
  break_glass: z
    .strictObject({ max_duration: durationField("break_glass.max_duration") }, allowedKeys({ max_duration: 0 }, "break_glass"))
    .optional(),
  // Comment commands and the reminder before expiry (see src/commands/).
  /**
   * `/jit extend` allowed: each extension moves the expiry by at most `max`, at most `times`
   * times, never past `max_duration` counted from the grant's first write. Not allowed unless set.
   */
  extension: z
    .strictObject(
      {
        /** The most one `/jit extend` may add, e.g. `30m`. */
        max: durationField("extension.max"),
        /** How many times a grant may be extended: a whole number from 1 to 10. */
        times: z
          .number({
            error: (issue) =>
              issue.input === undefined
                ? "extension.times is required: how many times a grant may be extended, a whole number from 1 to 10"
                : "extension.times must be a whole number from 1 to 10",
          })
          .refine((n) => Number.isInteger(n) && n >= 1 && n <= 10, { error: "extension.times must be a whole number from 1 to 10" }),
      },
      {
        error: (issue) =>
          issue.code === "unrecognized_keys"
            ? "allowed keys are: max, times"
            : issue.code === "invalid_type"
              ? "extension must be a map with the keys max and times, e.g. {max: 30m, times: 1}"
              : undefined,
      },
    )
    .optional(),
  /** The requester is reminded this long before expiry; 10m unless set (half the grant for grants under 20m). */
  notify_before: durationField("notify_before").optional(),
};

/** One secret's policy. */
export const catalogSecretSchema = z.strictObject(secretShape, allowedKeys(secretShape, "a secret's policy")).superRefine(
  (secret, ctx) => {
    if (secret.min_duration !== undefined && secret.min_duration > secret.max_duration) {
      ctx.addIssue({ code: "custom", path: ["min_duration"], message: m.minOverMax });
    }
    const breakGlassMax: unknown = (secret.break_glass as { max_duration?: unknown } | undefined)?.max_duration;
    if (typeof breakGlassMax === "number" && breakGlassMax > secret.max_duration) {
      ctx.addIssue({ code: "custom", path: ["break_glass", "max_duration"], message: m.breakGlassOverMax });
    }
  },
  // Compare the bounds whenever both parsed, even if other keys of this secret have problems.
  { when: (payload) => bothDurationsParsed(payload.value) || breakGlassParsed(payload.value) },
);

/** Secrets keyed by their name in the environment, as written. */
const secrets = z
  .record(z.string(), catalogSecretSchema, {
    error: (issue) => (issue.input === undefined ? m.secretsRequired : issue.input === null ? m.secretsEmpty : m.secretsNotMap),
  })
  .superRefine(
    (map, ctx) => {
      const names = Object.keys(map);
      if (names.length === 0) {
        ctx.addIssue({ code: "custom", message: m.secretsEmpty });
      }
      const firstByCanonical = new Map<string, string>();
      for (const name of names) {
        const problem = secretNameProblem(name) ?? shadowedVariableProblem(name);
        if (problem !== null) ctx.addIssue({ code: "custom", path: [name], params: { at: "key" }, message: problem });
        const canonical = canonicalSecretName(name);
        const first = firstByCanonical.get(canonical);
        if (first === undefined) {
          firstByCanonical.set(canonical, name);
        } else {
          ctx.addIssue({ code: "custom", path: [name], params: { at: "key" }, message: m.sameSecret(name, first) });
        }
      }
    },
    // Check names even when some secret's policy has problems, so every problem is listed.
    { when: (payload) => isPlainObject(payload.value) },
  )
  .superRefine(
    (map, ctx) => {
      for (const [name, policy] of Object.entries(map)) wildcardsWithoutApprovers(name, policy, ctx);
    },
    // Here rather than in the secret's own schema, so that the message can name the secret.
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
  if (text.startsWith("env:")) return ENV_VARIABLE.test(text.slice(4)) ? null : m.envVariable;
  if (text.startsWith("file:")) {
    const path = text.slice(5);
    if (path.includes("\0")) return m.fileNul;
    return isAbsolute(path) ? null : m.fileRelative;
  }
  return m.sourceKind;
}

/** Every repository is a star on each side of the slash, which an operator may allow; `*` alone matches none. */
function repositoryGlobProblem(glob: string): string {
  return /^\*+$/u.test(glob) ? m.repositoryStarOnly(glob) : m.repositoryNotGlob(glob);
}

/**
 * A wildcard glob matches repositories created after the catalog was written, each with a
 * CODEOWNERS of its creator's choosing; only `approvers` keeps the choice of who approves with
 * the operator. Reported at each such glob, when the secret has no `approvers` key at all (a
 * key with a bad value has its own problem). Globs that are not valid are reported already.
 */
function wildcardsWithoutApprovers(name: string, policy: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(policy) || policy["approvers"] !== undefined) return;
  const repositories = policy["repositories"];
  if (!Array.isArray(repositories)) return;
  repositories.forEach((glob: unknown, index) => {
    if (typeof glob !== "string" || !REPOSITORY_GLOB.test(glob) || !hasWildcard(glob)) return;
    ctx.addIssue({ code: "custom", path: [name, "repositories", index], message: m.wildcardWithoutApprovers(name, glob) });
  });
}

function isApproverRef(value: unknown): value is ApproverRef {
  return isPlainObject(value) && (value["kind"] === "user" || value["kind"] === "team");
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    return m.reasonPatternInvalid(errorMessage(error));
  }
  const group = repeatedBranchingGroup(pattern);
  return group === null ? reasonPatternProblem(pattern) : m.reasonPatternNested(group);
}

function bothDurationsParsed(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  return typeof value["max_duration"] === "number" && typeof value["min_duration"] === "number";
}

function breakGlassParsed(value: unknown): boolean {
  if (!isPlainObject(value) || typeof value["max_duration"] !== "number") return false;
  const breakGlass = value["break_glass"];
  return isPlainObject(breakGlass) && typeof breakGlass["max_duration"] === "number";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
