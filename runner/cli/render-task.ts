/** `runway tasks render <dag> <task>`: what the task would send, with nothing sent and no Redis. */
import { tickAfter } from '../core/data-interval.ts';
import { loadDagRegistry } from '../loader/dag-registry.ts';
import { dsOf } from '../core/data-interval.ts';
import { isRenderable, type RunInfo } from '../core/operator.ts';
import { noSuchTask, OperationError } from '../state/operations.ts';

export async function renderTask(
  dagsFolder: string,
  dagId: string,
  taskId: string,
  logicalDate: Date = new Date(),
  params: Record<string, unknown> = {},
): Promise<{ run: RunInfo; rendered: unknown }> {
  const { registry, problems } = await loadDagRegistry(dagsFolder);
  const loaded = registry.get(dagId);
  if (!loaded) {
    const why = problems.find((p) => p.dagId === dagId)?.message;
    throw new OperationError(`no DAG "${dagId}" can be loaded${why ? `: ${why}` : ' (see `runway dags list`)'}`);
  }
  const task = loaded.tasks.get(taskId);
  if (!task) throw noSuchTask(dagId, loaded.tasks.keys(), taskId);
  const schedule = loaded.schedule.schedule;
  const end =
    schedule.kind === 'cron' ? tickAfter(schedule.expression, loaded.summary.timezone, logicalDate) : logicalDate;
  const parsed = loaded.dag.options.params?.safeParse(params);
  const run: RunInfo = {
    dagId,
    taskId,
    runId: `render__${logicalDate.toISOString()}`,
    tryNumber: 1,
    logicalDate,
    dataIntervalStart: logicalDate,
    dataIntervalEnd: end,
    ...dsOf(logicalDate, loaded.summary.timezone),
    params: parsed?.success ? (parsed.data as Record<string, unknown>) : params,
  };
  if (!isRenderable(task.operator)) {
    return { run, rendered: `task "${taskId}" is a ${task.operator.kind} task: it sends nothing Runway can show` };
  }
  try {
    return { run, rendered: task.operator.render(run) };
  } catch (error) {
    throw new TaskRenderError(dagId, taskId, logicalDate, error);
  }
}

/**
 * A task's operator refused to render for this run (an option that resolves to something it does
 * not allow). One line for people: the DAG, the task and the operator's message, which names the
 * field; no stack, since the fault is in the DAG, not in Runway.
 */
export class TaskRenderError extends Error {
  override readonly name = 'TaskRenderError';
  constructor(dagId: string, taskId: string, logicalDate: Date, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `DAG "${dagId}", task "${taskId}": cannot render for logical date ${logicalDate.toISOString()}: ${why.replace(/\s*\n\s*/g, ' ')}`,
      { cause },
    );
  }
}

/** Rendered requests for people: SQL as SQL, the rest as JSON. */
export function formatRendered(rendered: unknown): string {
  if (typeof rendered === 'string') return rendered;
  const { sql, ...rest } = rendered as { sql?: string[]; params?: Record<string, unknown> };
  if (sql && rest.params) {
    for (const key of ['Sql', 'Sqls'])
      if (key in rest.params) rest.params = { ...rest.params, [key]: '(the statements below)' };
  }
  const lines = [JSON.stringify(rest, null, 2)];
  if (sql) sql.forEach((statement, i) => lines.push(`-- statement ${i + 1} of ${sql.length}`, `${statement};`));
  return lines.join('\n');
}
