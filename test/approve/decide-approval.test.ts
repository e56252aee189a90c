import { describe, expect, it } from "@jest/globals";
import type { Owner } from "../../src/approve/codeowners.js";
import {
  decideApproval,
  replacesVerdict,
  type ApprovalDecision,
  type ApprovalInput,
  type Review,
} from "../../src/approve/decide-approval.js";
import type { Permission } from "../../src/github/repo-client.js";
import type { ApproverRef } from "../../src/policy/catalog.js";

const HEAD = "c0ffee0000000000000000000000000000000000";
const OLD = "0ld0000000000000000000000000000000000000";

const alice = { id: 1, login: "alice" };
const bob = { id: 2, login: "bob" };
const dave = { id: 4, login: "dave" }; // the PR's author
const erin = { id: 5, login: "erin" }; // member of @acme/dba and @acme/sre
const frank = { id: 6, login: "frank" }; // member of no team
const mallory = { id: 7, login: "mallory" }; // owns nothing

const user = (login: string): Owner => ({ kind: "user", login });
const team = (org: string, slug: string): Owner => ({ kind: "team", org, slug });
const email = (address: string): Owner => ({ kind: "email", email: address });

const OWNERS: Owner[] = [user("alice"), user("bob"), team("acme", "dba")];
const TEAMS = new Map<string, ReadonlySet<number>>([
  ["acme/dba", new Set([erin.id])],
  ["acme/sre", new Set([erin.id, dave.id])],
]);

/** Everyone here can write, and both teams have write access, unless a row says otherwise. */
const WRITERS = new Map<number, Permission>([alice, bob, dave, erin, frank, mallory].map((p) => [p.id, "write"]));
const TEAM_ACCESS = new Map<string, Permission>([
  ["acme/dba", "write"],
  ["acme/sre", "maintain"],
]);

let nextReviewId = 100;
function review(reviewer: Review["user"], state: string, commit: string | null = HEAD): Review {
  nextReviewId += 1;
  return { id: nextReviewId, user: reviewer, state, commit_id: commit, submitted_at: "2024-05-01T10:00:00Z" };
}

interface Row {
  name: string;
  reviews: Review[];
  owners?: Owner[];
  required?: number;
  requestsFile?: string;
  permissions?: Map<number, Permission>;
  teamAccess?: Map<string, Permission>;
  allowed?: ApproverRef[];
  expected: Omit<ApprovalDecision, "required">;
}

const WAITING_FOR_ONE = "0 of 1 approval; waiting for a code owner: @alice, @bob, @acme/dba";

const rows: Row[] = [
  {
    name: "an owner demoted to read no longer counts",
    reviews: [review(alice, "APPROVED")],
    permissions: new Map([...WRITERS, [alice.id, "read"]]),
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "has read access to the repository; a code owner needs write access" }],
    },
  },
  {
    name: "an owner removed from the repository no longer counts",
    reviews: [review(bob, "APPROVED")],
    permissions: new Map([...WRITERS].filter(([id]) => id !== bob.id)),
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "bob", why: "has no access to the repository; a code owner needs write access" }],
    },
  },
  {
    name: "a reviewer who cannot write is refused for that, their teams unknown (not looked up)",
    reviews: [review(frank, "APPROVED")],
    permissions: new Map([...WRITERS, [frank.id, "read"]]),
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "frank", why: "has read access to the repository; a code owner needs write access" }],
    },
  },
  {
    name: "a member of an owning team without write access to the repository does not count",
    reviews: [review(erin, "APPROVED")],
    teamAccess: new Map([["acme/dba", "read"]]),
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "erin", why: "is a code owner only through @acme/dba, which has no write access to the repository" }],
    },
  },
  {
    name: "catalog approvers: a code owner outside the list does not count",
    reviews: [review(alice, "APPROVED")],
    allowed: [
      { kind: "user", login: "bob" },
      { kind: "team", org: "acme", slug: "dba" },
    ],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "is not among the catalog's approvers for this secret (@bob, @acme/dba)" }],
    },
  },
  {
    name: "catalog approvers: a code owner who is in a listed team counts",
    reviews: [review(erin, "APPROVED")],
    allowed: [{ kind: "team", org: "ACME", slug: "DBA" }],
    expected: {
      approved: true,
      approvers: [{ ...erin, via: "@acme/dba", permission: "write" }],
      summary: "1 of 1 approval: @erin",
      ignored: [],
    },
  },
  {
    name: "catalog approvers: being listed does not make someone a code owner",
    reviews: [review(mallory, "APPROVED")],
    allowed: [{ kind: "user", login: "mallory" }],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "mallory", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "a code owner's approval of the head counts",
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "each counted approver comes with the permission read for this decision, and the entry they own through",
    required: 2,
    reviews: [review(alice, "APPROVED"), review(erin, "APPROVED")],
    permissions: new Map([...WRITERS, [alice.id, "admin"], [erin.id, "maintain"]]),
    expected: {
      approved: true,
      approvers: [
        { ...alice, via: "@alice", permission: "admin" },
        { ...erin, via: "@acme/dba", permission: "maintain" },
      ],
      summary: "2 of 2 approvals: @alice, @erin",
      ignored: [],
    },
  },
  {
    name: "self-approval: the author never counts, even when named as an owner",
    owners: [user("dave"), ...OWNERS],
    reviews: [review(dave, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "dave", why: "is the author of the pull request, who cannot approve their own request" }],
    },
  },
  {
    name: "self-approval through a team the author belongs to",
    owners: [team("acme", "sre")],
    reviews: [review(dave, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: "0 of 1 approval; waiting for a code owner: @acme/sre",
      ignored: [{ login: "dave", why: "is the author of the pull request, who cannot approve their own request" }],
    },
  },
  {
    name: "stale: approved an older commit",
    reviews: [review(alice, "APPROVED", OLD)],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "approved an older commit (0ld0000), not the current head" }],
    },
  },
  {
    name: "an approval without a commit does not count",
    reviews: [review(alice, "APPROVED", null)],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "approved an unknown commit, not the current head" }],
    },
  },
  {
    name: "head moved after the reviews: approvals of the previous head do not count",
    required: 2,
    reviews: [review(alice, "APPROVED", OLD), review(erin, "APPROVED", OLD)],
    expected: {
      approved: false,
      approvers: [],
      summary: "0 of 2 approvals; waiting for 2 code owners: @alice, @bob, @acme/dba",
      ignored: [
        { login: "alice", why: "approved an older commit (0ld0000), not the current head" },
        { login: "erin", why: "approved an older commit (0ld0000), not the current head" },
      ],
    },
  },
  {
    name: "a re-approval of the head after a push counts",
    reviews: [review(alice, "APPROVED", OLD), review(alice, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "a later approval of an older commit replaces an approval of the head",
    reviews: [review(alice, "APPROVED"), review(alice, "APPROVED", OLD)],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "approved an older commit (0ld0000), not the current head" }],
    },
  },
  {
    name: "dismissed",
    reviews: [review(alice, "DISMISSED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "review was dismissed" }],
    },
  },
  {
    name: "approval superseded by CHANGES_REQUESTED",
    reviews: [review(alice, "APPROVED"), review(alice, "CHANGES_REQUESTED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice", why: "requested changes" }],
    },
  },
  {
    name: "CHANGES_REQUESTED then APPROVED counts",
    reviews: [review(alice, "CHANGES_REQUESTED"), review(alice, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "approval then COMMENTED still counts (GitHub keeps the approval)",
    reviews: [review(alice, "APPROVED"), review(alice, "COMMENTED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "approval then PENDING still counts",
    reviews: [review(alice, "APPROVED"), review(alice, "PENDING", null)],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "a comment alone is no approval and is not listed",
    reviews: [review(alice, "COMMENTED")],
    expected: { approved: false, approvers: [], summary: WAITING_FOR_ONE, ignored: [] },
  },
  {
    name: "team member counts via the team",
    reviews: [review(erin, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...erin, via: "@acme/dba", permission: "write" }],
      summary: "1 of 1 approval: @erin",
      ignored: [],
    },
  },
  {
    name: "non-member of the owning team",
    reviews: [review(frank, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "frank", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "a team missing from the membership map has no known members",
    owners: [team("acme", "unknown")],
    reviews: [review(erin, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: "0 of 1 approval; waiting for a code owner: @acme/unknown",
      ignored: [{ login: "erin", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "team names match case-insensitively",
    owners: [team("ACME", "DBA")],
    reviews: [review(erin, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...erin, via: "@ACME/DBA", permission: "write" }],
      summary: "1 of 1 approval: @erin",
      ignored: [],
    },
  },
  {
    name: "non-owner",
    reviews: [review(mallory, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "mallory", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "N-of-M: 2 required, 1 given",
    required: 2,
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: false,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 2 approvals: @alice; waiting for another code owner: @bob, @acme/dba",
      ignored: [],
    },
  },
  {
    name: "N-of-M: 2 required, 2 given",
    required: 2,
    reviews: [review(alice, "APPROVED"), review(mallory, "APPROVED"), review(erin, "APPROVED")],
    expected: {
      approved: true,
      approvers: [
        { ...alice, via: "@alice", permission: "write" },
        { ...erin, via: "@acme/dba", permission: "write" },
      ],
      summary: "2 of 2 approvals: @alice, @erin",
      ignored: [{ login: "mallory", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "N-of-M: 3 required, none given",
    required: 3,
    reviews: [],
    expected: {
      approved: false,
      approvers: [],
      summary: "0 of 3 approvals; waiting for 3 code owners: @alice, @bob, @acme/dba",
      ignored: [],
    },
  },
  {
    name: "same person twice counts once",
    required: 2,
    reviews: [review(alice, "APPROVED"), review(alice, "APPROVED")],
    expected: {
      approved: false,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 2 approvals: @alice; waiting for another code owner: @bob, @acme/dba",
      ignored: [],
    },
  },
  {
    name: "an owner through several teams and by name counts once",
    owners: [team("acme", "dba"), team("acme", "sre"), user("erin")],
    required: 2,
    reviews: [review(erin, "APPROVED")],
    expected: {
      approved: false,
      approvers: [{ ...erin, via: "@acme/dba", permission: "write" }],
      summary: "1 of 2 approvals: @erin; waiting for another code owner: @acme/dba, @acme/sre",
      ignored: [],
    },
  },
  {
    name: "login renamed, user owner: CODEOWNERS names a login, so the old name no longer matches",
    reviews: [review({ id: alice.id, login: "alice-renamed" }, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "alice-renamed", why: "is not a code owner of jit-requests.yml" }],
    },
  },
  {
    name: "login renamed, team owner: membership is by id, so the rename does not matter",
    reviews: [review({ id: erin.id, login: "erin-renamed" }, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ id: erin.id, login: "erin-renamed", via: "@acme/dba", permission: "write" }],
      summary: "1 of 1 approval: @erin-renamed",
      ignored: [],
    },
  },
  {
    name: "login taken over: whoever holds a named login now is that owner, as on GitHub",
    reviews: [review({ id: 99, login: "alice" }, "APPROVED")],
    permissions: new Map([...WRITERS, [99, "write"]]),
    expected: {
      approved: true,
      approvers: [{ id: 99, login: "alice", via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "reviewers are told apart by id, not by login",
    required: 2,
    reviews: [review(alice, "APPROVED"), review({ id: alice.id, login: "bob" }, "APPROVED")],
    expected: {
      approved: false,
      approvers: [{ id: alice.id, login: "bob", via: "@bob", permission: "write" }],
      summary: "1 of 2 approvals: @bob; waiting for another code owner: @alice, @acme/dba",
      ignored: [],
    },
  },
  {
    name: "user logins match case-insensitively",
    owners: [user("Alice")],
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@Alice", permission: "write" }],
      summary: "1 of 1 approval: @alice",
      ignored: [],
    },
  },
  {
    name: "user null (deleted account) never counts",
    reviews: [review(null, "APPROVED"), review(null, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: WAITING_FOR_ONE,
      ignored: [{ login: "ghost", why: "approved from an account that has since been deleted" }],
    },
  },
  {
    name: "lowercase states are accepted",
    required: 2,
    reviews: [review(alice, "approved"), review(erin, "approved"), review(erin, "changes_requested")],
    expected: {
      approved: false,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 2 approvals: @alice; waiting for another code owner: @bob, @acme/dba",
      ignored: [{ login: "erin", why: "requested changes" }],
    },
  },
  {
    name: "no owners",
    owners: [],
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary: "Nothing can be approved: jit-requests.yml has no code owner in CODEOWNERS on the default branch.",
      ignored: [],
    },
  },
  {
    name: "no owners, configured requests file",
    owners: [],
    requestsFile: "ops/access.yml",
    reviews: [],
    expected: {
      approved: false,
      approvers: [],
      summary: "Nothing can be approved: ops/access.yml has no code owner in CODEOWNERS on the default branch.",
      ignored: [],
    },
  },
  {
    name: "email-only owners",
    owners: [email("dba@example.com"), email("sec@example.com")],
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: false,
      approvers: [],
      summary:
        "Nothing can be approved: the only code owners of jit-requests.yml are email addresses (dba@example.com, sec@example.com), which cannot be matched to reviewers. Name the owners as @user or @org/team in CODEOWNERS on the default branch.",
      ignored: [],
    },
  },
  {
    name: "email owners beside others are ignored, and said so",
    owners: [email("dba@example.com"), user("alice")],
    reviews: [review(alice, "APPROVED")],
    expected: {
      approved: true,
      approvers: [{ ...alice, via: "@alice", permission: "write" }],
      summary: "1 of 1 approval: @alice. Email owners cannot be matched to reviewers and are ignored: dba@example.com",
      ignored: [],
    },
  },
  {
    name: "only the author is named: nobody else can approve",
    owners: [user("dave")],
    reviews: [],
    expected: {
      approved: false,
      approvers: [],
      summary:
        "0 of 1 approval; waiting for a code owner, but CODEOWNERS names no one else who can approve jit-requests.yml: add owners for it on the default branch",
      ignored: [],
    },
  },
];

describe("decideApproval", () => {
  it.each(rows)(
    "$name",
    ({ reviews, owners = OWNERS, required = 1, requestsFile, permissions = WRITERS, teamAccess = TEAM_ACCESS, allowed, expected }) => {
      const input: ApprovalInput = {
        owners,
        required,
        author: dave,
        headSha: HEAD,
        reviews,
        teamMembers: TEAMS,
        reviewerPermissions: permissions,
        teamPermissions: teamAccess,
        allowed: allowed ?? null,
      };
      if (requestsFile !== undefined) input.requestsFile = requestsFile;
      expect(decideApproval(input)).toEqual({ ...expected, required });
    },
  );

  it.each([0, -1, 1.5, Number.NaN])("refuses %p required approvals", (required) => {
    const input: ApprovalInput = {
      owners: OWNERS,
      required,
      author: dave,
      headSha: HEAD,
      reviews: [],
      teamMembers: TEAMS,
      reviewerPermissions: WRITERS,
      teamPermissions: TEAM_ACCESS,
    };
    expect(() => decideApproval(input)).toThrow(/whole number of at least 1/);
  });
});

describe("replacesVerdict: which reviews can change a decision (the handler skips the others)", () => {
  it.each([
    ["approved", true],
    ["APPROVED", true],
    ["changes_requested", true],
    ["CHANGES_REQUESTED", true],
    ["dismissed", true],
    ["commented", false],
    ["COMMENTED", false],
    ["pending", false],
    ["PENDING", false],
  ])("%s → %s", (state, expected) => {
    expect(replacesVerdict(state)).toBe(expected);
  });
});
