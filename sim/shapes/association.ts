import type { SimState } from "../model/state.js";
import type { SimRepo } from "../model/types.js";

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "NONE";

/** How GitHub labels a person's relation to a repository on their PRs, reviews and comments. */
export function authorAssociation(state: SimState, repo: SimRepo, login: string): AuthorAssociation {
  if (repo.owner.login.toLowerCase() === login.toLowerCase()) return "OWNER";
  if (repo.owner.type === "Organization" && state.isOrgMember(repo.owner.login, login)) return "MEMBER";
  if (repo.collaborators.has(login.toLowerCase())) return "COLLABORATOR";
  return "NONE";
}
