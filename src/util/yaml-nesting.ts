/**
 * How deeply a YAML text nests lists and maps, measured on the concrete syntax tree before the
 * document is composed. `yaml` composes nested collections recursively, so a short hostile
 * file such as a few thousand `[` can exhaust the stack (and has been seen to abort Node
 * outright); measuring first, iteratively, keeps that from ever being attempted.
 */
import { CST, Parser } from "yaml";

/** Offset of the first collection nested deeper than `max`, or null when none is. */
export function firstTooDeep(text: string, max: number): number | null {
  const pending: Array<{ token: CST.Token; depth: number }> = [];
  for (const token of new Parser().parse(text)) pending.push({ token, depth: 0 });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { token, depth } = next;
    const inner = CST.isCollection(token) ? depth + 1 : depth;
    if (inner > max) return token.offset;
    for (const child of children(token)) pending.push({ token: child, depth: inner });
  }
  return null;
}

function children(token: CST.Token): CST.Token[] {
  switch (token.type) {
    case "document":
      return token.value === undefined ? [] : [token.value];
    case "block-map":
    case "block-seq":
    case "flow-collection":
      return token.items.flatMap((item) => [item.key, item.value].filter(isToken));
    default:
      return [];
  }
}

function isToken(token: CST.Token | null | undefined): token is CST.Token {
  return token !== null && token !== undefined;
}
