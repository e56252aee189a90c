/** The labels jit-access sets on a request PR, one per stage a grant reaches. */
export const LABELS = { granted: "jit:granted", expired: "jit:expired", revoked: "jit:revoked", breakGlass: "jit:break-glass" } as const;

/** Labels to add to a PR and to take off it, in one write. */
export interface LabelChange {
  add: string[];
  remove?: string[];
}

/** What can label a PR: `RepoClient.changeLabels` (one POST, or one PUT when something is taken off). */
export interface LabelWriter {
  changeLabels(issueNumber: number, change: LabelChange): Promise<void>;
}

/** A grant of the PR is live: `jit:granted` is added, every other label stays. */
export const GRANTED: LabelChange = { add: [LABELS.granted] };

/** Break-glass access was granted without approval. */
export const BREAK_GLASS: LabelChange = { add: [LABELS.breakGlass] };

/**
 * A grant ended: `jit:expired` or `jit:revoked` is added, and `jit:granted` taken off when no
 * other grant of the PR is still live.
 */
export function endedLabels(kind: "expired" | "revoked", lastLiveGrant: boolean): LabelChange {
  return { add: [kind === "expired" ? LABELS.expired : LABELS.revoked], ...(lastLiveGrant ? { remove: [LABELS.granted] } : {}) };
}

/** Writes `change` to the PR's labels: the one place a stage labels a pull request. */
export function labelPullRequest(client: LabelWriter, prNumber: number, change: LabelChange): Promise<void> {
  return client.changeLabels(prNumber, change);
}
