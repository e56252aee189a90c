/**
 * Parses a repository's `.github/jit-access.yml` (from its default branch). The file comes from
 * the repository, so it is treated as hostile input: size-capped, aliases refused, strict keys.
 */
import { parseYamlConfig } from "./parse-yaml-config.js";
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "./repo-config.js";
import { repoConfigSchema } from "./repo-config-schema.js";

export const REPO_CONFIG_PATH = ".github/jit-access.yml";
export const MAX_REPO_CONFIG_BYTES = 64 * 1024;

/**
 * `text` is null when the file does not exist on the default branch: the defaults apply.
 * An empty file (or one with only comments) also means the defaults.
 * Throws ConfigError listing every problem with its line and column.
 */
export function parseRepoConfig(text: string | null, file = REPO_CONFIG_PATH): RepoConfig {
  if (text === null) return { ...DEFAULT_REPO_CONFIG };
  const raw = parseYamlConfig(text, file, repoConfigSchema, {
    what: "the repository config",
    maxBytes: MAX_REPO_CONFIG_BYTES,
    emptyDocument: {},
  });
  const config: RepoConfig = { requestsFile: raw.requests_file };
  if (raw.max_duration !== undefined) config.maxDurationMs = raw.max_duration;
  if (raw.approvals !== undefined) config.approvals = raw.approvals;
  if (raw.bind_to_requester !== undefined) config.bindToRequester = raw.bind_to_requester;
  if (raw.break_glass !== undefined) config.breakGlass = raw.break_glass;
  return config;
}
