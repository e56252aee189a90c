/**
 * Owners as CODEOWNERS and the catalog's `approvers` write them: `@user`, `@org/team` or an
 * email address. Shared by the CODEOWNERS parser (approve/) and the catalog (policy/).
 */
export type Owner = { kind: "user"; login: string } | { kind: "team"; org: string; slug: string } | { kind: "email"; email: string };

const USER_OWNER = /^@([A-Za-z0-9][A-Za-z0-9_-]*)$/u;
const TEAM_OWNER = /^@([A-Za-z0-9][A-Za-z0-9_-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/u;
const EMAIL_OWNER = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/u;

/** `@alice`, `@acme/dba` or `dba@example.com`, as written in CODEOWNERS. */
export function formatOwner(owner: Owner): string {
  switch (owner.kind) {
    case "user":
      return `@${owner.login}`;
    case "team":
      return `@${owner.org}/${owner.slug}`;
    case "email":
      return owner.email;
  }
}

/**
 * One owner token as GitHub reads it in CODEOWNERS: `@org/team`, `@user` or an email address;
 * null when the token is none of these. The catalog's `approvers` use the same syntax.
 */
export function parseOwner(token: string): Owner | null {
  const team = TEAM_OWNER.exec(token);
  if (team !== null) return { kind: "team", org: team[1] as string, slug: team[2] as string };
  const user = USER_OWNER.exec(token);
  if (user !== null) return { kind: "user", login: user[1] as string };
  if (EMAIL_OWNER.test(token)) return { kind: "email", email: token };
  return null;
}
