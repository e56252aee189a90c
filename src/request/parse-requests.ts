/**
 * Reads a requests file into entries, and everything wrong with it into problems placed at the
 * exact value or key. Pure: no I/O, never throws. Checks run cheapest and most hostile first,
 * and the document is only read as data once nothing dangerous is left in it:
 * size cap → invisible characters in the source → nesting depth → YAML syntax →
 * anchors, aliases, tags, collection keys → shape (the zod schema) and invisible characters
 * in values.
 */
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, type Node, parseDocument, visit, type YAMLError } from "yaml";
import { invisibleCharactersInSource, trimText } from "./invisible-characters.js";
import type { Problem } from "./problem.js";
import { MAX_FILE_BYTES, PROBLEMS_COLLECTED, parseMessages } from "./request-messages.js";
import { TEXT_REQUEST_KEYS, type RequestKey, type TextRequestKey, requestsFileSchema } from "./request-schema.js";
import { schemaProblems } from "./schema-problems.js";
import { findHazards } from "./yaml-hazards.js";
import { firstTooDeep } from "../util/yaml-nesting.js";
import { type Span, spanOf } from "./yaml-span.js";

export type { Span } from "./yaml-span.js";

/** A well-formed entry of the requests file, values as written (trimmed), with their places. */
export interface RequestEntry {
  /** Position in the `requests` list, from 0. */
  index: number;
  secret: string;
  environment: string;
  duration: string;
  reason: string;
  /** `break_glass: true`: emergency access, granted without approval where the catalog allows it. */
  breakGlass: boolean;
  /** 1-based line of the list item. */
  line: number;
  /** Where each value is. */
  fields: Partial<Record<RequestKey, Span>>;
}

export interface ParsedRequests {
  /** The entries without problems of their own, in file order. */
  entries: RequestEntry[];
  /** Sorted by line, then column. */
  problems: Problem[];
}

/** Lists and maps nested deeper than this are refused before the document is composed. */
export const MAX_NESTING = 8;

/**
 * YAML 1.2 core schema whatever the file's `%YAML` directive says; no `<<` merge keys; duplicate
 * keys are errors; warnings are collected, not logged. (`logLevel: "silent"` would also drop the
 * error for a second document in the file, so it is not used.)
 */
const YAML_OPTIONS = {
  version: "1.2",
  schema: "core",
  merge: false,
  // The library compares each key with every earlier key of its map: quadratic, 0.5 s for a
  // 64 KiB flow map of 6,000 keys. Duplicates are found here instead, in one pass (duplicateKeys).
  uniqueKeys: false,
  prettyErrors: false,
  logLevel: "error",
} as const;

export function parseRequests(text: string): ParsedRequests {
  const read = readDocument(text);
  if (!read.ok) return { entries: [], problems: sorted(read.problems) };
  const { doc, lines } = read;
  const hazards = findHazards(doc, lines);
  if (hazards.blocking.length > 0) return { entries: [], problems: sorted([...hazards.blocking, ...hazards.invisible]) };

  const data: unknown = doc.toJS({ maxAliasCount: 0 }) ?? {};
  const checked = requestsFileSchema.safeParse(data);
  const issues = checked.success ? [] : checked.error.issues;
  const shapeProblems = schemaProblems(issues, doc, lines, hazards.invisibleNodes);

  const badItems = new Set(issues.flatMap(({ path: [key, index] }) => (key === "requests" && typeof index === "number" ? [index] : [])));
  const entries = listItems(doc).flatMap(({ item, index }) => {
    if (badItems.has(index) || isTainted(item, hazards.invisibleNodes)) return [];
    const entry = toEntry(item, index, lines);
    return entry === null ? [] : [entry];
  });
  return { entries, problems: sorted([...hazards.invisible, ...shapeProblems]) };
}

type Read = { ok: true; doc: Document; lines: LineCounter } | { ok: false; problems: Problem[] };

/** The document, unless size, invisible source characters, nesting or syntax stop the reading. */
function readDocument(text: string): Read {
  const refuse = (problems: Problem[]): Read => ({ ok: false, problems });
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_FILE_BYTES) return refuse([{ line: 1, column: 1, message: parseMessages.fileTooLarge(bytes) }]);

  // Filled here rather than by parseDocument: the checks before parsing need positions too.
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let offset = text.indexOf("\n"); offset !== -1; offset = text.indexOf("\n", offset + 1)) lines.addNewLine(offset + 1);
  const at = (start: number, end: number, message: string): Problem => ({ ...spanOf([start, end], lines), message });

  const invisible = invisibleCharactersInSource(text, PROBLEMS_COLLECTED).map(({ offset, codePoint }) =>
    at(offset, offset + 1, parseMessages.invisible("this line", codePoint)),
  );
  if (invisible.length > 0) return refuse(invisible);

  const tooDeep = firstTooDeep(text, MAX_NESTING);
  if (tooDeep !== null) return refuse([at(tooDeep, tooDeep, parseMessages.tooDeep(MAX_NESTING))]);

  const doc = parseDocument(text, YAML_OPTIONS);
  const syntax = [
    ...firstByOffset(doc.errors, (error) => error.pos[0]).map((error) => at(error.pos[0], error.pos[1], syntaxMessage(error))),
    ...duplicateKeys(doc).map((offset) => at(offset, offset + 1, parseMessages.yamlSyntax("Map keys must be unique"))),
    // A tag YAML cannot resolve (`!!js/function`, `!secret`) is refused with every other tag.
    ...doc.warnings
      .filter((warning) => warning.code !== "TAG_RESOLVE_FAILED")
      .map((warning) => at(warning.pos[0], warning.pos[1], parseMessages.yamlWarning(warning.message))),
  ];
  return syntax.length > 0 ? refuse(syntax) : { ok: true, doc, lines };
}

/**
 * The offsets of keys that repeat an earlier key of the same map (compared as the library
 * compares them: scalars by value), the first PROBLEMS_COLLECTED in the file. Linear.
 */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const value: unknown = pair.key.value;
        if (seen.has(value)) found.push(pair.key.range?.[0] ?? 0);
        else seen.add(value);
      }
    },
  });
  return firstByOffset(found, (offset) => offset);
}

/** The first PROBLEMS_COLLECTED items by offset: more are never shown, so never placed. */
function firstByOffset<T>(items: readonly T[], offset: (item: T) => number): T[] {
  if (items.length <= PROBLEMS_COLLECTED) return [...items];
  return [...items].sort((a, b) => offset(a) - offset(b)).slice(0, PROBLEMS_COLLECTED);
}

/** The `yaml` library's words, except where they name its own API rather than the fix. */
function syntaxMessage(error: YAMLError): string {
  return error.code === "MULTIPLE_DOCS" ? parseMessages.multipleDocuments() : parseMessages.yamlSyntax(error.message);
}

/** The items of the `requests` list with their positions in it. */
function listItems(doc: Document): Array<{ item: Node; index: number }> {
  const root = doc.contents;
  if (!isMap(root)) return [];
  const requests: unknown = root.get("requests", true);
  if (!isSeq(requests)) return [];
  return requests.items.flatMap((item, index) => (isNode(item) ? [{ item, index }] : []));
}

/** An item with a key or value that hides invisible characters (reported already). */
function isTainted(item: Node, invisibleNodes: ReadonlySet<Node>): boolean {
  return isMap(item) && item.items.some((pair) => [pair.key, pair.value].some((node) => isNode(node) && invisibleNodes.has(node)));
}

function toEntry(item: Node, index: number, lines: LineCounter): RequestEntry | null {
  if (!isMap(item)) return null;
  const values: Partial<Record<TextRequestKey, string>> = {};
  const fields: Partial<Record<RequestKey, Span>> = {};
  for (const key of TEXT_REQUEST_KEYS) {
    const node: unknown = item.get(key, true);
    if (!isScalar(node) || typeof node.value !== "string") return null;
    values[key] = trimText(node.value);
    fields[key] = spanOf(node.range, lines);
  }
  const glass: unknown = item.get("break_glass", true);
  let breakGlass = false;
  if (glass !== undefined) {
    if (!isScalar(glass) || typeof glass.value !== "boolean") return null;
    breakGlass = glass.value;
    fields.break_glass = spanOf(glass.range, lines);
  }
  const { secret, environment, duration, reason } = values;
  if (secret === undefined || environment === undefined || duration === undefined || reason === undefined) return null;
  return { index, secret, environment, duration, reason, breakGlass, line: spanOf(item.range, lines).line, fields };
}

function sorted(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}
