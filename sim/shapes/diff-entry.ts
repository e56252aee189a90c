import type { PullFile } from "../model/pull-files.js";
import type { SimRepo } from "../model/types.js";
import type { Urls } from "./urls.js";

/** GitHub's `diff-entry` shape for the pull request files endpoint. */
export function diffEntry(urls: Urls, repo: SimRepo, headSha: string, file: PullFile): Record<string, unknown> {
  return {
    sha: file.sha,
    filename: file.path,
    status: file.status,
    additions: file.additions,
    deletions: file.deletions,
    changes: file.additions + file.deletions,
    blob_url: `${urls.web}/${repo.fullName}/blob/${headSha}/${file.path}`,
    raw_url: `${urls.web}/${repo.fullName}/raw/${headSha}/${file.path}`,
    contents_url: `${urls.api}/repos/${repo.fullName}/contents/${encodeURIComponent(file.path)}?ref=${headSha}`,
    patch: file.patch,
  };
}
