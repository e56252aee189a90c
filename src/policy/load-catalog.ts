/**
 * Loads the operator catalog (`JIT_CATALOG`) into the `Catalog` every other module uses.
 * Any problem stops the load: the app must not grant from a catalog it only half understood (the
 * server then runs revoke-only; see app/load-catalog-or-none.ts).
 */
import { readFile, stat } from "node:fs/promises";
import type { Catalog, CatalogSecret } from "./catalog.js";
import { catalogSchema, type CatalogSecretFile } from "./catalog-schema.js";
import { ConfigError } from "./config-error.js";
import { parseYamlConfig } from "./parse-yaml-config.js";
import { canonicalSecretName } from "./secret-name.js";

/** A catalog is a short list of policies; anything this large is not one. */
export const MAX_CATALOG_BYTES = 1024 * 1024;

/** Parses catalog text; throws ConfigError listing every problem with its line and column. */
export function parseCatalog(text: string, file: string): Catalog {
  const raw = parseYamlConfig(text, file, catalogSchema, { what: "the catalog", maxBytes: MAX_CATALOG_BYTES });
  const secrets = new Map<string, CatalogSecret>();
  for (const [name, policy] of Object.entries(raw.secrets)) {
    secrets.set(canonicalSecretName(name), toCatalogSecret(name, policy));
  }
  return { file, secrets };
}

/** Reads and parses the catalog at `path`; a missing or unreadable file is a ConfigError too. */
export async function loadCatalog(path: string): Promise<Catalog> {
  if (path === "") {
    throw new ConfigError("JIT_CATALOG", [
      { line: 1, column: 1, path: "", message: "no catalog path given; set JIT_CATALOG to the operator catalog file" },
    ]);
  }
  return parseCatalog(await readCatalogText(path), path);
}

async function readCatalogText(path: string): Promise<string> {
  const fail = (message: string, cause?: unknown): ConfigError =>
    new ConfigError(path, [{ line: 1, column: 1, path: "", message }], { cause });
  let size: number;
  let isFile: boolean;
  try {
    const info = await stat(path);
    size = info.size;
    isFile = info.isFile();
  } catch (error) {
    throw fail(readProblem(error), error);
  }
  if (!isFile) throw fail("the catalog is not a regular file; set JIT_CATALOG to the catalog's YAML file");
  if (size > MAX_CATALOG_BYTES) {
    throw fail(`the catalog is ${size} bytes; the limit is ${MAX_CATALOG_BYTES} bytes`);
  }
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw fail(readProblem(error), error);
  }
}

function readProblem(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "unknown error";
  switch (code) {
    case "ENOENT":
      return "the catalog file does not exist; set JIT_CATALOG to the path of the operator catalog";
    case "EACCES":
    case "EPERM":
      return `the catalog file cannot be read (${code}); let the app's user read it, or set JIT_CATALOG to a readable file`;
    default:
      return `the catalog file cannot be read (${code}); check the path in JIT_CATALOG`;
  }
}

function toCatalogSecret(name: string, policy: CatalogSecretFile): CatalogSecret {
  const secret: CatalogSecret = {
    name,
    source: policy.source,
    repositories: policy.repositories,
    environments: policy.environments,
    maxDurationMs: policy.max_duration,
    approvals: policy.approvals,
    approvers: policy.approvers ?? null,
    requireProtectedEnvironment: policy.require_protected_environment,
    bindToRequester: policy.bind_to_requester,
  };
  if (policy.min_duration !== undefined) secret.minDurationMs = policy.min_duration;
  if (policy.reason_pattern !== undefined) secret.reasonPattern = policy.reason_pattern;
  if (policy.request_ttl !== undefined) secret.requestTtlMs = policy.request_ttl;
  if (policy.break_glass !== undefined) secret.breakGlass = { maxDurationMs: policy.break_glass.max_duration };
  if (policy.extension !== undefined) secret.extension = { maxMs: policy.extension.max, times: policy.extension.times };
  if (policy.notify_before !== undefined) secret.notifyBeforeMs = policy.notify_before;
  return secret;
}
