import type { LedgerStore } from "./store.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { asciiLower, asciiUpper } from "../util/ascii-case.js";

/** One at a time per key (`secretLockKey`): what the lifecycle needs of a lock. `KeyedMutex` is one, within a process. */
export interface SecretLocker {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/**
 * One at a time per secret across every process that shares the ledger (the server, its
 * replicas, the CLI beside them): a grant's PUT and a revocation's "count the other live grants,
 * then DELETE" of one secret never interleave, whichever process runs them. Calls of this process
 * take turns in memory first (`KeyedMutex`), so only one of them at a time waits for, and holds,
 * the ledger's lock (`LedgerStore.withSecretLock`: an advisory lock in PostgreSQL, a lease row in
 * SQLite). A wait longer than `timeoutMs` rejects with `SecretLockTimeoutError` and runs nothing.
 */
export class SecretLocks implements SecretLocker {
  readonly #local = new KeyedMutex();

  constructor(
    private readonly store: Pick<LedgerStore, "withSecretLock">,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.#local.run(key, () => this.store.withSecretLock(key, task, this.options));
  }

  /** Keys with work running or waiting in this process (for tests and diagnostics). */
  get size(): number {
    return this.#local.size;
  }
}

/** The lock key for one secret in one environment of one repository. */
export function secretLockKey(owner: string, repo: string, environment: string, secret: string): string {
  return asciiLower(`${owner}/${repo}`) + `\u0000${asciiLower(environment)}\u0000${asciiUpper(secret)}`;
}
