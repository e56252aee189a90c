/**
 * One thing wrong with a request file, placed where it is wrong.
 * Lines and columns are 1-based, as editors and GitHub check-run annotations count them.
 * A problem that belongs to the pull request rather than to a line (fork, base branch,
 * author permission) is placed on line 1, column 1.
 */
export interface Problem {
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
  message: string;
}
