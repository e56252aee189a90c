/**
 * Turns what the zod schema finds wrong with a requests file into problems placed on the node
 * (or key) of the YAML document that is wrong, with a message that says how to fix it.
 */
import { type Document, isMap, isNode, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from "yaml";
import type { z } from "zod";
import { closestName } from "./closest-name.js";
import type { Problem } from "./problem.js";
import { parseMessages } from "./request-messages.js";
import { FILE_KEYS, REQUEST_KEYS, type RequestKey } from "./request-schema.js";
import { spanOf } from "./yaml-span.js";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

export function schemaProblems(
  issues: readonly Issue[],
  doc: Document,
  lines: LineCounter,
  alreadyReported: ReadonlySet<Node>,
): Problem[] {
  const at = (node: Node | null | undefined, message: string): Problem => ({ ...spanOf(node?.range, lines), message });
  const startOf = (node: Node | null | undefined, message: string): Problem => {
    const { line, column } = spanOf(node?.range, lines);
    return { line, column, message };
  };
  return issues.flatMap((issue): Problem[] => {
    const node = nodeAt(doc, issue.path);
    switch (issue.code) {
      case "invalid_type": {
        if (node === undefined) return [startOf(nodeAt(doc, issue.path.slice(0, -1)), missingMessage(issue.path))];
        return [at(node, typeMessage(issue.path, node))];
      }
      case "unrecognized_keys":
        return issue.keys.flatMap((key) => {
          const allowed = issue.path.length === 0 ? FILE_KEYS : REQUEST_KEYS;
          const keyNode = isMap(node) ? keyNodeOf(node, key) : undefined;
          // A key hiding invisible characters is reported as such, and never echoed.
          if (keyNode !== undefined && alreadyReported.has(keyNode)) return [];
          return [at(keyNode ?? node, parseMessages.unknownKey(key, allowed, closestName(key, allowed)))];
        });
      case "invalid_format":
        if (node !== undefined && alreadyReported.has(node)) return [];
        return [at(node, parseMessages.schema(issue.message))];
      default:
        return [at(node, parseMessages.schema(issue.message))];
    }
  });
}

function nodeAt(doc: Document, path: Path): Node | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  const found: unknown = doc.getIn(path as unknown[], true);
  return isNode(found) ? found : undefined;
}

function keyNodeOf(map: YAMLMap, key: string): Node | undefined {
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
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
