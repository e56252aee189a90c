/**
 * The GitHub App manifest the setup page registers, read from `app.yml` at the package root:
 * name, description, permissions and events, each permission and event with the reason the
 * comment above it gives. The manifest sent to GitHub has the same fields Probot's setup sends
 * (`hook_attributes.url`, `redirect_url`, then everything in `app.yml`), with the app's own
 * webhook path and return address.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";

/** `app.yml` next to `src/` and `dist/`, whichever this module runs from. */
export const APP_YML_PATH = fileURLToPath(new URL("../../app.yml", import.meta.url));

export interface AppYml {
  name: string;
  description: string;
  url: string;
  public: boolean;
  permissions: Array<{ name: string; access: string; reason: string }>;
  events: Array<{ name: string; reason: string }>;
}

/** The manifest as GitHub takes it (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest). */
export interface AppManifest {
  name: string;
  url: string;
  hook_attributes: { url: string; active: boolean };
  redirect_url: string;
  description: string;
  public: boolean;
  default_events: string[];
  default_permissions: Record<string, string>;
}

/** GitHub's limit on an app's name. */
export const MAX_APP_NAME = 34;

export function readAppYml(path: string = APP_YML_PATH): AppYml {
  return parseAppYml(readFileSync(path, "utf8"), path);
}

/** Comment text as one line: `# a\n# b` → `a b`. */
function commentText(comment: string | null | undefined): string {
  return (comment ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}

export function parseAppYml(text: string, where = "app.yml"): AppYml {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${where} is not valid YAML: ${doc.errors[0]!.message}`);
  const scalar = (key: string): string => {
    const value = doc.get(key);
    if (typeof value !== "string" || value.trim() === "") throw new Error(`${where}: "${key}" must be a non-empty string.`);
    return value;
  };
  const permissionsNode = doc.get("default_permissions", true) as Node | undefined;
  const eventsNode = doc.get("default_events", true) as Node | undefined;
  if (!isMap(permissionsNode)) throw new Error(`${where}: "default_permissions" must be a mapping of permission to access.`);
  if (!isSeq(eventsNode)) throw new Error(`${where}: "default_events" must be a list of events.`);
  // A comment above the first entry belongs to the collection, not the entry.
  const permissions = permissionsNode.items.map((pair, index) => {
    if (!isScalar(pair.key) || !isScalar(pair.value)) throw new Error(`${where}: default_permissions entries must be "name: access".`);
    const reason = commentText(index === 0 ? (pair.key.commentBefore ?? permissionsNode.commentBefore) : pair.key.commentBefore);
    return { name: String(pair.key.value), access: String(pair.value.value), reason };
  });
  const events = eventsNode.items.map((item, index) => {
    if (!isScalar(item)) throw new Error(`${where}: default_events entries must be event names.`);
    const reason = commentText(index === 0 ? (item.commentBefore ?? eventsNode.commentBefore) : item.commentBefore);
    return { name: String(item.value), reason };
  });
  return {
    name: scalar("name"),
    description: scalar("description"),
    url: scalar("url"),
    public: doc.get("public") === true,
    permissions,
    events,
  };
}

export function manifestFor(app: AppYml, options: { name: string; webhookUrl: string; redirectUrl: string }): AppManifest {
  return {
    name: options.name,
    url: app.url,
    hook_attributes: { url: options.webhookUrl, active: true },
    redirect_url: options.redirectUrl,
    description: app.description,
    public: app.public,
    default_events: app.events.map((event) => event.name),
    default_permissions: Object.fromEntries(app.permissions.map((permission) => [permission.name, permission.access])),
  };
}
