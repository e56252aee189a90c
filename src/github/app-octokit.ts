import { ProbotOctokit } from "probot";
import { pacingPlugin, type PacingOptions } from "./pacing-plugin.js";

/**
 * The Octokit class the app runs with: Probot's, with its process-wide throttling queue turned
 * off and replaced by per-installation, priority-ordered pacing (see write-scheduler.ts).
 * Probot's retry plugin stays on for server errors unless `retry: false`.
 */
export function createAppOctokit(pacing: PacingOptions, options: { retry?: boolean } = {}): typeof ProbotOctokit {
  const retry = options.retry ?? true;
  return ProbotOctokit.plugin(pacingPlugin(pacing)).defaults((instance: Record<string, unknown>) => ({
    ...instance,
    throttle: { ...((instance.throttle as object | undefined) ?? {}), enabled: false },
    retry: { ...((instance.retry as object | undefined) ?? {}), enabled: retry },
  })) as typeof ProbotOctokit;
}
