/**
 * The simulated GitHub: accounts, repositories, installations and teams, with stable ids.
 * Scripting calls mutate it directly; API routes read and write it.
 */
import { randomInt } from "node:crypto";
import { createCommit, type FileChanges } from "./git.js";
import { newBoxKeyPair } from "./sealed-box.js";
import type { AccountType, RepoRole, SimAccount, SimEnvironment, SimInstallation, SimRepo, SimTeam, TeamRole } from "./types.js";

export interface AppIdentity {
  id: number;
  slug: string;
  name: string;
  ownerLogin: string;
  /** Set once the app is registered from a manifest: what the manifest asked for. */
  description?: string;
  permissions?: Record<string, string>;
  events?: string[];
}

/** A one-time code GitHub hands back after creating an app from a manifest. */
export interface ManifestCode {
  code: string;
  manifest: Record<string, unknown>;
  /** The organisation it was registered on, or null for the personal account. */
  organization: string | null;
  createdAt: number;
  used: boolean;
}

/** What a manifest conversion changed: the new credentials GitHub now accepts. */
export interface AppRegistered {
  privateKeyPem: string;
  webhookSecret: string;
  webhookUrl: string | null;
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
  actions: "read",
  checks: "write",
  deployments: "write",
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
  hookDelivery: 20_000_001,
  workflowRun: 30_433_001,
  workflow: 161_001,
  deployment: 1_450_001,
  protectionRule: 3_515_001,
  reaction: 1_700_001,
} as const;

export type IdKind = keyof typeof ID_BASES;

/** Roles from least to most access; a person's role on a repository is the highest one granted. */
const ROLE_ORDER: readonly RepoRole[] = ["read", "triage", "write", "maintain", "admin"];

export function higherRole(a: RepoRole | null, b: RepoRole | null): RepoRole | null {
  if (a === null) return b;
  if (b === null) return a;
  return ROLE_ORDER.indexOf(a) >= ROLE_ORDER.indexOf(b) ? a : b;
}

export function isRepoRole(value: unknown): value is RepoRole {
  return typeof value === "string" && (ROLE_ORDER as readonly string[]).includes(value);
}

/** One attempt at delivering a webhook, as GitHub's delivery log keeps it. */
export interface HookDeliveryAttempt {
  /** The log's own id for this attempt. */
  id: number;
  /** X-GitHub-Delivery: the same for every attempt of one delivery. */
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** The app's HTTP status; 0 when no answer came (connection refused, timeout). */
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
}

export class SimState {
  readonly accounts = new Map<string, SimAccount>();
  /** Keyed by lower-cased full name. */
  readonly repos = new Map<string, SimRepo>();
  private readonly reposById = new Map<number, SimRepo>();
  /** Former full names (lower-cased) of renamed or transferred repositories -> repository id. */
  private readonly formerNames = new Map<string, number>();
  readonly installations = new Map<number, SimInstallation>();
  readonly teams = new Map<string, SimTeam>();
  /** The app's webhook delivery log, one entry per attempt, oldest first (GET /app/hook/deliveries). */
  readonly hookDeliveries: HookDeliveryAttempt[] = [];
  private readonly counters = new Map<IdKind, number>();
  /** Codes from `/settings/apps/new`, exchanged once by `POST /app-manifests/{code}/conversions`. */
  readonly manifestCodes = new Map<string, ManifestCode>();
  /**
   * Called when the app asks for a delivery to be sent again (`POST /app/hook/deliveries/{id}/attempts`):
   * the simulator re-sends the original payload under the same guid, after the answer (it wires this).
   */
  onRedeliveryRequested: (guid: string) => void = () => undefined;
  /** Called when a manifest conversion gives the app new credentials (the simulator wires it). */
  onAppRegistered: (registered: AppRegistered) => void = () => undefined;

  constructor(
    readonly app: AppIdentity,
    readonly clock: () => Date,
  ) {}

  /** GitHub's timestamp format: ISO 8601 without milliseconds. */
  timestamp(): string {
    return this.clock()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
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
      const moved = this.movedRepo(fullName);
      if (moved) throw new Error(`Repository "${fullName}" was renamed or transferred; it is now ${moved.fullName}.`);
      const known = [...this.repos.values()].map((r) => r.fullName).join(", ") || "none";
      throw new Error(`Unknown repository "${fullName}" (known: ${known}). Create it with sim.createRepo first.`);
    }
    return repo;
  }

  repoById(id: number): SimRepo | undefined {
    return this.reposById.get(id);
  }

  requireRepoById(id: number): SimRepo {
    const repo = this.reposById.get(id);
    if (!repo) throw new Error(`No repository with id ${id}.`);
    return repo;
  }

  /** The repository that used to be called `fullName` (renamed or transferred), if no repository has that name now. */
  movedRepo(fullName: string): SimRepo | undefined {
    if (this.repo(fullName)) return undefined;
    const id = this.formerNames.get(fullName.toLowerCase());
    return id === undefined ? undefined : this.reposById.get(id);
  }

  /** Repositories sharing `repo`'s commits: the repository, its forks and the repository it was forked from. */
  network(repo: SimRepo): SimRepo[] {
    return [...this.reposById.values()].filter((other) => other.commits === repo.commits);
  }

  private register(repo: SimRepo): void {
    this.repos.set(repo.fullName.toLowerCase(), repo);
    this.reposById.set(repo.id, repo);
    // A repository created under a former name takes the name over: the redirect ends.
    this.formerNames.delete(repo.fullName.toLowerCase());
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
      parentId: null,
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
      workflowRuns: new Map(),
      nextRunNumber: 1,
    };
    this.register(repo);
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
      if (existing.parentId !== parent.id) throw new Error(`"${fullName}" exists and is not a fork of ${parent.fullName}.`);
      return existing;
    }
    const fork: SimRepo = {
      ...parent,
      id: this.nextId("repo"),
      owner,
      fullName,
      fork: true,
      parentId: parent.id,
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
      workflowRuns: new Map(),
      nextRunNumber: 1,
    };
    this.register(fork);
    return fork;
  }

  commit(
    repo: SimRepo,
    branch: string,
    changes: FileChanges,
    options: { from?: string; message?: string; author?: string; orphan?: boolean } = {},
  ): string {
    const existing = repo.branches.get(branch);
    const fromRef = options.from ?? repo.defaultBranch;
    if (options.orphan && existing !== undefined)
      throw new Error(`Cannot create orphan branch "${branch}" in ${repo.fullName}: it exists.`);
    const parent = options.orphan ? null : (existing ?? repo.branches.get(fromRef) ?? (repo.commits.has(fromRef) ? fromRef : undefined));
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
    this.headPushed(repo, branch);
    return commit.sha;
  }

  /**
   * GitHub re-reads the base branch of open pull requests whose head branch was pushed: their
   * `base.sha` becomes the base branch's current tip.
   */
  private headPushed(headRepo: SimRepo, branch: string): void {
    for (const repo of this.reposById.values()) {
      for (const pull of repo.pulls.values()) {
        if (pull.state !== "open" || pull.headRepoId !== headRepo.id || pull.headRef !== branch) continue;
        const baseTip = repo.branches.get(pull.baseRef);
        if (baseTip !== undefined) pull.baseSha = baseTip;
      }
    }
  }

  setCollaborator(repo: SimRepo, login: string, role: RepoRole | null): void {
    const account = this.ensureAccount(login);
    if (role === null) repo.collaborators.delete(account.login.toLowerCase());
    else repo.collaborators.set(account.login.toLowerCase(), role);
  }

  /**
   * The role of `login` on `repo`, as GitHub computes it: the highest of a direct collaborator
   * role, the roles of the owning organisation's teams `login` is a member of, and admin for
   * the owning user. `null`: no access beyond what the repository's visibility gives.
   */
  roleOf(repo: SimRepo, login: string): RepoRole | null {
    const key = login.toLowerCase();
    let role = repo.collaborators.get(key) ?? null;
    if (repo.owner.type === "User" && repo.owner.login.toLowerCase() === key) role = "admin";
    for (const team of this.teams.values()) {
      if (team.org.toLowerCase() !== repo.owner.login.toLowerCase() || !team.members.has(key)) continue;
      role = higherRole(role, team.repos.get(repo.id) ?? null);
    }
    return role;
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
      customRules: new Map(),
      protection: { waitTimer: null, branchPolicy: null },
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
        suspendedAt: null,
        suspendedByLogin: null,
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
    const team: SimTeam = { id: this.nextId("team"), org: orgAccount.login, slug, name: slug, members: new Map(), repos: new Map() };
    const entries: Array<[string, TeamRole]> = Array.isArray(members) ? members.map((login) => [login, "member"]) : Object.entries(members);
    for (const [login, role] of entries) team.members.set(this.ensureAccount(login).login.toLowerCase(), role);
    this.teams.set(`${org}/${slug}`.toLowerCase(), team);
    return team;
  }

  requireTeam(org: string, slug: string): SimTeam {
    const team = this.team(org, slug);
    if (!team) throw new Error(`Unknown team @${org}/${slug}; create it with sim.createTeam.`);
    return team;
  }

  /** Grants a team a role on a repository of its organisation, or (`null`) takes it away. */
  setTeamRepoPermission(team: SimTeam, repo: SimRepo, role: RepoRole | null): void {
    if (role !== null && !isRepoRole(role)) throw new Error(`Invalid role "${String(role)}": use ${ROLE_ORDER.join(", ")} or null.`);
    if (repo.owner.login.toLowerCase() !== team.org.toLowerCase()) {
      throw new Error(
        `Team @${team.org}/${team.slug} cannot be given access to ${repo.fullName}: a team only gets repositories of its own organisation.`,
      );
    }
    if (role === null) team.repos.delete(repo.id);
    else team.repos.set(repo.id, role);
  }

  /**
   * Renames a repository within its owner. The id stays; the old name redirects to the
   * repository until another repository takes that name.
   */
  renameRepo(repo: SimRepo, newName: string): void {
    let name = newName;
    if (newName.includes("/")) {
      const [owner, rest, extra] = newName.split("/");
      if (!owner || !rest || extra !== undefined) throw new Error(`Invalid repository name "${newName}": use "owner/name" or "name".`);
      if (owner.toLowerCase() !== repo.owner.login.toLowerCase()) {
        throw new Error(
          `Renaming ${repo.fullName} to "${newName}" changes its owner: use sim.transferRepo("${repo.fullName}", "${owner}").`,
        );
      }
      name = rest;
    }
    this.move(repo, repo.owner, name);
  }

  /**
   * Transfers a repository to another account, optionally renaming it. Teams of the former
   * organisation lose their access. The app keeps covering it only when it is installed on the
   * new owner: by default the new owner's existing installation of the app, if any, else none.
   */
  transferRepo(
    repo: SimRepo,
    newOwnerLogin: string,
    options: { name?: string; installationId?: number | null; ownerType?: Exclude<AccountType, "Bot"> } = {},
  ): void {
    const owner = this.ensureAccount(newOwnerLogin, options.ownerType ?? "Organization");
    if (owner.type === "Bot") throw new Error(`${owner.login} is a bot; repositories belong to users or organisations.`);
    if (owner.id === repo.owner.id) throw new Error(`${repo.fullName} already belongs to ${owner.login}.`);
    this.move(repo, owner, options.name ?? repo.name);
    for (const team of this.teams.values()) {
      if (team.org.toLowerCase() !== owner.login.toLowerCase()) team.repos.delete(repo.id);
    }
    if (options.installationId !== undefined) {
      this.install(repo, options.installationId);
      return;
    }
    const current = repo.installationId === null ? undefined : this.installations.get(repo.installationId);
    if (current?.account.id === owner.id) return;
    const ofOwner = [...this.installations.values()].find((installation) => installation.account.id === owner.id);
    repo.installationId = ofOwner?.id ?? null;
  }

  private move(repo: SimRepo, owner: SimAccount, name: string): void {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") {
      throw new Error(`Invalid repository name "${name}": use letters, digits, ".", "-" and "_".`);
    }
    const fullName = `${owner.login}/${name}`;
    const taken = this.repo(fullName);
    if (taken && taken !== repo) throw new Error(`Repository "${fullName}" already exists.`);
    const former = repo.fullName.toLowerCase();
    this.repos.delete(former);
    repo.owner = owner;
    repo.name = name;
    repo.fullName = fullName;
    this.register(repo);
    if (former !== fullName.toLowerCase()) this.formerNames.set(former, repo.id);
  }

  requireInstallation(installationId: number): SimInstallation {
    const installation = this.installations.get(installationId);
    if (!installation) {
      const known = [...this.installations.keys()].join(", ") || "none";
      throw new Error(`Unknown installation ${installationId} (known: ${known}).`);
    }
    return installation;
  }

  suspendInstallation(installationId: number, byLogin?: string): void {
    const installation = this.requireInstallation(installationId);
    installation.suspendedAt = this.timestamp();
    installation.suspendedByLogin = byLogin === undefined ? installation.account.login : this.ensureAccount(byLogin).login;
  }

  unsuspendInstallation(installationId: number): void {
    const installation = this.requireInstallation(installationId);
    installation.suspendedAt = null;
    installation.suspendedByLogin = null;
  }

  /** Removes an installation; its repositories are no longer covered by any installation. */
  deleteInstallation(installationId: number): void {
    this.requireInstallation(installationId);
    this.installations.delete(installationId);
    for (const repo of this.reposById.values()) if (repo.installationId === installationId) repo.installationId = null;
  }

  /** Whether `login` is in any team of `org` (GitHub's "MEMBER" association, approximated). */
  isOrgMember(org: string, login: string): boolean {
    return [...this.teams.values()].some((team) => team.org.toLowerCase() === org.toLowerCase() && team.members.has(login.toLowerCase()));
  }
}
