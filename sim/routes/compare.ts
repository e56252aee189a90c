/**
 * Comparing two commits (`BASE...HEAD`): merge base, ahead/behind counts, the commits on the
 * head side, and the files changed from the merge base to the head, as GitHub reports them.
 */
import { ancestors, commitsBetween, mergeBase, resolveRef } from "../model/git.js";
import { fileDifferences } from "../model/pull-files.js";
import type { SimCommit, SimRepo } from "../model/types.js";
import { GitHubError, notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { commitShape } from "../shapes/commit.js";
import { diffEntry } from "../shapes/diff-entry.js";

/** Without paging parameters GitHub lists at most this many commits: the most recent ones. */
const MAX_COMMITS = 250;
/** GitHub lists at most this many changed files. */
const MAX_FILES = 300;
const DIFF_MEDIA_TYPE = /application\/vnd\.github(?:\.v3)?\.diff/i;

interface Side {
  repo: SimRepo;
  commit: SimCommit;
}

/** `ref` or `owner:ref`, where owner's repository must be in `repo`'s network (a fork or the parent). */
function resolveSide(context: RouteContext, repo: SimRepo, spec: string): Side {
  const colon = spec.indexOf(":");
  let target = repo;
  let ref = spec;
  if (colon >= 0) {
    const owner = spec.slice(0, colon).toLowerCase();
    ref = spec.slice(colon + 1);
    const found = context.state.network(repo).find((candidate) => candidate.owner.login.toLowerCase() === owner);
    if (!found) throw notFound();
    target = found;
  }
  const commit = resolveRef(target, ref);
  if (!commit) throw notFound();
  return { repo: target, commit };
}

function unifiedDiff(files: ReturnType<typeof fileDifferences>): string {
  return files
    .map((file) => {
      const header = [`diff --git a/${file.path} b/${file.path}`];
      if (file.status === "added") header.push("new file mode 100644", "--- /dev/null", `+++ b/${file.path}`);
      else if (file.status === "removed") header.push("deleted file mode 100644", `--- a/${file.path}`, "+++ /dev/null");
      else header.push(`--- a/${file.path}`, `+++ b/${file.path}`);
      return `${header.join("\n")}\n${file.patch}\n`;
    })
    .join("");
}

export const compareRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}/compare/{basehead}", (context, repo) => {
    const basehead = param(context, "basehead");
    const separator = basehead.indexOf("...");
    const baseSpec = basehead.slice(0, separator);
    const headSpec = basehead.slice(separator + 3);
    if (separator <= 0 || headSpec === "" || headSpec.includes("...")) {
      context.violation(`basehead "${basehead}" is not of the form BASE...HEAD (three dots)`);
      throw notFound();
    }
    const base = resolveSide(context, repo, baseSpec);
    const head = resolveSide(context, repo, headSpec);
    const commits = repo.commits;
    const common = mergeBase(commits, base.commit.sha, head.commit.sha);
    if (common === undefined) throw new GitHubError(404, `No common ancestor between ${baseSpec} and ${headSpec}.`);
    const mergeBaseCommit = commits.get(common) as SimCommit;

    const files = fileDifferences(mergeBaseCommit.files, head.commit.files);
    if (DIFF_MEDIA_TYPE.test(String(context.headers.accept ?? ""))) {
      return {
        status: 200,
        raw: { contentType: "application/vnd.github.diff; charset=utf-8", data: Buffer.from(unifiedDiff(files), "utf8") },
      };
    }

    const ahead = commitsBetween(commits, base.commit.sha, head.commit.sha);
    const fromHead = ancestors(commits, head.commit.sha);
    const behindBy = [...ancestors(commits, base.commit.sha)].filter((sha) => !fromHead.has(sha)).length;
    const status =
      base.commit.sha === head.commit.sha
        ? "identical"
        : common === base.commit.sha
          ? "ahead"
          : common === head.commit.sha
            ? "behind"
            : "diverged";

    const paged = context.query.has("per_page") || context.query.has("page");
    const page = paged ? paginate(context, ahead) : { items: ahead.slice(-MAX_COMMITS), headers: {} };
    const firstPage = !paged || Number(context.query.get("page") ?? 1) <= 1;
    const shape = (commit: SimCommit) => commitShape(context.urls, context.state, repo, commit);
    const web = `${context.urls.web}/${repo.fullName}/compare`;
    return json(
      200,
      {
        url: `${context.urls.api}/repos/${repo.fullName}/compare/${basehead}`,
        html_url: `${web}/${basehead}`,
        permalink_url: `${web}/${base.repo.owner.login}:${base.commit.sha}...${head.repo.owner.login}:${head.commit.sha}`,
        diff_url: `${web}/${basehead}.diff`,
        patch_url: `${web}/${basehead}.patch`,
        base_commit: shape(base.commit),
        merge_base_commit: shape(mergeBaseCommit),
        status,
        ahead_by: ahead.length,
        behind_by: behindBy,
        total_commits: ahead.length,
        commits: page.items.map(shape),
        // With paging, GitHub lists the files on the first page only.
        ...(firstPage ? { files: files.slice(0, MAX_FILES).map((file) => diffEntry(context.urls, repo, head.commit.sha, file)) } : {}),
      },
      page.headers,
    );
  }),
];
