import type { Catalog } from "../policy/catalog.js";
import type { ValueEnvironment } from "../grant/read-secret-value.js";
import type { LedgerStore, Grant } from "../ledger/store.js";
import type { Clock } from "../util/clock.js";
import type { SecretLocker } from "../ledger/secret-locks.js";
import type { LookupCache } from "../github/lookup-cache.js";
import type { PublicKeyCache } from "../github/public-key-cache.js";
import type { RateLimitReserve } from "../github/rate-limit-reserve.js";
import type { AppOctokit } from "../github/repo-client.js";
import type { Notifier } from "../feedback/notifier.js";

/** The logger shape the lifecycle uses (Probot's pino logger fits). */
export interface Log {
  trace?(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What the use cases need from the outside world; built in one place, `createLifecycleDeps`. */
export interface LifecycleDeps {
  store: LedgerStore;
  catalog: Catalog;
  clock: Clock;
  /** The variables `env:` value sources read from (the app's own environment). */
  sourceEnv: ValueEnvironment;
  /**
   * One writer at a time per repository/environment/secret: `SecretLocks` across every process
   * sharing the ledger (the server and the CLI wire it); a `KeyedMutex` within one process.
   */
  locks: SecretLocker;
  /** An installation-authenticated Octokit. */
  octokitFor(installationId: number): Promise<AppOctokit>;
  /**
   * The app itself (JWT): finds the installation that covers a repository transferred to another
   * owner, so that its grants still end there. None: a transferred repository is lost access.
   */
  appOctokit?(): Promise<AppOctokit>;
  /**
   * How grant comments refer to the require-grant action in workflow snippets, e.g.
   * `acme/jit-access/.github/actions/require-grant@v1` (JIT_ACTION_REF); default: a copy of the
   * action in the requesting repository.
   */
  actionRef?: string;
  /**
   * Permission and membership answers kept for a minute per PR head, so that events that repeat
   * on a head cost no repeated lookups; none: every evaluation reads them all.
   */
  lookups?: LookupCache;
  /** Environment public keys kept per `key_id`, so that a warm grant does not read its key; none: read for every grant. */
  publicKeys?: PublicKeyCache;
  /** Holds new evaluations back when an installation's rate limit is nearly spent (revocations go on). */
  rateLimits?: RateLimitReserve;
  /** Called when a grant becomes active, so the expiry scheduler can arm a timer. */
  onGranted?(grant: Grant): void;
  /**
   * Set when the catalog failed to load (`catalog` then allows nothing): the app runs
   * revoke-only. Grants still end — at expiry, when their PR closes, when their approval is
   * withdrawn — but nothing is granted, deferred grants are not retried, and a pull request that
   * asks for access is told why. `why` is the loader's message, for the operator's log only.
   */
  revokeOnly?: { why: string };
  /** Called when a live grant's expiry moved (`/jit extend`), so the expiry scheduler re-arms its timer. */
  onExpiryMoved?(grant: Grant): void;
  /** Called when a grant's write is deferred (GitHub could not take it), so it is retried on a timer at its `nextAttemptAt`. */
  onDeferred?(grant: Grant): void;
  /** Queues events for JIT_NOTIFY_URL in the ledger's outbox (never delivers them itself); none: no notifications. */
  notifier?: Notifier;
}
