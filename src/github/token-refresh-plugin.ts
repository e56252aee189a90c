import type { Octokit } from "@octokit/core";
import { statusOf } from "./github-failure.js";

type RequestFn = (options: unknown) => Promise<unknown>;

/**
 * An installation token that GitHub refuses (401: expired early, revoked, or a clock out of
 * step) is replaced once and the request sent again. Probot caches installation tokens for 59
 * minutes and never drops one that stopped working, so without this every grant and every
 * revocation of that installation fails until the cache entry runs out.
 */
export function tokenRefreshPlugin(octokit: Octokit, options: { auth?: unknown }) {
  const installationId = (options.auth as { installationId?: number | string } | undefined)?.installationId;
  if (installationId === undefined) return {};
  octokit.hook.wrap("request", async (request, requestOptions) => {
    const send = request as unknown as RequestFn;
    try {
      return (await send(requestOptions)) as never;
    } catch (error) {
      if (statusOf(error) !== 401) throw error;
      const { method, url } = requestOptions as unknown as { method: string; url: string };
      octokit.log.warn(
        `GitHub refused installation ${installationId}'s token on ${method} ${url} (401); fetching a new token and retrying once`,
      );
      await octokit.auth({ type: "installation", installationId, refresh: true });
      return (await send(requestOptions)) as never;
    }
  });
  return {};
}
