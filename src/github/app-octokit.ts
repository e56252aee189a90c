import { ProbotOctokit } from "probot";
import { pacingPlugin, type PacingOptions } from "./pacing-plugin.js";

/**
 * Statuses Probot's retry plugin leaves alone: its defaults, plus 429. A rate limit is the
 * pacing plugin's to answer, after the wait GitHub names; the retry plugin would resend at
 * once (1 s, 4 s, 9 s), before the reset.
 */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

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
    retry: { doNotRetry: DO_NOT_RETRY, ...((instance.retry as object | undefined) ?? {}), enabled: retry },
  })) as typeof ProbotOctokit;
}
