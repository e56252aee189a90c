/**
 * Renders Markdown the way GitHub would, with two independent renderers: micromark with the GFM
 * extensions (tables, strikethrough, autolink literals: the CommonMark/GFM reference), and
 * markdown-it with linkify, which links even bare domains, more eagerly than GitHub does.
 * Raw HTML is let through by both, so that any that survives shows up as a tag.
 */
import MarkdownIt from "markdown-it";
import { micromark } from "micromark";
import { gfm, gfmHtml } from "micromark-extension-gfm";

const markdownIt = new MarkdownIt({ html: true, linkify: true });

export const RENDERERS: ReadonlyArray<[string, (markdown: string) => string]> = [
  ["micromark + GFM", (markdown) => micromark(markdown, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] })],
  ["markdown-it + linkify", (markdown) => markdownIt.render(markdown)],
];

/** The HTML with every `<code>…</code>` element removed: what GitHub's reference filters read. */
export function outsideCode(html: string): string {
  return html.replace(/<code(?:\s[^>]*)?>[\s\S]*?<\/code>/g, "");
}

/** The names of the elements in the HTML, in order, e.g. ["p", "/p"]. */
export function tagNames(html: string): string[] {
  return [...html.matchAll(/<\s*(\/?[A-Za-z][A-Za-z0-9-]*)/g)].map((match) => (match[1] as string).toLowerCase());
}

/**
 * Text of the HTML with tags removed and entities decoded. An entity other than the five a
 * renderer writes for plain text throws: it would mean text was turned into something else.
 */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, "").replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X")) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return String.fromCodePoint(parseInt(body.slice(1), 10));
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    const decoded = named[body];
    if (decoded === undefined) throw new Error(`unexpected entity ${entity} in rendered HTML`);
    return decoded;
  });
}

/** A GitHub reference outside code: @user or @org/team, #123, GH-1, owner/repo#1, owner/repo@sha. */
export const REFERENCE = /@|#|\bGH-\d|[\w.-]+\/[\w.-]+@[0-9a-f]{7}/iu;
