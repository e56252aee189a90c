/**
 * The setup pages: what will be registered, the hand-over to GitHub, and the outcome. Plain
 * HTML forms, no script; every text that is not the page's own (from GitHub, `app.yml`, the
 * form) is escaped and shown with its invisible characters spelled out. Pure.
 */
import { createHash } from "node:crypto";
import { escapeHtml, htmlText } from "../util/html-text.js";
import type { AppManifest, AppYml } from "./setup-manifest.js";

const CSS = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; min-height: 100vh; box-sizing: border-box; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.15rem; margin-top: 1.75rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.25rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.6rem; border-bottom: 1px solid #d8dee4; }
th { background: #f6f8fa; font-weight: 600; }
code, .name { font-family: ui-monospace, monospace; font-size: 0.92em; }
.access { white-space: nowrap; }
.write { color: #9a6700; font-weight: 600; }
fieldset { border: 1px solid #d0d7de; border-radius: 6px; margin: 0.75rem 0; padding: 0.5rem 1rem 0.75rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
label { display: block; margin: 0.35rem 0; }
input[type=text], input[type=url] { font: inherit; padding: 0.3rem 0.5rem; width: 28rem; max-width: 100%; border: 1px solid #d0d7de; border-radius: 6px; }
button { font: inherit; font-weight: 600; color: #fff; background: #1f883d; border: 1px solid #1a7f37; border-radius: 6px; padding: 0.45rem 1rem; cursor: pointer; margin-top: 0.75rem; }
.note { color: #59636e; }
.problem { border-left: 4px solid #cf222e; background: #ffebe9; padding: 0.5rem 1rem; }
.done { border-left: 4px solid #1a7f37; background: #dafbe1; padding: 0.5rem 1rem; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; font-size: 0.85em; }
ol li { margin: 0.35rem 0; }
`;

function hashSource(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** No script, no outside resource; forms may post here and to GitHub only. */
export function setupContentSecurityPolicy(githubWebUrl: string): string {
  return `default-src 'none'; style-src ${hashSource(CSS)}; img-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' ${new URL(githubWebUrl).origin}`;
}

function page(title: string, body: string[]): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    "<main>",
    ...body,
    "</main>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

export interface SetupPageInput {
  app: AppYml;
  /** Where GitHub lives for this app: https://github.com, or the GitHub Enterprise Server. */
  githubWebUrl: string;
  /** Where the credentials will be written. */
  envPath: string;
  defaultWebhookUrl: string;
  defaultOrganization: string;
  /** A problem with the form just sent, shown above it. */
  problem?: string;
  form?: { owner: string; organization: string; name: string; webhookUrl: string };
}

export function renderSetupPage(input: SetupPageInput): string {
  const { app } = input;
  const form = input.form ?? {
    owner: input.defaultOrganization ? "organization" : "personal",
    organization: input.defaultOrganization,
    name: app.name,
    webhookUrl: input.defaultWebhookUrl,
  };
  const host = new URL(input.githubWebUrl).host;
  return page(`Register ${app.name} as a GitHub App`, [
    `<h1>Register ${htmlText(app.name)} as a GitHub App</h1>`,
    `<p>jit-access has no GitHub App credentials yet (<code>APP_ID</code>, <code>PRIVATE_KEY</code>, <code>WEBHOOK_SECRET</code>), so it serves this page instead of webhooks. ` +
      `It registers the app on <strong>${htmlText(host)}</strong> from <code>app.yml</code> and writes the credentials GitHub returns to <code>${htmlText(input.envPath)}</code>.</p>`,
    `<p>${htmlText(app.description)}</p>`,
    input.problem ? `<p class="problem" role="alert">${htmlText(input.problem)}</p>` : "",
    "<h2>Permissions</h2>",
    '<table id="permissions"><thead><tr><th scope="col">Permission</th><th scope="col">Access</th><th scope="col">Why</th></tr></thead><tbody>',
    ...app.permissions.map(
      (permission) =>
        `<tr><td class="name">${htmlText(permission.name)}</td><td class="access${permission.access === "write" ? " write" : ""}">${htmlText(permission.access)}</td><td>${htmlText(permission.reason)}</td></tr>`,
    ),
    "</tbody></table>",
    "<h2>Events</h2>",
    '<table id="events"><thead><tr><th scope="col">Event</th><th scope="col">Why</th></tr></thead><tbody>',
    ...app.events.map((event) => `<tr><td class="name">${htmlText(event.name)}</td><td>${htmlText(event.reason)}</td></tr>`),
    "</tbody></table>",
    "<h2>Register</h2>",
    '<form method="post" action="/setup/register">',
    "<fieldset><legend>Owner</legend>",
    `<label><input type="radio" name="owner" value="personal"${form.owner === "personal" ? " checked" : ""}> My personal account</label>`,
    `<label><input type="radio" name="owner" value="organization"${form.owner === "organization" ? " checked" : ""}> An organisation: <input type="text" name="organization" aria-label="Organisation" value="${htmlText(form.organization)}" placeholder="acme" autocomplete="off"></label>`,
    "</fieldset>",
    `<label>App name (unique on ${htmlText(host)}, at most 34 characters)<br><input type="text" name="name" value="${htmlText(form.name)}" required maxlength="34"></label>`,
    `<label>Webhook URL (where GitHub will reach this server)<br><input type="url" name="webhook_url" value="${htmlText(form.webhookUrl)}" required></label>`,
    '<button type="submit">Continue</button>',
    "</form>",
    `<p class="note">Nothing is sent to GitHub until you press “Create on GitHub” on the next page.</p>`,
  ]);
}

export function renderHandOverPage(input: {
  manifest: AppManifest;
  createAppUrl: string;
  ownerText: string;
  githubWebUrl: string;
}): string {
  // The manifest's texts are checked (name, addresses) or the package's own (app.yml); escaped as
  // written, since spelling out line breaks would change the JSON.
  const json = JSON.stringify(input.manifest, null, 2);
  return page(`Create ${input.manifest.name} on GitHub`, [
    `<h1>Create ${htmlText(input.manifest.name)} on GitHub</h1>`,
    `<p>This sends the manifest below to <strong>${htmlText(new URL(input.githubWebUrl).host)}</strong> to register the app for <strong>${htmlText(input.ownerText)}</strong>. ` +
      "GitHub asks you to confirm, creates the app, and sends you back here with a one-time code, which this server exchanges for the app's credentials.</p>",
    `<form method="post" action="${htmlText(input.createAppUrl)}">`,
    `<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(input.manifest))}">`,
    '<button type="submit">Create on GitHub</button>',
    "</form>",
    "<h2>Manifest</h2>",
    `<pre>${escapeHtml(json)}</pre>`,
    '<p><a href="/setup">Back</a></p>',
  ]);
}

export interface SetupOutcome {
  appId: number;
  name: string;
  slug: string;
  htmlUrl: string;
  envPath: string;
  added: string[];
  replaced: string[];
  unchanged: string[];
  keptOthers: number;
  /** Names the process environment sets, which win over `.env` at the next start. */
  shadowed: string[];
}

const list = (names: string[]): string => names.map((name) => `<code>${escapeHtml(name)}</code>`).join(", ");

export function renderDonePage(outcome: SetupOutcome): string {
  const installUrl = `${outcome.htmlUrl.replace(/\/+$/, "")}/installations/new`;
  return page(`${outcome.name} is registered`, [
    `<h1>${htmlText(outcome.name)} is registered</h1>`,
    `<p class="done" role="status">GitHub created the app <a href="${htmlText(outcome.htmlUrl)}" rel="noreferrer">${htmlText(outcome.name)}</a> (app id ${outcome.appId}), and its credentials are in <code>${htmlText(outcome.envPath)}</code> (mode 0600).</p>`,
    '<h2>What was written</h2><ul id="written">',
    outcome.added.length > 0 ? `<li>Added: ${list(outcome.added)}.</li>` : "",
    outcome.replaced.length > 0 ? `<li>Replaced (the file had another value): ${list(outcome.replaced)}.</li>` : "",
    outcome.unchanged.length > 0 ? `<li>Already held this value: ${list(outcome.unchanged)}.</li>` : "",
    `<li>Kept as they were: ${outcome.keptOthers === 0 ? "no other settings" : `${outcome.keptOthers} other setting${outcome.keptOthers === 1 ? "" : "s"}`}, and every comment.</li>`,
    "</ul>",
    outcome.shadowed.length > 0
      ? `<p class="problem" role="alert">The environment this server runs in sets ${list(outcome.shadowed)}, which wins over <code>.env</code>: unset ${outcome.shadowed.length === 1 ? "it" : "them"} before restarting.</p>`
      : "",
    '<h2>Next</h2><ol id="next">',
    `<li><a href="${htmlText(installUrl)}" rel="noreferrer">Install the app</a> on the repositories that may request access (and only those).</li>`,
    "<li>Write the catalog of secrets the app may grant (<code>jit-catalog.yml</code>) and set <code>JIT_CATALOG</code> to its path; check it with <code>jit-access doctor</code> after the restart.</li>",
    "<li>Restart jit-access (<code>npm start</code>). It then serves webhooks instead of this page.</li>",
    "</ol>",
  ]);
}

export function renderProblemPage(input: { title: string; message: string; detail?: string; status: number }): string {
  return page(input.title, [
    `<h1>${escapeHtml(input.title)}</h1>`,
    `<p class="problem" role="alert">${htmlText(input.message)}</p>`,
    input.detail ? `<p>${htmlText(input.detail)}</p>` : "",
    '<p><a href="/setup">Start again</a></p>',
  ]);
}
