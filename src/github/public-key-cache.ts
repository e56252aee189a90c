import { asciiLower } from "../util/ascii-case.js";

/** An environment's public key as GitHub gives it: secrets are sealed for `key`, and sent with `keyId`. */
export interface PublicKey {
  keyId: string;
  key: string;
}

/**
 * Environment public keys, kept per installation, repository (by id) and environment, so that a
 * warm grant seals without reading the key again. A key changes only when GitHub rotates it; a
 * PUT sealed for the old one is then refused (422), and the grant reads the key again, seals again
 * and retries once (`forget` drops the kept key if it is still the refused `keyId`).
 * At most `maxEntries` keys are kept; beyond that the oldest go first. A public key is no secret.
 */
export class PublicKeyCache {
  /** Answers, and reads still under way (so that a grant waits on the read gather started instead of sending another). */
  readonly #keys = new Map<string, Promise<PublicKey>>();

  constructor(readonly maxEntries = 10_000) {
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1))
      throw new RangeError(`maxEntries must be a whole number of at least 1, got ${maxEntries}`);
  }

  /**
   * The kept key, or the read under way, or `read`'s answer, which is then kept. A read that fails
   * fails for everyone who waits on it, and is not kept: the next `get` reads again.
   */
  get(scope: KeyScope, read: () => Promise<PublicKey>): Promise<PublicKey> {
    const id = keyOf(scope);
    const kept = this.#keys.get(id);
    if (kept !== undefined) return kept;
    const reading = read();
    while (this.#keys.size >= this.maxEntries) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(id, reading);
    reading.catch(() => {
      if (this.#keys.get(id) === reading) this.#keys.delete(id);
    });
    return reading;
  }

  /** Drops the kept key of `scope` when it is `keyId` (a newer one, kept meanwhile, stays). */
  async forget(scope: KeyScope, keyId: string): Promise<void> {
    const id = keyOf(scope);
    const kept = this.#keys.get(id);
    if (kept === undefined) return;
    const key = await kept.catch(() => null);
    if (key?.keyId === keyId && this.#keys.get(id) === kept) this.#keys.delete(id);
  }

  get size(): number {
    return this.#keys.size;
  }
}

export interface KeyScope {
  installationId: number;
  repositoryId: number;
  environment: string;
}

function keyOf({ installationId, repositoryId, environment }: KeyScope): string {
  return `${installationId}\u0000${repositoryId}\u0000${asciiLower(environment)}`;
}
