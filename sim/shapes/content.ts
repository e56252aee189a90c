import { blobSha } from "../model/git.js";
import type { SimRepo } from "../model/types.js";
import type { Urls } from "./urls.js";

const MAX_INLINE_BYTES = 1024 * 1024;

function links(urls: Urls, repo: SimRepo, path: string, ref: string, sha: string, kind: "blob" | "tree") {
  const self = `${urls.api}/repos/${repo.fullName}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const git = `${urls.api}/repos/${repo.fullName}/git/${kind === "blob" ? "blobs" : "trees"}/${sha}`;
  const html = `${urls.web}/${repo.fullName}/${kind}/${ref}/${path}`;
  return { url: self, git_url: git, html_url: html, _links: { self, git, html } };
}

/** GitHub's base64 layout: lines of 60 characters, each ending in a newline. */
function wrappedBase64(content: string): string {
  const encoded = Buffer.from(content, "utf8").toString("base64");
  return (encoded.match(/.{1,60}/g) ?? []).map((line) => `${line}\n`).join("");
}

/** GitHub's `content-file` shape. */
export function contentFile(urls: Urls, repo: SimRepo, path: string, ref: string, content: string): Record<string, unknown> {
  const sha = blobSha(content);
  const size = Buffer.byteLength(content, "utf8");
  const tooLarge = size > MAX_INLINE_BYTES;
  return {
    type: "file",
    encoding: tooLarge ? "none" : "base64",
    size,
    name: path.split("/").pop() ?? path,
    path,
    content: tooLarge ? "" : wrappedBase64(content),
    sha,
    ...links(urls, repo, path, ref, sha, "blob"),
    download_url: `${urls.web}/raw/${repo.fullName}/${ref}/${path}`,
  };
}

/** One entry of a directory listing (`content-directory` items). */
export function contentEntry(urls: Urls, repo: SimRepo, path: string, ref: string, file: string | undefined): Record<string, unknown> {
  const sha = file === undefined ? blobSha(`tree ${path}`) : blobSha(file);
  return {
    type: file === undefined ? "dir" : "file",
    size: file === undefined ? 0 : Buffer.byteLength(file, "utf8"),
    name: path.split("/").pop() ?? path,
    path,
    sha,
    ...links(urls, repo, path, ref, sha, file === undefined ? "tree" : "blob"),
    download_url: file === undefined ? null : `${urls.web}/raw/${repo.fullName}/${ref}/${path}`,
  };
}
