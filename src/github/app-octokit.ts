import { ProbotOctokit } from "probot";
import { pacingPlugin, type PacingOptions } from "./pacing-plugin.js";
import { tokenRefreshPlugin } from "./token-refresh-plugin.js";

/**
 * Statuses Probot's retry plugin leaves alone: its defaults, plus 429. A rate limit is the
 * pacing plugin's to answer, after the wait GitHub names; the retry plugin would resend at
 * once (1 s, 4 s, 9 s), before the reset.
 */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

/**
 * The Octokit class the app runs with: Probot's, with its throttling (first come, first served
 * within an installation) turned off and replaced by per-installation, priority-ordered pacing
 * (see write-scheduler.ts), and a refused installation token replaced once
 * (token-refresh-plugin.ts). Probot's retry plugin stays on for server errors unless
 * `retry: false`.
 *
 * `"probot-throttling"` in place of the pacing options keeps Probot's own throttling instead
 * (`@octokit/plugin-throttling` as Probot configures it: FIFO, writes 1 s and comments 3 s apart
 * per installation). Only the benchmarks ask for it, to measure the app against that peer.
 */
export function createAppOctokit(pacing: PacingOptions | "probot-throttling", options: { retry?: boolean } = {}): typeof ProbotOctokit {
  const retry = options.retry ?? true;
  const stock = pacing === "probot-throttling";
  const plugins = stock ? [tokenRefreshPlugin] : [tokenRefreshPlugin, pacingPlugin(pacing)];
  return ProbotOctokit.plugin(...plugins).defaults<typeof ProbotOctokit>((instance: Record<string, unknown>) => ({
    ...instance,
    ...authOnApiHost(instance),
    ...(stock ? {} : { throttle: { ...((instance.throttle as object | undefined) ?? {}), enabled: false } }),
    retry: { doNotRetry: DO_NOT_RETRY, ...((instance.retry as object | undefined) ?? {}), enabled: retry },
  }));
}

type AuthRequest = { defaults(options: { baseUrl: string }): AuthRequest };

/**
 * Probot hands the app authentication a request function without the API's base URL, so a
 * token asked for directly (`octokit.auth({ type: "installation", refresh: true })`, as the
 * token refresh does) would go to api.github.com even on GitHub Enterprise Server.
 */
function authOnApiHost(instance: Record<string, unknown>): { auth?: Record<string, unknown> } {
  const auth = instance.auth as { request?: Partial<AuthRequest> } | undefined;
  const baseUrl = instance.baseUrl;
  if (typeof baseUrl !== "string" || typeof auth?.request?.defaults !== "function") return {};
  return { auth: { ...auth, request: (auth.request as AuthRequest).defaults({ baseUrl }) } };
}
