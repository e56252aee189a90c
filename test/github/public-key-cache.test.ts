import { describe, expect, it } from "@jest/globals";
import { PublicKeyCache } from "../../src/github/public-key-cache.js";

const scope = { installationId: 42, repositoryId: 7, environment: "Production" };

describe("PublicKeyCache", () => {
  it("reads an environment's key once, whatever the case of its name, and per installation and repository", async () => {
    const cache = new PublicKeyCache();
    let reads = 0;
    const read = async () => ({ keyId: `k${++reads}`, key: "AAAA" });
    const [a, b] = await Promise.all([cache.get(scope, read), cache.get({ ...scope, environment: "production" }, read)]);
    expect(a).toEqual({ keyId: "k1", key: "AAAA" });
    expect(b).toBe(a);
    expect(reads).toBe(1);
    await cache.get({ ...scope, repositoryId: 8 }, read);
    await cache.get({ ...scope, installationId: 43 }, read);
    expect(reads).toBe(3);
  });

  it("keeps no failed read, but those waiting on it see the failure", async () => {
    const cache = new PublicKeyCache();
    const failing = cache.get(scope, async () => {
      throw new Error("502");
    });
    const waiting = cache.get(scope, async () => ({ keyId: "never", key: "" }));
    await expect(failing).rejects.toThrow("502");
    await expect(waiting).rejects.toThrow("502");
    expect(await cache.get(scope, async () => ({ keyId: "k2", key: "BBBB" }))).toEqual({ keyId: "k2", key: "BBBB" });
  });

  it("forgets a refused key only while it is still the one kept", async () => {
    const cache = new PublicKeyCache();
    await cache.get(scope, async () => ({ keyId: "old", key: "AAAA" }));
    await cache.forget(scope, "other");
    expect((await cache.get(scope, async () => ({ keyId: "new", key: "BBBB" }))).keyId).toBe("old");
    await cache.forget(scope, "old");
    expect((await cache.get(scope, async () => ({ keyId: "new", key: "BBBB" }))).keyId).toBe("new");
  });

  it("keeps at most maxEntries keys, dropping the oldest", async () => {
    const cache = new PublicKeyCache(2);
    for (const environment of ["a", "b", "c"]) await cache.get({ ...scope, environment }, async () => ({ keyId: environment, key: "" }));
    expect(cache.size).toBe(2);
    expect((await cache.get({ ...scope, environment: "a" }, async () => ({ keyId: "a2", key: "" }))).keyId).toBe("a2");
  });
});
