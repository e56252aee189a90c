/**
 * The simulated GitHub: accounts, repositories, installations and teams, with stable ids.
 * Scripting calls mutate it directly; API routes read and write it.
 */
import { randomInt } from "node:crypto";
import { createCommit, type FileChanges } from "./git.js";
import { newBoxKeyPair } from "./sealed-box.js";
import type {
  AccountType,
  RepoRole,
  SimAccount,
  SimEnvironment,
  SimInstallation,
  SimRepo,
  SimTeam,
  TeamRole,
} from "./types.js";

export interface AppIdentity {
  id: number;
  slug: string;
  name: string;
  ownerLogin: string;
}

export interface CreateRepoOptions {
  /** Default "main". */
  defaultBranch?: string;
  /**
   * The installation that covers this repository. Default: the owner's existing installation,
   * or a new one. `null`: the app is not installed here.
   */
  installationId?: number | null;
  collaborators?: Record<string, RepoRole>;
  environments?: string[];
  /** Files of the initial commit on the default branch. */
  files?: Record<string, string>;
  /** Default true. */
  private?: boolean;
  /** Type of the owner account when it does not exist yet. Default "Organization". */
  ownerType?: Exclude<AccountType, "Bot">;
}

const DEFAULT_PERMISSIONS: SimInstallation["permissions"] = {
  checks: "write",
  contents: "read",
  environments: "read",
  issues: "write",
  members: "read",
  metadata: "read",
  pull_requests: "write",
  secrets: "write",
};

const ID_BASES = {
  account: 1001,
  repo: 100_001,
  installation: 10_001,
  team: 300_001,
  environment: 400_001,
  pull: 500_001,
  label: 600_001,
  checkRun: 700_001,
  checkSuite: 750_001,
  review: 800_001,
  comment: 900_001,
} as const;

export type IdKind = keyof typeof ID_BASES;

export class SimState {
  readonly accounts = new Map<string, SimAccount>();
  readonly repos = new Map<string, SimRepo>();
  readonly installations = new Map<number, SimInstallation>();
  readonly teams = new Map<string, SimTeam>();
  private readonly counters = new Map<IdKind, number>();

  constructor(
    readonly app: AppIdentity,
    readonly clock: () => Date,
  ) {}

  /** GitHub's timestamp format: ISO 8601 without milliseconds. */
  timestamp(): string {
    return this.clock().toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  nextId(kind: IdKind): number {
    const next = this.counters.get(kind) ?? ID_BASES[kind];
    this.counters.set(kind, next + 1);
    return next;
  }

  account(login: string): SimAccount | undefined {
    return this.accounts.get(login.toLowerCase());
  }

  /** The account for `login`, created with `type` if it does not exist yet. */
  ensureAccount(login: string, type: AccountType = "User"): SimAccount {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(\[bot\])?$/.test(login)) {
      throw new Error(`Invalid login "${login}": use letters, digits and inner hyphens, like "alice" or "acme-ops".`);
    }
    const existing = this.account(login);
    if (existing) return existing;
    const account: SimAccount = { id: this.nextId("account"), login, type };
    this.accounts.set(login.toLowerCase(), account);
    return account;
  }

  /** The app's bot user, which authors its comments. */
  botAccount(): SimAccount {
    return this.ensureAccount(`${this.app.slug}[bot]`, "Bot");
  }

  repo(fullName: string): SimRepo | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  requireRepo(fullName: string): SimRepo {
    const repo = this.repo(fullName);
    if (!repo) {
      const known = [...this.repos.values()].map((r) => r.fullName).join(", ") || "none";
      throw new Error(`Unknown repository "${fullName}" (known: ${known}). Create it with sim.createRepo first.`);
    }
    return repo;
  }

  createRepo(fullName: string, options: CreateRepoOptions = {}): SimRepo {
    const [ownerLogin, name, extra] = fullName.split("/");
    if (!ownerLogin || !name || extra !== undefined) {
      throw new Error(`Invalid repository name "${fullName}": use "owner/name".`);
    }
    if (this.repo(fullName)) throw new Error(`Repository "${fullName}" already exists.`);
    const owner = this.ensureAccount(ownerLogin, options.ownerType ?? "Organization");
    const defaultBranch = options.defaultBranch ?? "main";
    const repo: SimRepo = {
      id: this.nextId("repo"),
      owner,
      name,
      fullName: `${owner.login}/${name}`,
      private: options.private ?? true,
      defaultBranch,
      fork: false,
      parentFullName: null,
      installationId: null,
      createdAt: this.timestamp(),
      branches: new Map(),
      commits: new Map(),
      collaborators: new Map(),
      environments: new Map(),
      labels: new Map(),
      pulls: new Map(),
      comments: new Map(),
      checkRuns: new Map(),
      nextIssueNumber: 1,
    };
    this.repos.set(repo.fullName.toLowerCase(), repo);
    const initial = createCommit(repo.commits, {
      parent: null,
      changes: options.files ?? {},
      message: "Initial commit",
      authorLogin: owner.login,
      date: this.timestamp(),
    });
    repo.branches.set(defaultBranch, initial.sha);
    for (const [login, role] of Object.entries(options.collaborators ?? {})) this.setCollaborator(repo, login, role);
    for (const environment of options.environments ?? []) this.addEnvironment(repo, environment);
    this.install(repo, options.installationId === undefined ? this.defaultInstallationId(owner) : options.installationId);
    return repo;
  }

  /** A fork of `parent` owned by `ownerLogin`, sharing its commits (as GitHub's storage does). */
  fork(parent: SimRepo, ownerLogin: string): SimRepo {
    const owner = this.ensureAccount(ownerLogin);
    const fullName = `${owner.login}/${parent.name}`;
    const existing = this.repo(fullName);
    if (existing) {
      if (existing.parentFullName !== parent.fullName) throw new Error(`"${fullName}" exists and is not a fork of ${parent.fullName}.`);
      return existing;
    }
    const fork: SimRepo = {
      ...parent,
      id: this.nextId("repo"),
      owner,
      fullName,
      fork: true,
      parentFullName: parent.fullName,
      installationId: null,
      createdAt: this.timestamp(),
      branches: new Map(parent.branches),
      collaborators: new Map([[owner.login.toLowerCase(), "admin"]]),
      environments: new Map(),
      labels: new Map(),
      pulls: new Map(),
      comments: new Map(),
      checkRuns: new Map(),
      nextIssueNumber: 1,
    };
    this.repos.set(fullName.toLowerCase(), fork);
    return fork;
  }

  commit(repo: SimRepo, branch: string, changes: FileChanges, options: { from?: string; message?: string; author?: string } = {}): string {
    const existing = repo.branches.get(branch);
    const fromRef = options.from ?? repo.defaultBranch;
    const parent = existing ?? repo.branches.get(fromRef) ?? (repo.commits.has(fromRef) ? fromRef : undefined);
    if (parent === undefined) {
      throw new Error(`Cannot create branch "${branch}" in ${repo.fullName}: "${fromRef}" is neither a branch nor a commit there.`);
    }
    const commit = createCommit(repo.commits, {
      parent,
      changes,
      message: options.message ?? `Update ${Object.keys(changes).join(", ") || "nothing"}`,
      authorLogin: options.author ?? repo.owner.login,
      date: this.timestamp(),
    });
    repo.branches.set(branch, commit.sha);
    return commit.sha;
  }

  setCollaborator(repo: SimRepo, login: string, role: RepoRole | null): void {
    const account = this.ensureAccount(login);
    if (role === null) repo.collaborators.delete(account.login.toLowerCase());
    else repo.collaborators.set(account.login.toLowerCase(), role);
  }

  /** The role of `login` on `repo`: a collaborator's role, admin for the owning user, else none. */
  roleOf(repo: SimRepo, login: string): RepoRole | null {
    const role = repo.collaborators.get(login.toLowerCase());
    if (role) return role;
    if (repo.owner.type === "User" && repo.owner.login.toLowerCase() === login.toLowerCase()) return "admin";
    return null;
  }

  environment(repo: SimRepo, name: string): SimEnvironment | undefined {
    return repo.environments.get(name.toLowerCase());
  }

  requireEnvironment(repo: SimRepo, name: string): SimEnvironment {
    const environment = this.environment(repo, name);
    if (!environment) {
      const known = [...repo.environments.values()].map((e) => e.name).join(", ") || "none";
      throw new Error(`Unknown environment "${name}" in ${repo.fullName} (known: ${known}).`);
    }
    return environment;
  }

  addEnvironment(repo: SimRepo, name: string): SimEnvironment {
    const existing = this.environment(repo, name);
    if (existing) return existing;
    const now = this.timestamp();
    const environment: SimEnvironment = {
      id: this.nextId("environment"),
      name,
      createdAt: now,
      updatedAt: now,
      ...this.newEnvironmentKey(),
      secrets: new Map(),
    };
    repo.environments.set(name.toLowerCase(), environment);
    return environment;
  }

  /** A fresh key pair and key id; secrets sealed for the old key are then rejected. */
  rotateEnvironmentKey(environment: SimEnvironment): string {
    Object.assign(environment, this.newEnvironmentKey());
    return environment.keyId;
  }

  private newEnvironmentKey(): Pick<SimEnvironment, "keyId" | "publicKey" | "privateKey"> {
    const keys = newBoxKeyPair();
    // GitHub's key ids are numeric strings of about 18 digits.
    const keyId = `${randomInt(100_000_000, 1_000_000_000)}${randomInt(100_000_000, 1_000_000_000)}`;
    return { keyId, publicKey: keys.publicKey, privateKey: keys.privateKey };
  }

  install(repo: SimRepo, installationId: number | null): void {
    if (installationId === null) {
      repo.installationId = null;
      return;
    }
    const existing = this.installations.get(installationId);
    if (existing && existing.account.id !== repo.owner.id) {
      throw new Error(
        `Installation ${installationId} belongs to ${existing.account.login}; ${repo.fullName} needs an installation on ${repo.owner.login}.`,
      );
    }
    if (!existing) {
      this.installations.set(installationId, {
        id: installationId,
        account: repo.owner,
        permissions: { ...DEFAULT_PERMISSIONS },
        createdAt: this.timestamp(),
      });
    }
    repo.installationId = installationId;
  }

  private defaultInstallationId(owner: SimAccount): number {
    for (const installation of this.installations.values()) {
      if (installation.account.id === owner.id) return installation.id;
    }
    let id = this.nextId("installation");
    while (this.installations.has(id)) id = this.nextId("installation");
    return id;
  }

  reposOfInstallation(installationId: number): SimRepo[] {
    return [...this.repos.values()].filter((repo) => repo.installationId === installationId);
  }

  team(org: string, slug: string): SimTeam | undefined {
    return this.teams.get(`${org}/${slug}`.toLowerCase());
  }

  createTeam(org: string, slug: string, members: string[] | Record<string, TeamRole>): SimTeam {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(slug)) throw new Error(`Invalid team slug "${slug}": use lower-case letters, digits, "-" and "_".`);
    const orgAccount = this.ensureAccount(org, "Organization");
    if (this.team(org, slug)) throw new Error(`Team @${org}/${slug} already exists.`);
    const team: SimTeam = { id: this.nextId("team"), org: orgAccount.login, slug, name: slug, members: new Map() };
    const entries: Array<[string, TeamRole]> = Array.isArray(members) ? members.map((login) => [login, "member"]) : Object.entries(members);
    for (const [login, role] of entries) team.members.set(this.ensureAccount(login).login.toLowerCase(), role);
    this.teams.set(`${org}/${slug}`.toLowerCase(), team);
    return team;
  }

  /** Whether `login` is in any team of `org` (GitHub's "MEMBER" association, approximated). */
  isOrgMember(org: string, login: string): boolean {
    return [...this.teams.values()].some((team) => team.org.toLowerCase() === org.toLowerCase() && team.members.has(login.toLowerCase()));
  }
}
