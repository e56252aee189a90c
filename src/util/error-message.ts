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

/** An error's first line, at most 200 characters: what a log field, a comment or a check run shows. */
export function errorSummary(error: unknown): string {
  return errorMessage(error).split("\n")[0]!.slice(0, 200);
}
