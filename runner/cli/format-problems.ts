/** How `runway validate` shows problems: for people, for GitHub's PR annotations, or as JSON. */
import type { Problem } from '../core/problem.ts';

export type ProblemFormat = 'human' | 'github' | 'json';

function where(problem: Problem): string {
  const parts = [problem.dagId && `DAG ${problem.dagId}`, problem.taskId && `task ${problem.taskId}`].filter(Boolean);
  return parts.length > 0 ? ` ${parts.join(', ')}:` : '';
}

export function formatHuman(problem: Problem): string {
  const location = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`;
  return `${location}:${where(problem)} ${problem.message} [${problem.rule}]`;
}

// GitHub workflow commands: data escapes %, CR and LF; properties also escape ':' and ','.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatGithub(problem: Problem): string {
  const properties = [`file=${escapeProperty(problem.file)}`];
  if (problem.line !== undefined) properties.push(`line=${problem.line}`);
  properties.push(`title=${escapeProperty(`runway ${problem.rule}`)}`);
  return `::error ${properties.join(',')}::${escapeData(`${where(problem).trim()} ${problem.message}`.trim())}`;
}

export function formatProblems(
  problems: readonly Problem[],
  format: ProblemFormat,
  fileCount: number,
  warnings: readonly Problem[] = [],
): string {
  if (format === 'json') {
    const extra = warnings.length > 0 ? { warnings } : {};
    return JSON.stringify({ ok: problems.length === 0, files: fileCount, problems, ...extra }, null, 2);
  }
  const lines = warnings.map((w) =>
    format === 'github' ? formatGithub(w).replace(/^::error /, '::warning ') : `warning: ${formatHuman(w)}`,
  );
  lines.push(...problems.map(format === 'github' ? formatGithub : formatHuman));
  const files = new Set(problems.map((p) => p.file)).size;
  lines.push(
    problems.length === 0
      ? `runway validate: ${fileCount} DAG file(s) OK`
      : `runway validate: ${problems.length} problem(s) in ${files} of ${fileCount} DAG file(s)`,
  );
  return lines.join('\n');
}
