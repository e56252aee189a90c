/** File contents at a branch or commit, as JSON (base64) or raw. */
import { resolveRef } from "../model/git.js";
import { GitHubError, notFound } from "../server/github-error.js";
import { json, param, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { contentEntry, contentFile } from "../shapes/content.js";

const RAW_MEDIA_TYPE = /application\/vnd\.github(?:\.v3)?\.raw/i;

export const contentRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}/contents/{path}", (context, repo) => {
    const ref = context.query.get("ref") || repo.defaultBranch;
    const commit = resolveRef(repo, ref);
    if (!commit) throw new GitHubError(404, `No commit found for the ref ${ref}`);
    const path = param(context, "path").replace(/^\/+|\/+$/g, "");
    const file = commit.files.get(path);
    if (file !== undefined) {
      if (RAW_MEDIA_TYPE.test(String(context.headers.accept ?? ""))) {
        return { status: 200, raw: { contentType: "text/plain; charset=utf-8", data: Buffer.from(file, "utf8") } };
      }
      return json(200, contentFile(context.urls, repo, path, ref, file));
    }
    const prefix = `${path}/`;
    const children = new Map<string, string | undefined>();
    for (const [filePath, content] of commit.files) {
      if (!filePath.startsWith(prefix)) continue;
      const [name, ...rest] = filePath.slice(prefix.length).split("/");
      if (name !== undefined) children.set(`${prefix}${name}`, rest.length === 0 ? content : undefined);
    }
    if (children.size === 0) throw notFound();
    const entries = [...children]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([childPath, content]) => contentEntry(context.urls, repo, childPath, ref, content));
    return json(200, entries);
  }),
];
