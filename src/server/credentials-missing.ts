/**
 * Whether `npm start` serves the setup page (`setup-mode.ts`) instead of the app: asked at every
 * start, so it lives apart from the setup page, which is loaded only when it is served.
 */

/** True when none of the app's credentials is set: a first start, before the app is registered. */
export function credentialsMissing(env: NodeJS.ProcessEnv): boolean {
  return ["APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"].every((name) => (env[name]?.trim() ?? "") === "");
}
