import type { WriteKind } from "./write-scheduler.js";

/**
 * Which lane priority a request takes, from its method and URL (a route template such as
 * `/repos/{owner}/{repo}/issues/{issue_number}/comments` or a literal path, with or without a
 * GitHub Enterprise `/api/v3` prefix). Reads and installation-token requests are not writes:
 * they return null and are not paced.
 */
export function classifyWrite(method: string, url: string): WriteKind | null {
  const verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD") return null;
  const path = new URL(url, "http://github.invalid").pathname.replace(/^\/api\/v3(?=\/)/, "");
  if (verb === "POST" && /^\/app\/installations\/[^/]+\/access_tokens$/.test(path)) return null;
  if (/^\/repos\/[^/]+\/[^/]+\/environments\/[^/]+\/secrets\/(?!public-key$)[^/]+$/.test(path)) {
    if (verb === "DELETE") return "secret-delete";
    if (verb === "PUT") return "secret-put";
  }
  if (/^\/repos\/[^/]+\/[^/]+\/check-runs(\/[^/]+)?$/.test(path)) return "check-run";
  if (/^\/repos\/[^/]+\/[^/]+\/issues\/([^/]+\/comments|comments\/[^/]+)$/.test(path)) return "comment";
  if (/^\/repos\/[^/]+\/[^/]+\/issues\/[^/]+\/labels(\/[^/]+)?$/.test(path)) return "label";
  return "other";
}
