/**
 * Sequential round trips, read from the simulator's request log: the longest chain of requests
 * in which each was issued after the previous one was answered. Requests that overlap in time
 * went out in parallel and count once; a request that starts only when another has answered
 * (because it needs that answer, or simply because the caller awaited it) counts again. On a
 * network every link of the chain costs a full round trip, however fast the simulator answers.
 */

/** What the count needs of a request: when it arrived and when its answer was sent (epoch ms). */
export interface TimedRequest {
  receivedMs: number;
  answeredMs: number;
}

/**
 * The length of the longest chain of `requests` that ends with `last` (counted in), each link
 * received no earlier than the previous link was answered. `last` must be one of `requests`;
 * requests received after `last` are ignored.
 */
export function sequentialRoundTrips<T extends TimedRequest>(requests: readonly T[], last: T): number {
  const before = requests.filter((r) => r !== last && r.receivedMs <= last.receivedMs);
  return chainLengths([...before, last]).get(last)!;
}

/** The longest such chain among all of `requests` (0 for none). */
export function longestChain(requests: readonly TimedRequest[]): number {
  let longest = 0;
  for (const length of chainLengths(requests).values()) longest = Math.max(longest, length);
  return longest;
}

/** For each request, the longest chain that ends with it. */
function chainLengths<T extends TimedRequest>(requests: readonly T[]): Map<T, number> {
  // A chain's links are received in order, so each request's longest chain is known once every
  // request received before it is: by arrival, each looks back at those answered before it came.
  const byArrival = [...requests].sort((a, b) => a.receivedMs - b.receivedMs);
  const lengths = new Map<T, number>();
  for (const request of byArrival) {
    let longest = 0;
    for (const [earlier, length] of lengths) if (earlier.answeredMs <= request.receivedMs) longest = Math.max(longest, length);
    lengths.set(request, longest + 1);
  }
  return lengths;
}
