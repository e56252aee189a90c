/** Actions environments and their secrets (sealed with the environment's public key). */
import { openSealedBox, toBase64 } from "../model/sealed-box.js";
import type { SimEnvironment, SimRepo } from "../model/types.js";
import { GitHubError, notFound } from "../server/github-error.js";
import { paginate } from "../server/paginate.js";
import { json, noContent, param, type RouteContext, type RouteDefinition } from "../server/route.js";
import { repoRoute } from "../server/scoped-routes.js";
import { environment } from "../shapes/environment.js";

const BASE = "/repos/{owner}/{repo}/environments/{environment_name}";

function environmentOf(context: RouteContext, repo: SimRepo): SimEnvironment {
  const found = context.state.environment(repo, param(context, "environment_name"));
  if (!found) throw notFound();
  return found;
}

/** GitHub's naming rules for secrets; returns the stored (upper-case) name or throws 422. */
function secretName(raw: string): string {
  const name = raw.toUpperCase();
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) {
    throw new GitHubError(
      422,
      "Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_). Spaces are not allowed. Must start with a letter ([a-z], [A-Z]) or underscores (_).",
    );
  }
  if (name.startsWith("GITHUB_")) throw new GitHubError(422, "Secret names must not start with GITHUB_.");
  return name;
}

function secretShape(secret: { name: string; createdAt: string; updatedAt: string }) {
  return { name: secret.name, created_at: secret.createdAt, updated_at: secret.updatedAt };
}

export const environmentRoutes: RouteDefinition[] = [
  repoRoute("GET", "/repos/{owner}/{repo}/environments", (context, repo) => {
    const all = [...repo.environments.values()].sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(context, all);
    return json(
      200,
      { total_count: all.length, environments: page.items.map((value) => environment(context.urls, repo, value)) },
      page.headers,
    );
  }),

  repoRoute("GET", BASE, (context, repo) => json(200, environment(context.urls, repo, environmentOf(context, repo)))),

  repoRoute("GET", `${BASE}/secrets/public-key`, (context, repo) => {
    const value = environmentOf(context, repo);
    return json(200, { key_id: value.keyId, key: toBase64(value.publicKey) });
  }),

  repoRoute("GET", `${BASE}/secrets`, (context, repo) => {
    const all = [...environmentOf(context, repo).secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(context, all);
    return json(200, { total_count: all.length, secrets: page.items.map(secretShape) }, page.headers);
  }),

  repoRoute("GET", `${BASE}/secrets/{secret_name}`, (context, repo) => {
    const secret = environmentOf(context, repo).secrets.get(param(context, "secret_name").toUpperCase());
    if (!secret) throw notFound();
    return json(200, secretShape(secret));
  }),

  repoRoute("PUT", `${BASE}/secrets/{secret_name}`, (context, repo) => {
    const target = environmentOf(context, repo);
    const name = secretName(param(context, "secret_name"));
    const body = context.body as { encrypted_value: string; key_id: string };
    if (body.key_id !== target.keyId) {
      throw new GitHubError(
        422,
        `Bad request: key_id ${body.key_id} is not the current key of environment ${target.name}; fetch the public key again.`,
      );
    }
    const value = openSealedBox(body.encrypted_value, target);
    if (value === undefined) {
      throw new GitHubError(
        422,
        "Bad request: encrypted_value could not be decrypted with the environment's key; seal it with crypto_box_seal for the current public key.",
      );
    }
    const now = context.state.timestamp();
    const existing = target.secrets.get(name);
    target.secrets.set(name, { name, value, createdAt: existing?.createdAt ?? now, updatedAt: now });
    return existing ? noContent() : json(201, {});
  }),

  repoRoute("DELETE", `${BASE}/secrets/{secret_name}`, (context, repo) => {
    const target = environmentOf(context, repo);
    if (!target.secrets.delete(param(context, "secret_name").toUpperCase())) throw notFound();
    return noContent();
  }),
];
