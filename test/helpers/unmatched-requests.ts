import nock from "nock";

/**
 * Requests that reached nock without a matching mock, as "METHOD path". Revocation reports to
 * the pull request on a best-effort basis and swallows errors, so "made no other call" is
 * asserted here rather than through a rejection.
 */
export function recordUnmatchedRequests(): { requests: string[]; stop(): void } {
  const requests: string[] = [];
  const listener = (request: { method?: string; path?: string }): void => {
    requests.push(`${request.method ?? "?"} ${request.path ?? "?"}`);
  };
  nock.emitter.on("no match", listener);
  return { requests, stop: () => void nock.emitter.removeListener("no match", listener) };
}
