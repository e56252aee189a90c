/** `jit-requests.yml` text for the end-to-end tests, and where a value sits in it. */
export interface RequestEntry {
  secret: string;
  duration: string;
  environment?: string;
  reason?: string;
}

export const REQUESTS_FILE = "jit-requests.yml";
export const DEFAULT_REASON = "INC-4211: inspect stuck migrations";

export function requestsYaml(entries: RequestEntry[], header = ""): string {
  const items = entries.map(
    (e) =>
      `  - secret: ${e.secret}\n` +
      `    environment: ${e.environment ?? "production"}\n` +
      `    duration: ${e.duration}\n` +
      `    reason: "${e.reason ?? DEFAULT_REASON}"\n`,
  );
  return `${header}requests:\n${items.join("")}`;
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`"${needle}" is not in the text`);
  const before = text.slice(0, index).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}
