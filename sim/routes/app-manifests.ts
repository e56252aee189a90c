/**
 * `POST /app-manifests/{code}/conversions`: the last step of registering an app from a
 * manifest. No credentials: the one-time code is one. It works once, within an hour of the
 * app's creation; otherwise 404, as GitHub answers. The app then has what the manifest asked
 * for and a fresh private key and webhook secret, which the simulator accepts from then on.
 */
import { randomBytes } from "node:crypto";
import { generateAppPrivateKey } from "../app-auth.js";
import { notFound } from "../server/github-error.js";
import { json, param, type RouteDefinition } from "../server/route.js";
import { integration } from "../shapes/installation.js";

/** GitHub: "You must complete this step within one hour of the app being created." */
export const MANIFEST_CODE_LIFETIME_MS = 60 * 60 * 1000;

export const appManifestRoutes: RouteDefinition[] = [
  {
    method: "POST",
    path: "/app-manifests/{code}/conversions",
    auth: "none",
    handle: (context) => {
      const found = context.state.manifestCodes.get(param(context, "code"));
      if (!found || found.used || context.state.clock().getTime() - found.createdAt > MANIFEST_CODE_LIFETIME_MS) throw notFound();
      found.used = true;
      const manifest = found.manifest as {
        name: string;
        description?: string;
        default_permissions?: Record<string, string>;
        default_events?: string[];
        hook_attributes?: { url?: string; active?: boolean };
      };
      const app = context.state.app;
      app.name = manifest.name;
      if (manifest.description !== undefined) app.description = manifest.description;
      app.permissions = { metadata: "read", ...manifest.default_permissions };
      app.events = manifest.default_events ?? [];
      if (found.organization !== null) app.ownerLogin = found.organization;
      const pem = generateAppPrivateKey();
      const webhookSecret = randomBytes(20).toString("hex");
      context.auth.addKey(pem);
      const hook = manifest.hook_attributes;
      context.state.onAppRegistered({
        privateKeyPem: pem,
        webhookSecret,
        webhookUrl: hook?.url !== undefined && hook.active !== false ? hook.url : null,
      });
      const shape = integration(context.urls, context.state, app);
      return json(201, { ...shape, client_secret: randomBytes(20).toString("hex"), webhook_secret: webhookSecret, pem });
    },
  },
];
