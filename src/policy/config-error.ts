/**
 * A configuration file (the operator catalog or a repository's `.github/jit-access.yml`) that
 * cannot be used, with every problem found in it, each placed at the line and column of the
 * node that caused it.
 */

export interface ConfigProblem {
  /** 1-based; problems that belong to the whole file are on line 1, column 1. */
  line: number;
  column: number;
  /** Where in the document, e.g. `secrets.PROD_DB_URL.max_duration`; empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly file: string;
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(problems.map((problem) => formatConfigProblem(file, problem)).join("\n"), options);
    this.file = file;
    this.problems = problems;
  }
}

/** `FILE:LINE:COL: path: message`, the form editors and terminals link to. */
export function formatConfigProblem(file: string, problem: ConfigProblem): string {
  const where = `${file}:${problem.line}:${problem.column}`;
  return problem.path === "" ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`;
}
