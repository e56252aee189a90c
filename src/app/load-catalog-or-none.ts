/**
 * The catalog for the server and for `jit-access sweep`, neither of which may let a broken
 * catalog stop revocation. Revoking a grant never reads the catalog (the ledger row says what to
 * delete); only granting, and retrying a deferred grant, need it. So a catalog that cannot be
 * used — `JIT_CATALOG` unset, the file missing, unsafe (see settings-file.ts) or invalid — is
 * reported, not thrown: the caller goes on without it, with a catalog that allows nothing.
 */
import type { Catalog } from "../policy/catalog.js";
import { loadCatalog } from "../policy/load-catalog.js";
import { checkSettingsFile } from "./settings-file.js";
import { errorMessage } from "../util/error-message.js";

/** Allows nothing: no secret, no repository. What runs in place of a catalog that failed to load. */
export const NO_CATALOG: Catalog = { file: "(no catalog loaded)", secrets: new Map() };

export type CatalogLoad =
  | { ok: true; catalog: Catalog }
  /** `why` is the loader's own message (file, line, field): for the operator's log, not for pull requests. */
  | { ok: false; catalog: Catalog; unset: boolean; why: string };

export async function loadCatalogOrNone(path: string): Promise<CatalogLoad> {
  if (path.trim() === "") {
    return {
      ok: false,
      catalog: NO_CATALOG,
      unset: true,
      why: "JIT_CATALOG is not set: the path of the operator catalog (jit-catalog.yml) that lists the secrets the app may grant.",
    };
  }
  try {
    checkSettingsFile(path, "JIT_CATALOG", { ifPresent: true });
    return { ok: true, catalog: await loadCatalog(path) };
  } catch (error) {
    return { ok: false, catalog: NO_CATALOG, unset: false, why: errorMessage(error) };
  }
}
