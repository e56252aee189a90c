/**
 * GitHub's web side of registering an app from a manifest (not under /api/v3): the form POST
 * to `/settings/apps/new` or `/organizations/{org}/settings/apps/new` (`manifest` field,
 * `?state=` in the address) shows a confirmation page, as GitHub does; "Create GitHub App"
 * then makes a one-time code and redirects to the manifest's `redirect_url` with `code` and
 * `state`. A manifest GitHub would refuse (unknown field, permission or access level, a
 * missing or non-http address) gets a 422 page naming each problem.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimState } from "../model/state.js";
import type { OpenApiCheck } from "../openapi-check.js";

const MANIFEST_FIELDS = new Set([
  "name",
  "url",
  "hook_attributes",
  "redirect_url",
  "callback_urls",
  "setup_url",
  "description",
  "public",
  "default_events",
  "default_permissions",
  "request_oauth_on_install",
  "setup_on_update",
]);
const NEW_APP = /^\/(?:organizations\/([A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?)\/)?settings\/apps\/new$/;
const CREATE = "/settings/apps/new/create";

interface Pending {
  manifest: Record<string, unknown>;
  organization: string | null;
  state: string | null;
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(status: number, title: string, body: string, response: ServerResponse): void {
  response
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *",
    })
    .end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`,
    );
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Problems GitHub would refuse the manifest for. */
export function manifestProblems(manifest: unknown, check: OpenApiCheck): string[] {
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) return ["the manifest must be a JSON object"];
  const m = manifest as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(m)) if (!MANIFEST_FIELDS.has(key)) problems.push(`"${key}" is not a manifest field`);
  if (typeof m.name !== "string" || m.name.trim() === "" || m.name.length > 34) problems.push("name must be 1 to 34 characters");
  if (!isHttpUrl(m.url)) problems.push("url must be an http(s) address (the app's homepage)");
  if (m.redirect_url !== undefined && !isHttpUrl(m.redirect_url)) problems.push("redirect_url must be an http(s) address");
  const hook = m.hook_attributes as Record<string, unknown> | undefined;
  if (hook !== undefined && (typeof hook !== "object" || hook === null || !isHttpUrl(hook.url)))
    problems.push("hook_attributes.url must be an http(s) address");
  if (m.public !== undefined && typeof m.public !== "boolean") problems.push("public must be true or false");
  if (m.default_permissions !== undefined) problems.push(...check.checkSchema("app-permissions", m.default_permissions, { closed: true }));
  const events = m.default_events;
  if (events !== undefined && (!Array.isArray(events) || events.some((event) => typeof event !== "string" || !/^[a-z_]+$/.test(event)))) {
    problems.push("default_events must be a list of event names");
  }
  if (Array.isArray(events) && events.length > 0 && hook === undefined)
    problems.push("default_events need hook_attributes.url to deliver them to");
  return problems;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** The pages; `handle` answers true when the request was one of them. */
export function appManifestPages(
  state: SimState,
  check: OpenApiCheck,
): (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean> {
  const pending = new Map<string, Pending>();
  return async (request, response, url) => {
    const method = request.method ?? "GET";
    const target = NEW_APP.exec(url.pathname);
    if (target && method === "POST") {
      const form = await readForm(request);
      const organization = target[1] ?? null;
      let manifest: unknown;
      try {
        manifest = JSON.parse(form.get("manifest") ?? "");
      } catch {
        page(422, "Invalid GitHub App configuration", "<p>The manifest is not JSON.</p>", response);
        return true;
      }
      const problems = manifestProblems(manifest, check);
      if (problems.length > 0) {
        page(
          422,
          "Invalid GitHub App configuration",
          `<ul id="problems">${problems.map((p) => `<li>${escape(p)}</li>`).join("")}</ul>`,
          response,
        );
        return true;
      }
      const m = manifest as Record<string, unknown>;
      const id = randomBytes(12).toString("hex");
      pending.set(id, { manifest: m, organization, state: url.searchParams.get("state") });
      const owner = organization ?? "your personal account";
      const permissions = Object.entries((m.default_permissions ?? {}) as Record<string, string>)
        .map(([name, access]) => `<li>${escape(name)}: ${escape(access)}</li>`)
        .join("");
      page(
        200,
        `Create GitHub App for ${owner}`,
        `<form method="post" action="${CREATE}"><input type="hidden" name="pending" value="${id}">` +
          `<label>GitHub App name <input type="text" name="name" value="${escape(String(m.name))}"></label>` +
          `<p>Permissions:</p><ul id="permissions">${permissions}</ul>` +
          `<p>Events: ${escape(((m.default_events ?? []) as string[]).join(", "))}</p>` +
          `<button type="submit">Create GitHub App for ${escape(owner)}</button></form>`,
        response,
      );
      return true;
    }
    if (target && method === "GET") {
      page(
        200,
        "Register new GitHub App",
        "<p>The simulator registers apps only from a manifest: POST a form with a <code>manifest</code> field here.</p>",
        response,
      );
      return true;
    }
    if (url.pathname === CREATE && method === "POST") {
      const form = await readForm(request);
      const found = pending.get(form.get("pending") ?? "");
      if (!found) {
        page(404, "Not Found", "<p>No app registration is waiting here.</p>", response);
        return true;
      }
      pending.delete(form.get("pending")!);
      const name = (form.get("name") ?? "").trim();
      const manifest: Record<string, unknown> = { ...found.manifest, ...(name !== "" ? { name } : {}) };
      const code = randomBytes(20).toString("hex");
      state.manifestCodes.set(code, { code, manifest, organization: found.organization, createdAt: state.clock().getTime(), used: false });
      const back = typeof manifest.redirect_url === "string" ? new URL(manifest.redirect_url) : new URL(`/apps/${state.app.slug}`, url);
      back.searchParams.set("code", code);
      if (found.state !== null) back.searchParams.set("state", found.state);
      response.writeHead(302, { location: back.toString() }).end();
      return true;
    }
    return false;
  };
}
