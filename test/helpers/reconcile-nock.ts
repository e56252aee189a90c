import nock from "nock";
import { API } from "./github-nock.js";

/**
 * Named nock helpers for what `reconcile` reads: the app's installations, each installation's
 * repositories, and an environment's secret names. Each replies with the fields the app reads.
 */
export function mockInstallations(ids: number[], page?: { next: number } | { page: number }): nock.Scope {
  const query = page !== undefined && "page" in page ? { per_page: "100", page: String(page.page) } : { per_page: "100" };
  const headers =
    page !== undefined && "next" in page ? { link: `<${API}/app/installations?per_page=100&page=${page.next}>; rel="next"` } : undefined;
  return nock(API)
    .get("/app/installations")
    .query(query)
    .reply(
      200,
      ids.map((id) => ({ id, account: { login: `account-${id}` }, app_id: 1, target_type: "Organization" })),
      headers,
    );
}

/** `GET /installation/repositories` as installation `fullNames` see it (one page). */
export function mockInstallationRepositories(fullNames: string[]): nock.Scope {
  return nock(API)
    .get("/installation/repositories")
    .query({ per_page: "100" })
    .reply(200, {
      total_count: fullNames.length,
      repositories: fullNames.map((fullName, i) => {
        const [owner, name] = fullName.split("/");
        return { id: i + 1, name, full_name: fullName, owner: { login: owner } };
      }),
    });
}

/** When a secret was last written, unless a test says otherwise (`{ name, updatedAt }`). */
export const SECRET_UPDATED_AT = "2026-01-01T00:00:00Z";

/** `GET …/environments/{env}/secrets`: names, each last written at `SECRET_UPDATED_AT` or its own `updatedAt`. */
export function mockEnvironmentSecretNames(
  fullName: string,
  environment: string,
  names: (string | { name: string; updatedAt: string })[],
): nock.Scope {
  const secrets = names.map((entry) => (typeof entry === "string" ? { name: entry, updatedAt: SECRET_UPDATED_AT } : entry));
  return nock(API)
    .get(`/repos/${fullName}/environments/${encodeURIComponent(environment)}/secrets`)
    .query({ per_page: "100" })
    .reply(200, {
      total_count: secrets.length,
      secrets: secrets.map(({ name, updatedAt }) => ({ name, created_at: "2025-12-01T00:00:00Z", updated_at: updatedAt })),
    });
}

/** `POST /app/installations/{id}/access_tokens`: the installation token exchange (app auth). */
export function mockInstallationToken(installationId: number): nock.Scope {
  return nock(API)
    .post(`/app/installations/${installationId}/access_tokens`)
    .reply(201, { token: "t", expires_at: "2099-01-01T00:00:00Z", permissions: {}, repository_selection: "all" });
}
