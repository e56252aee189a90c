/**
 * The policy checks for one added entry: the secret is in the catalog and may go to this
 * repository and environment, the environment exists, the duration and reason fit the
 * effective policy. Every problem is reported, each at the value it is about. Pure.
 */
import type { Catalog, CatalogSecret } from "../policy/catalog.js";
import { effectivePolicy, type EffectivePolicy } from "../policy/effective-policy.js";
import type { RepoConfig } from "../policy/repo-config.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { canonicalSecretName, secretNameProblem } from "../policy/secret-name.js";
import { sameName } from "../util/ascii-case.js";
import { closestName } from "./closest-name.js";
import { formatDuration, parseDuration } from "../util/duration.js";
import type { RequestEntry, Span } from "./parse-requests.js";
import { matchReasonPattern, type ReasonMatcher } from "../policy/match-reason-pattern.js";
import type { Problem } from "./problem.js";
import { MAX_REASON_LENGTH, MIN_REASON_LENGTH, validationMessages as say } from "./request-messages.js";

export interface EntryContext {
  catalog: Catalog;
  repoConfig: RepoConfig;
  repository: string;
  /** Existing environment names; undefined skips the existence check. */
  environments?: readonly string[];
  /** Names of the environments with a protection rule; undefined skips `require_protected_environment`. */
  protectedEnvironments?: readonly string[];
}

/** An added entry that passed every check, with what granting it needs. */
export interface ValidRequest {
  entry: RequestEntry;
  secret: CatalogSecret;
  /** The environment's name as the repository spells it when known, else as written. */
  environment: string;
  durationMs: number;
  /** Trimmed. */
  reason: string;
  /** Distinct code-owner approvals needed: the effective policy's. */
  approvals: number;
  /** The grant serves only the requester's own workflow runs where jit-access is the environment's protection rule. */
  boundToRequester: boolean;
  /** `break_glass: true`, allowed by the catalog and the repository: granted at once without approval. */
  breakGlass: boolean;
}

export interface EntryVerdict {
  problems: Problem[];
  /** Null when there is any problem. */
  request: ValidRequest | null;
}

/** `matchReason` tests reasons against the catalog's reason_pattern; share one across a file. */
export function checkEntry(entry: RequestEntry, context: EntryContext, matchReason: ReasonMatcher = matchReasonPattern): EntryVerdict {
  const problems: Problem[] = [];
  const report = (key: keyof RequestEntry["fields"], message: string): void => {
    problems.push(placed(entry, entry.fields[key], message));
  };

  const secret = findSecret(entry, context, (message) => report("secret", message));
  const policy = secret === null ? null : effectivePolicy(secret, context.repoConfig);
  const name = secret === null ? canonicalSecretName(entry.secret) : canonicalSecretName(secret.name);

  const environment = checkEnvironment(entry.environment, secret, name, context, (message) => report("environment", message));
  const durationMs = checkDuration(entry.duration, policy, name, (message) => report("duration", message));
  checkReason(entry.reason, policy, name, matchReason, (message) => report("reason", message));
  if (entry.breakGlass && secret !== null) {
    if (secret.breakGlass === undefined) report("break_glass", say.breakGlassNotAllowed(name));
    else if (context.repoConfig.breakGlass === false) report("break_glass", say.breakGlassForbidden());
    else if (durationMs !== null && durationMs > secret.breakGlass.maxDurationMs) {
      report("duration", say.breakGlassOverMax(entry.duration, formatDuration(secret.breakGlass.maxDurationMs), name));
    }
  }

  if (problems.length > 0 || secret === null || policy === null || durationMs === null) return { problems, request: null };
  return {
    problems,
    request: {
      entry,
      secret,
      environment,
      durationMs,
      reason: entry.reason,
      approvals: policy.approvals,
      boundToRequester: policy.boundToRequester,
      breakGlass: entry.breakGlass,
    },
  };
}

/** The catalog secret the entry names, if it exists and may go to this repository. */
function findSecret(entry: RequestEntry, context: EntryContext, report: (message: string) => void): CatalogSecret | null {
  const { catalog, repository } = context;
  const grantable = [...catalog.secrets.values()]
    .filter((secret) => repositoryAllowed(secret.repositories, repository))
    .map((secret) => canonicalSecretName(secret.name));
  const invalid = secretNameProblem(entry.secret);
  if (invalid !== null) {
    report(say.invalidSecretName(entry.secret, invalid, closestName(entry.secret, grantable)));
    return null;
  }
  const name = canonicalSecretName(entry.secret);
  const secret = catalog.secrets.get(name);
  if (secret === undefined) {
    report(say.unknownSecret(name, closestName(name, grantable)));
    return null;
  }
  if (!repositoryAllowed(secret.repositories, repository)) {
    report(say.secretNotForRepository(name, repository));
    return null;
  }
  return secret;
}

/** The environment as the repository spells it (or as written when offline). */
function checkEnvironment(
  written: string,
  secret: CatalogSecret | null,
  name: string,
  context: EntryContext,
  report: (message: string) => void,
): string {
  if (written === "") {
    report(say.environmentEmpty());
    return written;
  }
  if (secret !== null && findName(secret.environments, written) === undefined) {
    report(say.environmentNotAllowed(name, written, secret.environments));
  }
  if (context.environments === undefined) return written;
  const existing = findName(context.environments, written);
  if (existing === undefined) report(say.environmentMissing(written, context.repository, context.environments));
  else if (
    secret?.requireProtectedEnvironment === true &&
    context.protectedEnvironments !== undefined &&
    findName(context.protectedEnvironments, existing) === undefined
  ) {
    report(say.environmentUnprotected(name, existing));
  }
  return existing ?? written;
}

/** GitHub compares environment names ignoring ASCII case only. */
function findName(names: readonly string[], wanted: string): string | undefined {
  return names.find((candidate) => sameName(candidate, wanted));
}

function checkDuration(written: string, policy: EffectivePolicy | null, name: string, report: (message: string) => void): number | null {
  const parsed = parseDuration(written);
  if (!parsed.ok) {
    report(parsed.error);
    return null;
  }
  if (policy === null) return parsed.ms;
  if (parsed.ms > policy.maxDurationMs) {
    report(say.overMax(written, formatDuration(policy.maxDurationMs), name));
    return null;
  }
  if (policy.minDurationMs !== undefined && parsed.ms < policy.minDurationMs) {
    report(say.underMin(written, formatDuration(policy.minDurationMs), name));
    return null;
  }
  return parsed.ms;
}

function checkReason(
  reason: string,
  policy: EffectivePolicy | null,
  name: string,
  matchReason: ReasonMatcher,
  report: (message: string) => void,
): void {
  const length = [...reason].length;
  if (length === 0) return report(say.reasonMissing());
  if (length < MIN_REASON_LENGTH) return report(say.reasonTooShort(length));
  if (length > MAX_REASON_LENGTH) return report(say.reasonTooLong(length));
  if (policy?.reasonPattern === undefined) return;
  switch (matchReason(policy.reasonPattern, reason)) {
    case "invalid-pattern":
      return report(say.reasonPatternBroken(name));
    case "mismatch":
      return report(say.reasonMismatch(policy.reasonPattern, name));
    case "match":
      return;
  }
}

function placed(entry: RequestEntry, span: Span | undefined, message: string): Problem {
  return span === undefined ? { line: entry.line, column: 1, message } : { ...span, message };
}
