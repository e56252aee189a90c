/**
 * YAML features a requests file has no use for and that make it say something other than what
 * a reviewer reads: anchors and aliases (and the expansion bombs they allow), explicit tags,
 * lists or maps used as keys, and strings that hide invisible characters. Found on the composed
 * document without resolving anything; aliases in particular are never expanded here.
 */
import { type Document, isAlias, isCollection, isPair, isScalar, type LineCounter, type Node, visit } from "yaml";
import { firstInvisibleCharacter, trimText } from "./invisible-characters.js";
import type { Problem } from "./problem.js";
import { PROBLEMS_COLLECTED, parseMessages } from "./request-messages.js";
import { spanOf } from "./yaml-span.js";

export interface Hazards {
  /** Anchors, aliases, tags, collection keys: the document must not be read further. */
  blocking: Problem[];
  /** Strings with invisible characters, one problem per string. */
  invisible: Problem[];
  /** The scalars `invisible` reports, so that the same string is not reported twice. */
  invisibleNodes: Set<Node>;
}

const CORE_TAG_PREFIX = "tag:yaml.org,2002:";

export function findHazards(doc: Document, lines: LineCounter): Hazards {
  const hazards: Hazards = { blocking: [], invisible: [], invisibleNodes: new Set() };
  const at = (node: Node, message: string): Problem => ({ ...spanOf(node.range, lines), message });
  // Nodes are visited in document order, so the first PROBLEMS_COLLECTED of each kind are the
  // ones that can be shown; no message is built for the rest. Every tainted node is still marked.
  const blocking = (node: Node, message: () => string): void => {
    if (hazards.blocking.length < PROBLEMS_COLLECTED) hazards.blocking.push(at(node, message()));
  };
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) blocking(pair.key, () => parseMessages.complexKey());
    },
    Node(role, node, path) {
      if (isAlias(node)) blocking(node, () => parseMessages.alias(node.source));
      if (node.anchor !== undefined) blocking(node, () => parseMessages.anchor(node.anchor as string));
      if (node.tag !== undefined) blocking(node, () => parseMessages.tag(shortTag(node.tag as string)));
      if (isScalar(node) && typeof node.value === "string") {
        const codePoint = firstInvisibleCharacter(node.value);
        if (codePoint !== null) {
          if (hazards.invisible.length < PROBLEMS_COLLECTED) {
            hazards.invisible.push(at(node, parseMessages.invisible(describeScalar(role, path), codePoint)));
          }
          hazards.invisibleNodes.add(node);
        }
      }
    },
  });
  return hazards;
}

/** "the key", "reason", or "a value", for messages; never echoes text that failed the check. */
function describeScalar(role: number | "key" | "value" | null, path: readonly unknown[]): string {
  if (role === "key") return "a key";
  const parent = path[path.length - 1];
  if (role === "value" && isPair(parent) && isScalar(parent.key) && typeof parent.key.value === "string") {
    const key = parent.key.value;
    if (firstInvisibleCharacter(key) === null) return trimText(key);
  }
  return "a value";
}

function shortTag(tag: string): string {
  return tag.startsWith(CORE_TAG_PREFIX) ? `!!${tag.slice(CORE_TAG_PREFIX.length)}` : tag;
}
