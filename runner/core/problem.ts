/** One thing wrong with a DAG file, named precisely enough for a person to fix it. */
export interface Problem {
  /** Path as given to the validator, relative where possible. */
  file: string;
  line?: number;
  dagId?: string;
  taskId?: string;
  /** The check or policy rule that failed, e.g. `cycle`, `import-error`, `retries`. */
  rule: string;
  message: string;
}

/** A problem found by a check that sees one DAG but not its file. */
export type DagProblem = Omit<Problem, 'file' | 'line'>;
