/**
 * The operator catalog and secret values the end-to-end tests run the app with. Secrets are
 * read from the app's environment or from a file, so both value sources are exercised.
 * The values are distinctive so that any place they show up can be found. LEGACY_TOKEN is the
 * old entry of the approval-binding attacks: one approval, like PROD_DB_URL, so that an app
 * that mistook it for part of a request would grant it on an approval of something else; its
 * second environment has a `k`, which the Kelvin sign (U+212A) imitates. DEPLOY_KEY is bound to
 * its requester (`bind_to_requester`) and goes only to production-jit, an environment the
 * workflow-gate tests make jit-access the deployment protection rule of.
 */
export const SECRET_VALUES = {
  PROD_DB_URL: "postgres://jit:e2e-Only-p4ss-7Qk2@db.internal:5432/prod",
  PROD_ADMIN_TOKEN: "adm_e2e_9f3c1b7d-never-shown-token",
  LEGACY_TOKEN: "lgc_e2e_4d1f-retired-but-still-valid",
  DEPLOY_KEY: "dpk_e2e_8b2e-only-the-requesters-runs",
} as const;

export type SecretName = keyof typeof SECRET_VALUES;

/** File name (inside the app's data directory) that PROD_ADMIN_TOKEN is read from. */
export const ADMIN_TOKEN_FILE = "prod-admin-token";

export function e2eCatalog(dataDir: string): string {
  return `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob", "@acme/dba"]
    environments: [production]
    max_duration: 4h
  PROD_ADMIN_TOKEN:
    source: file:${dataDir}/${ADMIN_TOKEN_FILE}
    repositories: ["acme/*"]
    approvers: ["@bob", "@carol"]
    environments: [production]
    max_duration: 1h
    approvals: 2
  LEGACY_TOKEN:
    source: env:LEGACY_TOKEN
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production, backoffice]
    max_duration: 4h
  DEPLOY_KEY:
    source: env:DEPLOY_KEY
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production-jit]
    max_duration: 1h
    bind_to_requester: true
`;
}
