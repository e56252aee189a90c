/**
 * An access review (`access-review.ts`) as one self-contained HTML page an auditor can open
 * offline and attach to evidence. Pure: the review in, the page's text out.
 *
 * - Nothing is loaded from anywhere: styles and the one small script are inline, the timelines
 *   are inline SVG drawn here, there are no fonts, images or frames. The page's Content Security
 *   Policy says so too (`default-src 'none'`, the style and script allowed by their hashes), so a
 *   browser refuses any request the page might try to make.
 * - Every text from the ledger goes through `htmlText`: a reason `<img src=x onerror=…>` shows
 *   as those characters. Ids in the page are the grants' positions, never ledger text.
 * - Exceptions come first, each saying "None." when there is none.
 * - Each timeline is one secret in one environment of one repository: a bar per grant from
 *   its start to its end (to the end of the review while live), coloured by how it ended, in
 *   lanes so that overlapping grants stay apart. A bar is a link to the grant's row in the table,
 *   reachable with Tab; hovering or focusing it shows a card with requester, approvers, reason
 *   and pull request, and its `<title>` gives screen readers and tooltips the same. The card's
 *   pull request is a link: the next Tab after the bar, and the card stays while the pointer
 *   moves onto it (it hides a moment after the pointer leaves the bar).
 * - The table of every grant sorts by any column with the inline script; without scripts it
 *   reads in the order of the ledger.
 */
import { createHash } from "node:crypto";
import { formatDuration } from "../util/duration.js";
import type { AccessReview, Ending, ReviewGrant } from "./access-review.js";
import { escapeHtml, htmlText } from "../util/html-text.js";

const ENDING_LABELS: Readonly<Record<Ending, string>> = {
  expired: "expired",
  revoked: "revoked early",
  closed: "revoked: pull request closed",
  "break-glass": "break-glass",
  live: "still live",
  failed: "never written (failed)",
};

/** Ending colours: distinct for common colour blindness, each also named in the legend and on the bar. */
const ENDING_COLOURS: Readonly<Record<Exclude<Ending, "failed">, string>> = {
  expired: "#4c78a8",
  revoked: "#e45756",
  closed: "#b279a2",
  "break-glass": "#f58518",
  live: "#54a24b",
};

const CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bad: #a40e26; --good: #116329; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0; }
nav ul { list-style: none; padding: 0; display: flex; gap: 16px; flex-wrap: wrap; }
a { color: #0550ae; }
a:focus-visible, button:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.none { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.exceptions li { margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.scroll { overflow-x: auto; }
table.grants { font-size: 13px; }
table.grants td { min-width: 5em; }
.reason { min-width: 14em; max-width: 24em; overflow-wrap: anywhere; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; color: inherit; text-align: left; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tr:target { outline: 3px solid #0969da; background: #ddf4ff; }
dl.figures { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.figures dt { color: var(--muted); }
dl.figures dd { margin: 0; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; margin: 0 0 8px; padding: 0; list-style: none; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: baseline; }
${Object.entries(ENDING_COLOURS)
  .map(([ending, colour]) => `.swatch.${ending} { background: ${colour}; } .bar.${ending} rect { fill: ${colour}; }`)
  .join("\n")}
figure { margin: 12px 0 20px; }
figcaption { font-weight: 600; margin-bottom: 2px; }
svg.timeline { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
svg.timeline text { font-size: 11px; fill: var(--muted); }
svg.timeline .tick { stroke: #eaeef2; }
svg.timeline .now { stroke: var(--ink); stroke-dasharray: 3 3; }
svg.timeline .bar rect { stroke: none; }
svg.timeline .bar.live rect { stroke: #2b5f27; stroke-width: 1; stroke-dasharray: 4 2; }
svg.timeline .bar:hover rect, svg.timeline .bar:focus rect { stroke: var(--ink); stroke-width: 2; stroke-dasharray: none; }
svg.timeline .bar:focus { outline: none; }
svg.timeline .card { visibility: hidden; transition: visibility 0s linear 0.8s; }
svg.timeline .bar:hover + .card, svg.timeline .bar:focus + .card, svg.timeline .card:hover, svg.timeline .card:focus-within { visibility: visible; transition-delay: 0s; }
svg.timeline .card rect { fill: #f6f8fa; stroke: var(--line); }
svg.timeline .card text { font-size: 12px; fill: var(--ink); }
svg.timeline .card a text { fill: #0550ae; text-decoration: underline; }
svg.timeline .card a:focus-visible { outline: 3px solid #0969da; }
svg.timeline .hint { font-style: italic; }
@media print { svg.timeline .card { display: none !important; } nav { display: none; } }
`;

const SCRIPT = `
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, column) => {
    const button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      for (const other of heads) if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const numeric = th.dataset.type === "number";
      const key = (row) => { const cell = row.cells[column]; const value = cell.dataset.v ?? cell.textContent; return numeric ? Number(value) : value.toLowerCase(); };
      const body = table.tBodies[0];
      const rows = Array.from(body.rows).sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1); });
      body.append(...rows);
    });
  });
}
`;

/** A CSP source for inline text: its SHA-256, base64. */
function hashSource(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src ${hashSource(CSS)}; script-src ${hashSource(SCRIPT)}; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

export function renderAccessReviewHtml(review: AccessReview): string {
  const anchors = new Map(review.grants.map((grant, index) => [grant.id, `grant-${index + 1}`]));
  const byId = new Map(review.grants.map((grant) => [grant.id, grant]));
  const ref = (grantId: string): string => `#${anchors.get(grantId) ?? ""}`;
  const title = `Access review, ${day(review.period.since)} to ${day(review.period.until)}`;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    "<header>",
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Secrets granted by jit-access whose access overlaps ${time(review.period.since)} to ${time(review.period.until)}${
      review.period.asOf === review.period.until ? "" : `, as far as the ledger tells on ${time(review.period.asOf)}`
    }. ${filtersText(review)} Generated ${time(review.generatedAt)} from the ledger; it holds no secret value.</p>`,
    '<nav aria-label="Contents"><ul><li><a href="#exceptions">Exceptions</a></li><li><a href="#summary">Summary</a></li><li><a href="#timelines">Timelines</a></li><li><a href="#grants">Every grant</a></li></ul></nav>',
    "</header>",
    "<main>",
    exceptionsSection(review, byId, ref),
    summarySection(review, byId, ref),
    timelinesSection(review, byId, anchors),
    grantsSection(review, anchors),
    "</main>",
    `<script>${SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

type Ref = (grantId: string) => string;
type ById = ReadonlyMap<string, ReviewGrant>;

function filtersText(review: AccessReview): string {
  const parts = [
    review.filters.repo === null ? "every repository" : `repositories matching ${code(review.filters.repo)}`,
    review.filters.secret === null ? "every secret" : `secret ${code(review.filters.secret)}`,
  ];
  return `Covers ${parts.join(", ")}.`;
}

function exceptionsSection(review: AccessReview, byId: ById, ref: Ref): string {
  const { withoutApproval, outlived, auditChain } = review.exceptions;
  const count = withoutApproval.length + outlived.length + (auditChain.intact ? 0 : 1);
  const list = (notes: readonly { grantId: string; why: string }[], none: string): string =>
    notes.length === 0
      ? `<p class="none">${none}</p>`
      : `<ul class="exceptions">${notes.map((note) => `<li>${grantLink(byId.get(note.grantId), ref)}: ${htmlText(note.why)}</li>`).join("")}</ul>`;
  const chain = auditChain.intact
    ? `<p class="none">None: the audit log's hash chain is intact (${auditChain.records} ${plural(auditChain.records, "record")}${
        auditChain.lastSeq === null ? "" : `; last record ${auditChain.lastSeq}, hash <code>${htmlText(auditChain.lastHash)}</code>`
      }).</p>`
    : `<p class="bad">The audit log's hash chain is broken at record ${auditChain.seq}: ${htmlText(auditChain.problem)}. The ${auditChain.recordsIntact} ${plural(
        auditChain.recordsIntact,
        "record",
      )} before it checked intact; run <code>jit-access audit --verify</code>.</p>`;
  return [
    '<section id="exceptions" aria-labelledby="exceptions-title">',
    `<h2 id="exceptions-title">Exceptions</h2>`,
    count === 0
      ? '<p class="none">None: every grant had a recorded approval, every secret ended when the ledger said, and the audit chain is intact.</p>'
      : `<p class="bad">${count} ${plural(count, "exception")}.</p>`,
    "<h3>Grants without a recorded approval</h3>",
    list(withoutApproval, "None."),
    "<h3>Secrets that outlived the end the ledger set</h3>",
    `<p class="meta">A secret deleted more than ${formatDuration(review.lateAfterMs)} after its expiry, still present after it, an early end still pending, or a delete that failed after the grant ended.</p>`,
    list(outlived, "None."),
    "<h3>Audit chain breaks</h3>",
    chain,
    "</section>",
  ].join("\n");
}

function summarySection(review: AccessReview, byId: ById, ref: Ref): string {
  const { summary } = review;
  const longest = summary.durations.longest;
  const figures: Array<[string, string]> = [
    ["Period", `${time(review.period.since)} to ${time(review.period.until)}`],
    ["Grants with access", String(summary.grants)],
    ["Still live", String(summary.live)],
    ["Approved, never written", String(summary.notWritten)],
    [
      "Median duration",
      summary.durations.medianMs === null
        ? "none ended"
        : `${formatDuration(summary.durations.medianMs)} (of ${summary.durations.ended} ended ${plural(summary.durations.ended, "grant")})`,
    ],
    ["Longest duration", longest === null ? "none ended" : `${formatDuration(longest.ms)}: ${grantLink(byId.get(longest.grantId), ref)}`],
    ["Break-glass grants", breakGlassText(review)],
    ["Revocations failed or late", String(new Set([...summary.revocationFailures, ...summary.lateRevocations].map((r) => r.grantId)).size)],
    ["Revoked early", String(summary.revokedEarly.length)],
  ];
  return [
    '<section id="summary" aria-labelledby="summary-title">',
    '<h2 id="summary-title">Summary</h2>',
    `<dl class="figures">${figures.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${value}</dd>`).join("")}</dl>`,
    "<h3>Grants by secret and environment</h3>",
    summary.bySecret.length === 0
      ? '<p class="none">None: no grant had access in this period.</p>'
      : table(
          [
            "Repository",
            "Environment",
            "Secret",
            "Grants",
            ...(["expired", "revoked", "closed", "break-glass", "live"] as const).map((e) => ENDING_LABELS[e]),
          ],
          summary.bySecret.map((s) => [
            htmlText(s.repository),
            htmlText(s.environment),
            code(s.secret),
            num(s.grants),
            ...(["expired", "revoked", "closed", "break-glass", "live"] as const).map((e) => num(s.endings[e])),
          ]),
          [3, 4, 5, 6, 7, 8],
        ),
    ...peopleTable("Requesters", ["Requester", "Grants"], summary.requesters),
    ...peopleTable("Approvers", ["Approver", "Grants approved"], summary.approvers),
    "<h3>Break-glass</h3>",
    `<p>${breakGlassText(review)}</p>`,
    breakGlassTable(review, ref),
    "<h3>Revocations that failed or ran late</h3>",
    revocationsTable(review, byId, ref),
    "<h3>Grants revoked early</h3>",
    summary.revokedEarly.length === 0
      ? '<p class="none">None.</p>'
      : table(
          ["Grant", "Ended before its expiry by", "Why", "By"],
          summary.revokedEarly.map((r) => [
            grantLink(byId.get(r.grantId), ref),
            formatDuration(r.earlyMs),
            htmlText(r.reason ?? "no reason recorded"),
            htmlText(r.by ?? "not recorded"),
          ]),
          [1],
        ),
    "</section>",
  ].join("\n");
}

function breakGlassText(review: AccessReview): string {
  const { grants, reviewed } = review.summary.breakGlass;
  if (grants === 0) return "0 break-glass grants in this period.";
  return `${grants} break-glass ${plural(grants, "grant")}, ${reviewed} of them reviewed.`;
}

/** The break-glass grants with access, each with the review it awaited: who and when, or not yet. */
function breakGlassTable(review: AccessReview, ref: Ref): string {
  const grants = review.grants.filter((grant) => grant.breakGlass && grant.start !== null);
  if (grants.length === 0) return "";
  return table(
    ["Grant", "Reviewed by a code owner"],
    grants.map((grant) => [grantLink(grant, ref), breakGlassReviewHtml(grant)]),
    [],
  );
}

function breakGlassReviewHtml(grant: ReviewGrant): string {
  const review = grant.breakGlassReview;
  return review === null ? '<span class="bad">not reviewed</span>' : `${htmlText(review.reviewer)}, ${escapeHtml(stamp(review.at))}`;
}

/** Who approved, as plain text: the approvers, or for a break-glass grant the review afterwards. */
function approvalText(grant: ReviewGrant): string {
  if (grant.breakGlass) {
    const review = grant.breakGlassReview;
    return review === null
      ? "nobody (break-glass, not reviewed)"
      : `nobody before the grant (break-glass); reviewed afterwards by ${review.reviewer} at ${stamp(review.at)}`;
  }
  return grant.approvers.length === 0 ? "nobody recorded" : approverEntries(grant).join(", ");
}

/**
 * Each approver with the permission they held when the grant was recorded, and the team they
 * owned through when it was not their own name: `bob (write)`, `erin (admin, via @acme/dba)`.
 */
function approverEntries(grant: ReviewGrant): string[] {
  if (grant.approverPermissions === null) return grant.approvers.map((login) => `${login} (permission not recorded)`);
  return grant.approverPermissions.map(
    ({ login, permission, via }) => `${login} (${permission}${via.toLowerCase() === `@${login.toLowerCase()}` ? "" : `, via ${via}`})`,
  );
}

function revocationsTable(review: AccessReview, byId: ById, ref: Ref): string {
  const { revocationFailures, lateRevocations } = review.summary;
  const ids = [...new Set([...revocationFailures, ...lateRevocations].map((r) => r.grantId))];
  if (ids.length === 0)
    return `<p class="none">None: every revocation succeeded at its first attempt, within ${formatDuration(review.lateAfterMs)} of its expiry.</p>`;
  return table(
    ["Grant", "Failed attempts", "Last error", "Late by", "Now"],
    ids.map((id) => {
      const failure = revocationFailures.find((r) => r.grantId === id);
      const late = lateRevocations.find((r) => r.grantId === id);
      const grant = byId.get(id);
      return [
        grantLink(grant, ref),
        num(failure?.attempts ?? 0),
        htmlText(failure?.lastError ?? "-"),
        late === undefined ? "-" : `${formatDuration(late.lateMs)}${late.stillLive ? " and counting" : ""}`,
        grant?.end === null ? '<span class="bad">still live</span>' : "ended",
      ];
    }),
    [1],
  );
}

function timelinesSection(review: AccessReview, byId: ById, anchors: ReadonlyMap<string, string>): string {
  const legend = (Object.keys(ENDING_COLOURS) as Array<keyof typeof ENDING_COLOURS>)
    .map((ending) => `<li><span class="swatch ${ending}" aria-hidden="true"></span>${escapeHtml(ENDING_LABELS[ending])}</li>`)
    .join("");
  const figures = review.timelines.map((group, index) =>
    [
      `<figure aria-labelledby="timeline-${index + 1}">`,
      `<figcaption id="timeline-${index + 1}">${htmlText(group.repository)} · ${htmlText(group.environment)} · <code>${htmlText(group.secret)}</code> (${group.grantIds.length} ${plural(group.grantIds.length, "grant")})</figcaption>`,
      timelineSvg(
        review,
        group.grantIds.map((id) => byId.get(id)!),
        anchors,
      ),
      "</figure>",
    ].join("\n"),
  );
  return [
    '<section id="timelines" aria-labelledby="timelines-title">',
    '<h2 id="timelines-title">Timelines</h2>',
    `<p class="meta">One per secret and environment. Each bar runs from the grant's start to its end; hover or focus a bar (Tab) for who, why and who approved, and follow it to the grant's row.</p>`,
    `<ul class="legend">${legend}</ul>`,
    figures.length === 0 ? '<p class="none">None: no grant had access in this period.</p>' : figures.join("\n"),
    "</section>",
  ].join("\n");
}

const SVG_WIDTH = 1000;
const PAD = 10;
const AXIS = 26;
const LANE = 18;
const LANE_GAP = 6;
const CARD_LINES = 4;
const CARD_LINE = 16;
const CARD_HEIGHT = CARD_LINES * CARD_LINE + 10;
/** Characters of a card line that fit the width at 12px. */
const CARD_CHARS = 135;

function timelineSvg(review: AccessReview, grants: readonly ReviewGrant[], anchors: ReadonlyMap<string, string>): string {
  const from = Date.parse(review.period.since);
  const to = Date.parse(review.period.until);
  const asOf = Date.parse(review.period.asOf);
  const span = to - from;
  const x = (ms: number): number => PAD + ((Math.min(Math.max(ms, from), to) - from) / span) * (SVG_WIDTH - 2 * PAD);
  const bars = grants.map((grant) => {
    const x1 = x(Date.parse(grant.start!));
    const x2 = Math.max(x(grant.end === null ? asOf : Date.parse(grant.end)), x1 + 3);
    return { grant, x1, x2, lane: 0 };
  });
  // Lanes: each bar goes into the first lane whose last bar ends (with a gap) before it starts.
  const laneEnds: number[] = [];
  for (const bar of bars) {
    let lane = laneEnds.findIndex((end) => end + 2 <= bar.x1);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = bar.x2;
    bar.lane = lane;
  }
  const lanes = Math.max(1, laneEnds.length);
  const cardTop = AXIS + lanes * (LANE + LANE_GAP) + 4;
  const height = cardTop + CARD_HEIGHT + PAD;
  const ticks = axisTicks(from, to).map(
    (tick) =>
      `<line class="tick" x1="${fmt(x(tick.at))}" y1="${AXIS - 6}" x2="${fmt(x(tick.at))}" y2="${cardTop - 4}"/><text x="${fmt(x(tick.at) + 3)}" y="${AXIS - 10}">${escapeHtml(tick.label)}</text>`,
  );
  const now =
    asOf < to
      ? `<line class="now" x1="${fmt(x(asOf))}" y1="${AXIS - 6}" x2="${fmt(x(asOf))}" y2="${cardTop - 4}"/><text x="${fmt(x(asOf) - 3)}" y="${AXIS - 10}" text-anchor="end">now</text>`
      : "";
  const drawn = bars.map(({ grant, x1, x2, lane }) => {
    const y = AXIS + lane * (LANE + LANE_GAP);
    const ending = grant.ending as keyof typeof ENDING_COLOURS;
    return [
      `<a class="bar ${ending}" href="#${anchors.get(grant.id)}">`,
      `<title>${htmlText(barTitle(grant))}</title>`,
      `<rect x="${fmt(x1)}" y="${y}" width="${fmt(x2 - x1)}" height="${LANE}" rx="3"/>`,
      "</a>",
      `<g class="card"><rect x="${PAD}" y="${cardTop}" width="${SVG_WIDTH - 2 * PAD}" height="${CARD_HEIGHT}" rx="4"/>`,
      cardLines(grant)
        .map((line, index) => {
          const text = `<text x="${PAD + 8}" y="${cardTop + 4 + CARD_LINE * (index + 1)}">${htmlText(clip(line.text, CARD_CHARS))}</text>`;
          return line.link === undefined ? text : `<a href="${escapeHtml(line.link)}" rel="noreferrer noopener">${text}</a>`;
        })
        .join(""),
      "</g>",
    ].join("");
  });
  return [
    `<svg class="timeline" viewBox="0 0 ${SVG_WIDTH} ${height}" width="${SVG_WIDTH}" height="${height}" role="group" xmlns="http://www.w3.org/2000/svg">`,
    ...ticks,
    now,
    `<text class="hint" x="${PAD + 8}" y="${cardTop + 4 + CARD_LINE}">Hover or focus a bar for details.</text>`,
    ...drawn,
    "</svg>",
  ].join("\n");
}

function barTitle(grant: ReviewGrant): string {
  return [
    `${grant.requester}: ${grant.secret} in ${grant.environment} of ${grant.repository}`,
    `${interval(grant)}, ${ENDING_LABELS[grant.ending]}`,
    `approved by ${approvalText(grant)}`,
    `reason: ${grant.reason}`,
    `pull request #${grant.prNumber}: ${grant.prUrl}`,
  ].join("; ");
}

/** The card's lines; the pull request's is a link when its address is an http(s) one. */
function cardLines(grant: ReviewGrant): Array<{ text: string; link?: string }> {
  return [
    {
      text: `${grant.requester} · ${interval(grant)} · ${ENDING_LABELS[grant.ending]}${grant.endReason !== null && grant.ending !== "expired" && grant.ending !== "closed" ? ` (${grant.endReason})` : ""}`,
    },
    { text: `Approved by ${approvalText(grant)} · head ${grant.headSha.slice(0, 7)}` },
    { text: `Pull request #${grant.prNumber}: ${grant.prUrl}`, ...(isWebAddress(grant.prUrl) ? { link: grant.prUrl } : {}) },
    { text: `Reason: ${grant.reason}` },
  ];
}

function interval(grant: ReviewGrant): string {
  const start = grant.start === null ? "never written" : stamp(grant.start);
  const end = grant.end === null ? (grant.start === null ? "" : "still live") : stamp(grant.end);
  const actual =
    grant.actualMs === null
      ? ""
      : ` (${formatDuration(grant.actualMs)}${grant.end === null ? " so far" : ""} of ${formatDuration(grant.requestedMs)} requested)`;
  return `${start}${end === "" ? "" : ` to ${end}`}${actual}`;
}

function grantsSection(review: AccessReview, anchors: ReadonlyMap<string, string>): string {
  const head = [
    ["Grant", "text"],
    ["Repository, environment, secret", "text"],
    ["Requester", "text"],
    ["Approvers", "text"],
    ["Reason", "text"],
    ["Pull request", "number"],
    ["Head commit", "text"],
    ["Start", "text"],
    ["Requested", "number"],
    ["Actual", "number"],
    ["Ended", "text"],
  ] as const;
  const rows = review.grants.map((grant) => {
    const cells = [
      `<td class="mono" title="${htmlText(grant.id)}">${htmlText(grant.id.slice(0, 8))}</td>`,
      `<td>${htmlText(grant.repository)}<br>${htmlText(grant.environment)}<br><code>${htmlText(grant.secret)}</code></td>`,
      `<td>${htmlText(grant.requester)}</td>`,
      `<td>${approversHtml(grant)}</td>`,
      `<td class="reason">${htmlText(grant.reason)}</td>`,
      `<td class="num" data-v="${grant.prNumber}">${prLink(grant)}</td>`,
      `<td class="mono" title="${htmlText(grant.headSha)}">${htmlText(grant.headSha.slice(0, 7))}</td>`,
      `<td data-v="${escapeHtml(grant.start ?? "")}">${grant.start === null ? "never written" : `${stamp(grant.start)}${grant.writeConfirmed ? "" : " (write not confirmed)"}`}</td>`,
      `<td class="num" data-v="${grant.requestedMs}">${formatDuration(grant.requestedMs)}</td>`,
      `<td class="num" data-v="${grant.actualMs ?? -1}">${grant.actualMs === null ? "-" : `${formatDuration(grant.actualMs)}${grant.end === null ? " so far" : ""}`}</td>`,
      `<td>${endedText(grant)}</td>`,
    ];
    return `<tr id="${anchors.get(grant.id)}">${cells.join("")}</tr>`;
  });
  return [
    '<section id="grants" aria-labelledby="grants-title">',
    '<h2 id="grants-title">Every grant</h2>',
    '<p class="meta">Sort by a column with its heading. Each approver is shown with the permission they held on the repository when the grant was recorded, and the team they owned the requests file through; jit-access counts an approval only from a code owner with write, maintain or admin access. Grants recorded before the ledger kept the permission say so.</p>',
    review.grants.length === 0
      ? '<p class="none">None: no grant in this period.</p>'
      : [
          '<div class="scroll"><table class="sortable grants" id="grant-table">',
          `<thead><tr>${head.map(([label, type]) => `<th scope="col" aria-sort="none" data-type="${type}"${type === "number" ? ' class="num"' : ""}><button type="button">${escapeHtml(label)}</button></th>`).join("")}</tr></thead>`,
          `<tbody>\n${rows.join("\n")}\n</tbody>`,
          "</table></div>",
        ].join("\n"),
    "</section>",
  ].join("\n");
}

function approversHtml(grant: ReviewGrant): string {
  if (grant.breakGlass) return `break-glass; reviewed afterwards: ${breakGlassReviewHtml(grant)}`;
  return grant.approvers.length === 0 ? '<span class="bad">none recorded</span>' : approverEntries(grant).map(htmlText).join(", ");
}

function endedText(grant: ReviewGrant): string {
  const label = escapeHtml(ENDING_LABELS[grant.ending]);
  const parts = [grant.ending === "failed" || grant.ending === "live" ? label : `${label}, ${stamp(grant.end!)}`];
  if (grant.endReason !== null && grant.ending !== "expired" && grant.ending !== "closed") parts.push(htmlText(grant.endReason));
  if (grant.endedBy !== null) parts.push(`by ${htmlText(grant.endedBy)}`);
  if (grant.lateMs !== null) parts.push(`<span class="bad">${formatDuration(grant.lateMs)} after its expiry</span>`);
  if (grant.revokeAttempts > 0) parts.push(`${grant.revokeAttempts} failed ${plural(grant.revokeAttempts, "attempt")}`);
  return parts.join("; ");
}

/** The pull request as a link when the address is an http(s) one, else as text. */
function prLink(grant: ReviewGrant): string {
  const text = `#${grant.prNumber}`;
  return isWebAddress(grant.prUrl) ? `<a href="${escapeHtml(grant.prUrl)}" rel="noreferrer noopener">${text}</a>` : text;
}

function isWebAddress(url: string): boolean {
  return /^https?:\/\//u.test(url);
}

function grantLink(grant: ReviewGrant | undefined, ref: Ref): string {
  if (grant === undefined) return "an unknown grant";
  return `<a href="${ref(grant.id)}">${htmlText(grant.repository)} · ${htmlText(grant.environment)} · <code>${htmlText(grant.secret)}</code>, ${htmlText(grant.requester)}, PR #${grant.prNumber}</a>`;
}

/**
 * Rows of cells (already HTML) under a header; `numeric` lists the columns aligned as numbers.
 */
/** A heading and a table of people with a count each, or "None.". */
function peopleTable(heading: string, columns: [string, string], people: readonly { login: string; grants: number }[]): string[] {
  const body =
    people.length === 0
      ? '<p class="none">None.</p>'
      : table(
          columns,
          people.map((c) => [htmlText(c.login), num(c.grants)]),
          [1],
        );
  return [`<h3>${heading}</h3>`, body];
}

function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const cls = (column: number): string => (numeric.includes(column) ? ' class="num"' : "");
  return [
    "<table>",
    `<thead><tr>${header.map((label, column) => `<th scope="col"${cls(column)}>${escapeHtml(label)}</th>`).join("")}</tr></thead>`,
    `<tbody>${rows.map((row) => `<tr>${row.map((cell, column) => `<td${cls(column)}>${cell}</td>`).join("")}</tr>`).join("")}</tbody>`,
    "</table>",
  ].join("");
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TICK_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  28 * DAY,
  91 * DAY,
  364 * DAY,
];

/** At most 8 ticks, at whole multiples of a step since the epoch (midnight UTC for days). */
export function axisTicks(from: number, to: number): Array<{ at: number; label: string }> {
  const years = 364 * DAY;
  const step = TICK_STEPS.find((candidate) => (to - from) / candidate <= 8) ?? Math.ceil((to - from) / 8 / years) * years;
  const ticks: Array<{ at: number; label: string }> = [];
  for (let at = Math.ceil(from / step) * step; at < to; at += step) {
    const iso = new Date(at).toISOString();
    ticks.push({ at, label: step < DAY ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10) });
  }
  return ticks;
}

function num(n: number): string {
  return String(n);
}

function code(text: string): string {
  return `<code>${htmlText(text)}</code>`;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** `2026-03-01 08:00:00 UTC`, in a <time> element. */
function time(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(stamp(iso))}</time>`;
}

function stamp(iso: string): string {
  return `${iso.slice(0, 19).replace("T", " ")} UTC`;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}
