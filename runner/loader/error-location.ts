/** Finds where in a DAG file an import error or a problem is, for file:line messages. Pure. */

/**
 * The first `line` of `file` named in an error's message or stack (source-mapped by tsx). Give the
 * file's real path too: a folder reached through a symlink is named by its real path in stacks.
 */
export function lineFromError(error: unknown, ...files: readonly string[]): number | undefined {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  for (const file of files) {
    const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`(?:file://)?${escaped}:(\\d+)(?::\\d+)?`).exec(text);
    if (match) return Number(match[1]);
  }
  return undefined;
}

/** Lines after a `dag(`/`.task(` call searched for the option an error names. */
const OPTION_SEARCH_LINES = 60;

/**
 * Where a `dag()` or `.task()` option error is: the line of the option it names (`owner:`,
 * `retries:`), searched from the call's line; the call's line when the option is missing.
 */
export function lineOfOption(source: string, field: string | undefined, callLine: number): number {
  if (field === undefined) return callLine;
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const option = new RegExp(`(?:^|[\\s{,])(?:${escaped}|['"]${escaped}['"])\\s*:`);
  const lines = source.split('\n').slice(callLine - 1, callLine - 1 + OPTION_SEARCH_LINES);
  for (const [index, line] of lines.entries()) {
    // A missing option: stop at the next task rather than blame another call's option.
    if (index > 0 && /\.task\s*\(/.test(line)) break;
    if (option.test(line)) return callLine + index;
  }
  return callLine;
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
  'setup-downstream-rule': 'triggerRule',
};
