import type nock from "nock";

export interface NockTraffic {
  /** Requests the scope has taken, in order, as "METHOD /path" (path percent-decoded). */
  sent: string[];
  /** Requests taken whose response body nock has not finished sending. */
  readonly unanswered: number;
  /** Resolves once every request taken so far has been answered in full (at once when none is open). */
  answered(): Promise<void>;
}

/**
 * Follows one nock scope's requests through its events ("request" when one is taken, "replied"
 * once its response has been sent in full), so that a test on a manual clock can wait for GitHub's
 * answers to reach the app before it moves time on, instead of flushing a number of turns.
 */
export function nockTraffic(scope: nock.Scope): NockTraffic {
  const sent: string[] = [];
  let unanswered = 0;
  let waiting: (() => void)[] = [];
  scope.on("request", (request: { method: string; path: string }) => {
    sent.push(`${request.method} ${decodeURIComponent(request.path)}`);
    unanswered++;
  });
  scope.on("replied", () => {
    unanswered--;
    if (unanswered > 0) return;
    const resolved = waiting;
    waiting = [];
    for (const resolve of resolved) resolve();
  });
  return {
    sent,
    get unanswered() {
      return unanswered;
    },
    answered: () => (unanswered === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
  };
}
