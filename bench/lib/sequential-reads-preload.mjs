// Loaded with `node --import` into the app process by bench/scenarios/peer-throttling.ts: the
// "sequential reads" variant of the grant path. Every GET the app sends with one credential (one
// installation's token, or the app's JWT) waits until the previous one was answered, so the
// reads that src/approve/gather-pull-request.ts sends together go out one after another, as a
// grant path that awaits each read in turn would send them. Writes and token requests are left
// alone (writes are paced anyway). The app's code is not changed: this wraps `fetch`, which
// Octokit calls for every request, before the app starts.
const originalFetch = globalThis.fetch;
/** Per credential: the answer of the last GET sent with it. */
const lanes = new Map();

function headerOf(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === "function") return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return String(value);
  return undefined;
}

globalThis.fetch = (input, init = {}) => {
  const method = String(init.method ?? (typeof input === "object" && input?.method) ?? "GET").toUpperCase();
  const credential = headerOf(init.headers, "authorization");
  if (method !== "GET" || credential === undefined) return originalFetch(input, init);
  const previous = lanes.get(credential) ?? Promise.resolve();
  const response = previous.then(() => originalFetch(input, init));
  const settled = response.then(
    () => undefined,
    () => undefined,
  );
  lanes.set(credential, settled);
  void settled.then(() => {
    if (lanes.get(credential) === settled) lanes.delete(credential);
  });
  return response;
};
