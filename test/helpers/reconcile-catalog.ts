/**
 * The catalog the reconcile tests run against: PROD_DB_URL may go to any acme repository's
 * production environment; PAYMENTS_KEY only to acme/api, in production or staging.
 */
export const RECONCILE_CATALOG = `
secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
  PAYMENTS_KEY:
    source: env:PAYMENTS_KEY
    repositories: ["acme/api"]
    environments: [production, staging]
    max_duration: 1h
`;
