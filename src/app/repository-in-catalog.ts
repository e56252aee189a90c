import type { Catalog } from "../policy/catalog.js";
import { repositoryAllowed } from "../policy/repo-glob.js";

/** Events from repositories that no catalog secret may go to are ignored: no calls, no writes. */
export function repositoryInCatalog(catalog: Catalog, fullName: string): boolean {
  for (const secret of catalog.secrets.values()) if (repositoryAllowed(secret.repositories, fullName)) return true;
  return false;
}
