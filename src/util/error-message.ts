/**
 * An error's text, for logs, audit records and replies. Error messages here never carry secret
 * values: a value is sealed before it is sent, and nothing that reads one puts it in an error.
 */
export function errorMessage(error: unknown): string {
  // Read by shape, not `instanceof Error`: an error made in another realm (a VM context, a
  // worker) is an Error all the same.
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") return error.message;
  return String(error);
}

/**
 * An error's first line, at most 200 characters: what a log field, a comment or a check run shows.
 * `withCause` adds the first line of its cause (`fetch failed: connect ECONNREFUSED …`).
 */
export function errorSummary(error: unknown, options: { withCause?: boolean } = {}): string {
  const cause = options.withCause === true && typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined;
  const text = firstLine(errorMessage(error)) + (cause !== undefined && cause !== null ? `: ${firstLine(errorMessage(cause))}` : "");
  return text.slice(0, 200);
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}
