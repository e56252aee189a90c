/**
 * The setup page as an operator meets it: `node dist/main.js` (what `npm start` runs) in a
 * directory, with none of the app's credentials, against the simulator as GitHub Enterprise;
 * and the trip to GitHub and back that a browser makes, as plain form posts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { APP_ENTRY } from "../../../sim/app-process.js";
import type { GitHubSimulator } from "../../../sim/index.js";

export interface SetupProcess {
  url: string;
  port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/** The environment of a first start: the server's address and GitHub's, nothing else (plus `extra`). */
export function setupEnv(sim: GitHubSimulator, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    LOG_FORMAT: "json",
    HOST: "127.0.0.1",
    PORT: String(port),
    GHE_HOST: sim.host,
    GHE_PROTOCOL: "http",
    ...extra,
  };
}

/** `node dist/main.js` in `dir` with no credentials anywhere: the setup page, once it answers /ping. */
export async function startSetupProcess(
  sim: GitHubSimulator,
  dir: string,
  port: number,
  extraEnv: Record<string, string> = {},
): Promise<SetupProcess> {
  const child: ChildProcess = spawn(process.execPath, [APP_ENTRY], {
    cwd: dir,
    env: setupEnv(sim, port, extraEnv),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 20_000; ;) {
    if (!running) throw new Error(`the app exited instead of serving the setup page:\n${output}`);
    if (
      await fetch(`${url}/ping`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the setup page did not come up within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    output: () => output,
    stop: async () => {
      if (running) child.kill("SIGTERM");
      return exited;
    },
  };
}

const unescape = (text: string): string =>
  text.replace(/&(quot|#39|lt|gt|amp);/g, (_, entity: string) => ({ quot: '"', "#39": "'", lt: "<", gt: ">", amp: "&" })[entity]!);

/**
 * What a browser does from the setup page's "Continue" to GitHub's redirect back: posts the
 * setup form (registering on `organization`), posts the hand-over page's manifest to GitHub,
 * confirms there, and returns the address GitHub sends the browser back to (not yet opened).
 */
export async function returnFromGitHub(sim: GitHubSimulator, setupUrl: string, organization = "acme"): Promise<string> {
  const handOver = await fetch(`${setupUrl}/setup/register`, {
    method: "POST",
    body: new URLSearchParams({ owner: "organization", organization, name: "jit-access", webhook_url: `${setupUrl}/api/github/webhooks` }),
  });
  const page = await handOver.text();
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  const manifest = /name="manifest" value="([^"]*)"/.exec(page)?.[1];
  if (handOver.status !== 200 || action === undefined || manifest === undefined)
    throw new Error(`no hand-over page (${handOver.status}):\n${page}`);
  const confirm = await fetch(unescape(action), { method: "POST", body: new URLSearchParams({ manifest: unescape(manifest) }) });
  const confirmPage = await confirm.text();
  const pending = /name="pending" value="([0-9a-f]+)"/.exec(confirmPage)?.[1];
  if (pending === undefined) throw new Error(`GitHub did not ask to confirm (${confirm.status}):\n${confirmPage}`);
  const created = await fetch(`${sim.baseUrl}/settings/apps/new/create`, {
    method: "POST",
    body: new URLSearchParams({ pending, name: "" }),
    redirect: "manual",
  });
  const back = created.headers.get("location");
  if (created.status !== 302 || back === null) throw new Error(`GitHub did not send the browser back (${created.status})`);
  return back;
}

/** A page of the setup server: its status; its `<h1>`, its alert and all of its text, as a reader sees them. */
export async function openPage(url: string): Promise<{ status: number; title: string; alert: string; text: string; html: string }> {
  const response = await fetch(url);
  const html = await response.text();
  const text = (pattern: RegExp): string => unescape((pattern.exec(html)?.[1] ?? "").replace(/<[^>]+>/g, ""));
  return {
    status: response.status,
    title: text(/<h1>([\s\S]*?)<\/h1>/),
    alert: text(/role="alert">([\s\S]*?)<\/p>/),
    text: text(/<main>([\s\S]*?)<\/main>/),
    html,
  };
}
