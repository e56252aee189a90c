/** The end reason of a grant revoked because its pull request was closed without merging. */
export const CLOSED_UNMERGED_REASON = "pull request closed without merging";
