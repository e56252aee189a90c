/**
 * `npm run demo`: the whole jit-access lifecycle on this machine, with no credentials and no
 * network. It starts the local GitHub simulator and the app as a real `npm start` process
 * (signed webhooks over HTTP, the GitHub API through GHE_HOST), then plays one access request
 * from a mistake to expiry, printing a timeline. Exits 0 when every step happened as expected.
 */
import { startAppProcess, type AppProcess } from "../sim/app-process.js";
import { startSimulator, type GitHubSimulator } from "../sim/index.js";

const REPO = "acme/api";
const VALUE = "postgres://app:demo-only-password@db.internal:5432/prod";
const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`;
const WITH_MISTAKE = `requests:
  - secret: PROD_DB_URL
    environment: production
    duration: 9h
    reason: "INC-4211: inspect stuck migrations"
`;
const FIXED = WITH_MISTAKE.replace("duration: 9h", "duration: 20s");

const started = Date.now();
const stamp = (): string => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (text: string): void => console.log(`${stamp()}  ${text}`);
const ok = (text: string): void => console.log(`${stamp()}  ✔ ${text}`);

async function main(): Promise<void> {
  let sim: GitHubSimulator | undefined;
  let app: AppProcess | undefined;
  try {
    say("starting the local GitHub simulator");
    sim = await startSimulator({ port: 0 });
    sim.addUser("alice");
    sim.addUser("bob");
    sim.createRepo(REPO, {
      defaultBranch: "main",
      collaborators: { alice: "write", bob: "write" },
      environments: ["production"],
      files: { ".github/CODEOWNERS": "jit-requests.yml @bob\n", "jit-requests.yml": "requests: []\n" },
    });
    say(`repository ${REPO}: environment "production"; CODEOWNERS makes @bob the owner of jit-requests.yml`);

    say("starting the app: node dist/main.js (what npm start runs), GHE_HOST=" + sim.host);
    app = await startAppProcess(sim, { catalog: CATALOG, env: { PROD_DB_URL: VALUE }, sweepInterval: "5s", logLevel: "warn" });
    ok(`app listening on ${app.url}`);

    // 1. A request with a mistake.
    sim.commit(REPO, "need-db", { "jit-requests.yml": WITH_MISTAKE }, { from: "main", author: "alice" });
    const pr = await sim.openPullRequest(REPO, {
      head: "need-db",
      base: "main",
      author: "alice",
      title: "Access to PROD_DB_URL for INC-4211",
    });
    say(`@alice opens PR #${pr} asking for PROD_DB_URL for 9h`);
    const failed = await sim.waitFor(() => latestCheck(sim!, pr, "completed"), { description: "the failing check" });
    const note = failed.output.annotations[0];
    expect(failed.conclusion === "failure" && note?.start_line === 4, "the check fails with an annotation on line 4");
    ok(`check "jit-access" fails: jit-requests.yml:${note?.start_line}: ${note?.message}`);

    // 2. The fix passes validation and waits for approval.
    await sim.pushToPullRequest(REPO, pr, { "jit-requests.yml": FIXED });
    say("@alice pushes a fix: duration 20s");
    const waiting = await sim.waitFor(() => latestCheck(sim!, pr, "in_progress"), { description: "the waiting check" });
    ok(`check "jit-access": ${waiting.output.title}`);

    // 3. The author's own approval does not grant.
    await sim.submitReview(REPO, pr, { reviewer: "alice", state: "APPROVED", allowAuthor: true });
    say("@alice approves her own request");
    await sim.waitFor(() => sim!.checkRuns(REPO, { headSha: headOf(sim!, pr) }).length >= 2, { description: "a new check" });
    expect(sim.secretValue(REPO, "production", "PROD_DB_URL") === undefined, "no secret after self-approval");
    ok("no secret written: the author's approval never counts");

    // 4. A code owner's approval does.
    say("@bob (code owner) approves");
    const review = sim.submitReview(REPO, pr, { reviewer: "bob", state: "APPROVED" });
    const value = await sim.waitFor(() => sim!.secretValue(REPO, "production", "PROD_DB_URL"), {
      intervalMs: 50,
      description: "the secret",
    });
    const grantedAt = Date.now();
    expect(value === VALUE, "the secret opens to the catalog value");
    ok("PROD_DB_URL arrived in environment production, sealed; opened with the environment's key it is the catalog value");
    await review;
    const comment = await sim.waitFor(() => sim!.comments(REPO, pr).find((c) => c.body.includes("Access granted")), {
      description: "the grant comment",
    });
    await sim.waitFor(() => sim!.labels(REPO, pr).includes("jit:granted"), { description: "the jit:granted label" });
    ok(`PR comment: ${firstLine(comment.body)}; labels: ${sim.labels(REPO, pr).join(", ")}`);
    expect(!sim.comments(REPO, pr).some((c) => c.body.includes(VALUE)), "the value never appears in a comment");

    // 5. It expires and is deleted.
    say("waiting for the 20s grant to expire…");
    await sim.waitFor(() => (sim!.secretValue(REPO, "production", "PROD_DB_URL") === undefined ? true : null), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: "the secret to be deleted",
    });
    ok(`PROD_DB_URL deleted ${((Date.now() - grantedAt) / 1000).toFixed(1)}s after it was granted`);
    const expired = await sim.waitFor(() => sim!.comments(REPO, pr).find((c) => c.body.includes("Access expired")), {
      description: "the expiry comment",
    });
    await sim.waitFor(() => sim!.labels(REPO, pr).includes("jit:expired"), { description: "the jit:expired label" });
    ok(`PR comment: ${firstLine(expired.body)}; labels: ${sim.labels(REPO, pr).join(", ")}`);
    // 6. A second request: /jit status, then /jit revoke ends it early.
    sim.commit(
      REPO,
      "need-db-again",
      { "jit-requests.yml": FIXED.replace("duration: 20s", "duration: 1h") },
      { from: "main", author: "alice" },
    );
    const second = await sim.openPullRequest(REPO, { head: "need-db-again", base: "main", author: "alice", title: "PROD_DB_URL again" });
    say(`@alice opens PR #${second} asking for PROD_DB_URL for 1h; @bob approves`);
    await sim.waitFor(() => latestCheck(sim!, second, "in_progress"), { description: "the waiting check" });
    await sim.submitReview(REPO, second, { reviewer: "bob", state: "APPROVED" });
    await sim.waitFor(() => sim!.secretValue(REPO, "production", "PROD_DB_URL"), { intervalMs: 50, description: "the second grant" });
    ok("granted again");
    await sim.commentOnPullRequest(REPO, second, { author: "alice", body: "/jit status" });
    say("@alice comments /jit status");
    // The reply waits its turn behind the grant's comment (comments go out 3 s apart per installation).
    const status = await sim.waitFor(() => sim!.comments(REPO, second).find((c) => c.body.startsWith("**jit-access status**")), {
      timeoutMs: 20_000,
      description: "the status reply",
    });
    // The live grants are a table: | Secret | Environment | Expires | Approved by |.
    // The last such row: the request's own table (secret, environment, duration, reason) comes first.
    const row =
      status.body
        .split("\n")
        .filter((line) => line.startsWith("| `PROD_DB_URL`"))
        .at(-1) ?? "";
    const expires = row.split("|")[3]?.trim() ?? "?";
    ok(`reply "jit-access status": the request is approved; live grant PROD_DB_URL in production, expires ${expires}`);
    await sim.commentOnPullRequest(REPO, second, { author: "alice", body: "/jit revoke migration done" });
    say("@alice comments /jit revoke migration done");
    await sim.waitFor(() => (sim!.secretValue(REPO, "production", "PROD_DB_URL") === undefined ? true : null), {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: "the secret to be deleted on /jit revoke",
    });
    const revoked = await sim.waitFor(() => sim!.comments(REPO, second).find((c) => c.body.includes("Access revoked")), {
      timeoutMs: 20_000,
      description: "the revocation comment",
    });
    ok(`PROD_DB_URL deleted at once; PR comment: ${firstLine(revoked.body)}`);

    expect(sim.violations.length === 0, `every request the app made is a valid GitHub REST call (${sim.violations.length} violations)`);
    ok(`the app made ${sim.requests.length} GitHub API calls, every one a valid REST request`);
    expect(!app.output().includes(VALUE), "the value never appears in the app's output");
    ok("the secret value appears in no log line");
    console.log(`\nDemo complete: every step happened as expected.`);
  } finally {
    await app?.stop();
    await sim?.close();
  }
}

function headOf(sim: GitHubSimulator, pr: number): string {
  return sim.pullRequest(REPO, pr).headSha;
}

function latestCheck(sim: GitHubSimulator, pr: number, status: string) {
  const runs = sim.checkRuns(REPO, { headSha: headOf(sim, pr), name: "jit-access" });
  const last = runs[runs.length - 1];
  return last && last.status === status ? last : null;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.replace(/\*\*/g, "");
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`expected: ${what}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`\nDemo FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
