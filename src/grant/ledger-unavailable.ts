import { isStorageFailure } from "../ledger/storage-failure.js";
import { errorMessage } from "../util/error-message.js";

/**
 * The ledger could not record a grant (read-only database, full disk, lost connection). Nothing
 * may then be written to GitHub: the ledger is written first so that every secret has a record
 * that ends it. The message is the ledger's own, which says what to fix.
 */
export class LedgerUnavailableError extends Error {
  override name = "LedgerUnavailableError";
  constructor(cause: unknown) {
    super(errorMessage(cause).split("\n")[0]!.slice(0, 300), { cause });
  }
}

/**
 * Runs a ledger write in the grant path. A failure of the ledger's storage becomes a
 * LedgerUnavailableError, which the pull request is told about; anything else (a bug) is thrown
 * as it is, to be logged as a bug rather than blamed on the ledger.
 */
export async function ledgerWrite<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isStorageFailure(error)) throw new LedgerUnavailableError(error);
    throw error;
  }
}

/** What the pull request is told for a request the ledger could not record. */
export function unrecordedReason(error: LedgerUnavailableError): string {
  return `jit-access could not record the grant in its ledger, so it wrote nothing (${error.message}); an operator must fix the ledger`;
}
