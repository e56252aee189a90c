/**
 * Parses a YAML configuration file against a zod schema and reports every problem at the line
 * and column of the node that caused it. Shared by the catalog and repository config loaders.
 * Configuration is plain data: anchors, aliases, tags that do not resolve and non-scalar keys
 * are refused rather than expanded.
 */
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";
import type { z } from "zod";
import { firstTooDeep } from "../util/yaml-nesting.js";
import { catalogMessages } from "./catalog-messages.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";

/** Configuration needs a few levels (secrets → NAME → field → list); deeper is refused unparsed. */
export const MAX_CONFIG_NESTING = 8;

export interface YamlConfigOptions {
  /** What the file is, for messages: "the catalog", "the repository config". */
  what: string;
  /** Files larger than this (UTF-8 bytes) are refused before parsing. */
  maxBytes: number;
  /** The value validated when the document is empty or only comments; undefined means null. */
  emptyDocument?: unknown;
}

export function parseYamlConfig<Schema extends z.ZodType>(
  text: string,
  file: string,
  schema: Schema,
  options: YamlConfigOptions,
): z.output<Schema> {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > options.maxBytes) {
    throw new ConfigError(file, [wholeFile(`${options.what} is ${bytes} bytes; the limit is ${options.maxBytes} bytes`)]);
  }
  const lineCounter = new LineCounter();
  const tooDeep = firstTooDeep(text, MAX_CONFIG_NESTING);
  if (tooDeep !== null) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineCounter.addNewLine(i + 1);
    const { line, col } = lineCounter.linePos(tooDeep);
    throw new ConfigError(file, [
      {
        line,
        column: col,
        path: "",
        message: `lists and maps are nested more than ${MAX_CONFIG_NESTING} levels deep; ${options.what} needs far fewer`,
      },
    ]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const syntax = [...doc.errors, ...doc.warnings].map((error) => yamlErrorProblem(error, text, options.what));
  const shape = syntax.length > 0 ? syntax : structureProblems(doc, text, lineCounter);
  if (shape.length > 0) throw new ConfigError(file, sortProblems(shape));

  const value: unknown = doc.contents === null ? (options.emptyDocument ?? null) : doc.toJS();
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => issueProblems(issue, doc, lineCounter));
  throw new ConfigError(file, sortProblems(problems), { cause: result.error });
}

function wholeFile(message: string): ConfigProblem {
  return { line: 1, column: 1, path: "", message };
}

function yamlErrorProblem(error: YAMLError, text: string, what: string): ConfigProblem {
  const start = error.linePos?.[0];
  if (error.code === "MULTIPLE_DOCS") {
    // The library's own words recommend one of its functions; say what to change in the file.
    const message = `${what} must be a single YAML document, and the file has multiple documents: remove the second one from here, or merge its entries into the first`;
    return { line: start?.line ?? 1, column: start?.col ?? 1, path: "", message };
  }
  const unquotedAt = error.code === "BAD_SCALAR_START" ? /^@[^\s,\]}]*/u.exec(text.slice(error.pos[0])) : null;
  if (unquotedAt !== null) {
    // `approvers: [@acme/dba]`: YAML reserves a leading @, and its own message does not say to quote.
    return { line: start?.line ?? 1, column: start?.col ?? 1, path: "", message: catalogMessages.quoteAt(unquotedAt[0]) };
  }
  // With prettyErrors the message ends in " at line L, column C:" and a source excerpt; the
  // position is reported separately and the excerpt could quote unrelated lines.
  const firstLine = error.message.split("\n")[0] ?? error.message;
  const message = firstLine.replace(/ at line \d+, column \d+:?$/, "");
  return { line: start?.line ?? 1, column: start?.col ?? 1, path: "", message };
}

/** Anchors, aliases and non-scalar keys: valid YAML, but never meant in a configuration file. */
function structureProblems(doc: Document, text: string, lineCounter: LineCounter): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (offset: number, message: string): void => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ line, column: col, path: "", message });
  };
  visit(doc, {
    Alias(_key, alias) {
      at(alias.range?.[0] ?? 0, `aliases (*${alias.source}) are not allowed; write the value out in full`);
    },
    Node(_key, node) {
      if (node.anchor === undefined || isAlias(node)) return;
      const start = node.range?.[0] ?? 0;
      const marker = text.lastIndexOf(`&${node.anchor}`, start);
      at(marker >= 0 ? marker : start, `anchors (&${node.anchor}) are not allowed; write each value out in full`);
    },
    Pair(_key, pair) {
      if (isCollection(pair.key)) {
        at(pair.key.range?.[0] ?? 0, "keys must be plain names, not lists or maps");
      }
    },
  });
  return problems;
}

/** Where a zod issue belongs in the document, and what to say there. */
function issueProblems(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigProblem[] {
  const pos = (offset: number | undefined): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const found = locate(doc, [...issue.path, key]);
      return {
        ...pos(found.keyNode?.range?.[0] ?? found.node?.range?.[0]),
        path: formatPath([...issue.path, key]),
        message: `unknown key "${key}"; ${issue.message}`,
      };
    });
  }
  const found = locate(doc, issue.path);
  const atKey = issue.code === "custom" && issue.params?.["at"] === "key";
  const target = found.complete && !atKey && hasValue(found.node) ? found.node : (found.keyNode ?? found.node);
  return [{ ...pos(target?.range?.[0]), path: formatPath(issue.path), message: issue.message }];
}

interface Located {
  /** The deepest node reached along the path. */
  node: Node | undefined;
  /** The key of the pair holding `node`, when `node` is a map value. */
  keyNode: Node | undefined;
  /** Whether the whole path was found. */
  complete: boolean;
}

function locate(doc: Document, path: readonly PropertyKey[]): Located {
  let node: Node | undefined = isNodeLike(doc.contents) ? doc.contents : undefined;
  let keyNode: Node | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) return { node, keyNode, complete: false };
      keyNode = isNodeLike(pair.key) ? pair.key : undefined;
      node = isNodeLike(pair.value) ? pair.value : undefined;
      if (node === undefined) return { node: keyNode, keyNode, complete: false };
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (!isNodeLike(item)) return { node, keyNode, complete: false };
      node = item;
      keyNode = undefined;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

function isNodeLike(value: unknown): value is Node {
  return isScalar(value) || isCollection(value) || isAlias(value);
}

/** An empty value (`key:` with nothing after it) has no useful position of its own. */
function hasValue(node: Node | undefined): boolean {
  return node !== undefined && !(isScalar(node) && node.value === null && node.source === "");
}

/** `secrets.PROD_DB_URL.repositories[0]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}
