/**
 * Turns what the zod schema finds wrong with a requests file into problems placed on the node
 * (or key) of the YAML document that is wrong, with a message that says how to fix it.
 */
import { type Document, isMap, isNode, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from "yaml";
import type { z } from "zod";
import { closestName } from "./closest-name.js";
import type { Problem } from "./problem.js";
import { PROBLEMS_COLLECTED, parseMessages } from "./request-messages.js";
import { FILE_KEYS, REQUEST_KEYS, type RequestKey } from "./request-schema.js";
import { spanOf } from "./yaml-span.js";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/**
 * At most PROBLEMS_COLLECTED problems of each entry's and of the file's own, in the order
 * they can be shown: zod reports issues entry by entry, in file order, so once that many are
 * found no later entry is looked at, and of an entry's (or the file's) unknown keys only the
 * first that many are placed and named. A 64 KiB map of 6,000 unknown keys costs 50 lookups.
 */
export function schemaProblems(issues: readonly Issue[], doc: Document, lines: LineCounter, alreadyReported: ReadonlySet<Node>): Problem[] {
  const at = (node: Node | null | undefined, message: string): Problem => ({ ...spanOf(node?.range, lines), message });
  const startOf = (node: Node | null | undefined, message: string): Problem => {
    const { line, column } = spanOf(node?.range, lines);
    return { line, column, message };
  };
  const problemsOf = (issue: Issue): Problem[] => {
    const node = nodeAt(doc, issue.path);
    switch (issue.code) {
      case "invalid_type": {
        if (node === undefined) return [startOf(nodeAt(doc, issue.path.slice(0, -1)), missingMessage(issue.path))];
        return [at(node, typeMessage(issue.path, node))];
      }
      case "unrecognized_keys": {
        const allowed = issue.path.length === 0 ? FILE_KEYS : REQUEST_KEYS;
        const found: Problem[] = [];
        const keys = isMap(node) ? keyNodes(node) : null;
        for (const key of issue.keys) {
          if (found.length >= PROBLEMS_COLLECTED) break;
          const keyNode = keys?.find(key);
          // A key hiding invisible characters is reported as such, and never echoed.
          if (keyNode !== undefined && alreadyReported.has(keyNode)) continue;
          found.push(at(keyNode ?? node, parseMessages.unknownKey(key, allowed, closestName(key, allowed))));
        }
        return found;
      }
      case "invalid_format":
        if (node !== undefined && alreadyReported.has(node)) return [];
        return [at(node, parseMessages.schema(issue.message))];
      default:
        return [at(node, parseMessages.schema(issue.message))];
    }
  };

  const fileProblems: Problem[] = [];
  const entryProblems: Problem[] = [];
  let entry: number | null = null;
  for (const issue of issues) {
    const index = entryIndex(issue.path);
    if (index === null) {
      fileProblems.push(...problemsOf(issue));
      continue;
    }
    // Entries come in file order: past the cap, a new entry's problems could only come later.
    if (entryProblems.length >= PROBLEMS_COLLECTED && index !== entry) continue;
    entry = index;
    entryProblems.push(...problemsOf(issue));
  }
  return [...fileProblems, ...entryProblems];
}

/** The position in the requests list an issue is about, or null for the file itself. */
function entryIndex(path: Path): number | null {
  return path[0] === "requests" && typeof path[1] === "number" ? path[1] : null;
}

/**
 * Finds key nodes of a map by name. zod names unknown keys in the map's order, so each search
 * starts where the last one ended: one pass over the map for all of them.
 */
function keyNodes(map: YAMLMap): { find(key: string): Node | undefined } {
  let next = 0;
  const items = map.items;
  return {
    find(key) {
      for (let step = 0; step < items.length; step += 1) {
        const i = (next + step) % items.length;
        const candidate = items[i]?.key;
        if (isScalar(candidate) && String(candidate.value) === key) {
          next = i + 1;
          return candidate;
        }
      }
      return undefined;
    },
  };
}

function nodeAt(doc: Document, path: Path): Node | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  const found: unknown = doc.getIn(path as unknown[], true);
  return isNode(found) ? found : undefined;
}

function missingMessage(path: Path): string {
  const key = path[path.length - 1];
  return isRequestKey(key) ? parseMessages.missingField(key) : parseMessages.schema(`${String(key)} is missing`);
}

function typeMessage(path: Path, node: Node): string {
  const found = describeNode(node);
  if (path.length === 0) return parseMessages.rootNotMap(found);
  if (path.length === 1) return parseMessages.requestsNotList(found);
  if (path.length === 2) return parseMessages.entryNotMap(found);
  const key = path[path.length - 1];
  return isRequestKey(key) ? parseMessages.fieldNotText(key, found) : parseMessages.schema(`${String(key)} has the wrong type`);
}

function isRequestKey(key: unknown): key is RequestKey {
  return typeof key === "string" && (REQUEST_KEYS as readonly string[]).includes(key);
}

/** "a list", "a map", "the number 2", "true", "an empty value": what was found instead. */
export function describeNode(node: Node): string {
  if (isSeq(node)) return "a list";
  if (isMap(node)) return "a map";
  if (!isScalar(node)) return "an alias";
  const value: unknown = node.value;
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "number" || typeof value === "bigint") return `the number ${String(value)}`;
  if (typeof value === "boolean") return `${String(value)} (write it in quotes if you mean the word)`;
  return "text";
}
