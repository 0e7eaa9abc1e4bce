/** Finds where in a DAG file an import error or a problem is, for file:line messages. Pure. */

/** The first `line` of `file` named in an error's message or stack (source-mapped by tsx). */
export function lineFromError(error: unknown, file: string): number | undefined {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`(?:file://)?${escaped}:(\\d+)(?::\\d+)?`).exec(text);
  return match ? Number(match[1]) : undefined;
}

/** The 1-based line of the first line matching `pattern`, if any. */
export function lineOf(source: string, pattern: RegExp): number | undefined {
  const lines = source.split('\n');
  const index = lines.findIndex((line) => pattern.test(line));
  return index === -1 ? undefined : index + 1;
}

const quoted = (value: string) => `['"\`]${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`;

/** Where to point a problem: the task's `.task('id'` call, the option named by the rule, or the DAG id. */
export function locateProblem(source: string, problem: { dagId?: string; taskId?: string; rule: string }): number {
  if (problem.taskId !== undefined) {
    const line =
      lineOf(source, new RegExp(`\\.task\\(\\s*${quoted(problem.taskId)}`)) ??
      lineOf(source, new RegExp(quoted(problem.taskId)));
    if (line !== undefined) return line;
  }
  const field = RULE_FIELDS[problem.rule];
  if (field !== undefined) {
    const line = lineOf(source, new RegExp(`\\b${field}\\s*:`));
    if (line !== undefined) return line;
  }
  if (problem.dagId !== undefined) {
    const line = lineOf(source, new RegExp(quoted(problem.dagId)));
    if (line !== undefined) return line;
  }
  return 1;
}

const RULE_FIELDS: Record<string, string> = {
  tags: 'tags',
  description: 'description',
  owner: 'owner',
  retries: 'retries',
  'no-email-notifications': 'notifications',
  'invalid-schedule': 'schedule',
  'invalid-timezone': 'timezone',
  'invalid-start-date': 'startDate',
  'invalid-end-date': 'endDate',
  'start-after-end': 'endDate',
};
