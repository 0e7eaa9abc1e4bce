/**
 * Structural checks on one DAG: what must hold before a scheduler may run it. Pure; each problem
 * names the DAG and, where one is at fault, the task.
 */
import type { DagSummary } from './dag-summary.ts';
import type { DagProblem } from './problem.ts';
import { isValidTimezone, parseDagDate, parseSchedule } from './schedule.ts';

/** Ids become Redis keys, run ids and file names: keep them to a safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

export function checkDag(dag: DagSummary): DagProblem[] {
  const dagId = dag.dagId;
  const problems: DagProblem[] = [];
  const add = (rule: string, message: string, taskId?: string) =>
    problems.push({ dagId, rule, message, ...(taskId === undefined ? {} : { taskId }) });

  if (!ID_PATTERN.test(dagId)) {
    add('invalid-id', `DAG id "${dagId}" may only contain letters, digits, "_", "-" and "." (at most 200)`);
  }
  if (dag.tasks.length === 0) add('empty-dag', 'the DAG has no tasks');

  const timezoneOk = isValidTimezone(dag.timezone);
  if (!timezoneOk) add('invalid-timezone', `"${dag.timezone}" is not an IANA time zone (like "Europe/Paris" or "UTC")`);
  const schedule = parseSchedule(dag.schedule, dag.timezone);
  if (!schedule.ok) add('invalid-schedule', schedule.error);

  const start = parseDagDate(dag.startDate, dag.timezone);
  if (!start.ok) add('invalid-start-date', `startDate ${start.error}`);
  if (dag.endDate !== undefined) {
    const end = parseDagDate(dag.endDate, dag.timezone);
    if (!end.ok) add('invalid-end-date', `endDate ${end.error}`);
    else if (start.ok && end.value.getTime() < start.value.getTime()) {
      add('start-after-end', `startDate ${dag.startDate} is after endDate ${dag.endDate}`);
    }
  }

  const seen = new Set<string>();
  for (const task of dag.tasks) {
    if (!ID_PATTERN.test(task.id)) {
      add('invalid-id', `task id "${task.id}" may only contain letters, digits, "_", "-" and "."`, task.id);
    }
    if (seen.has(task.id)) add('duplicate-task-id', `task id "${task.id}" is used more than once`, task.id);
    seen.add(task.id);
  }
  for (const task of dag.tasks) {
    for (const upstream of task.upstream) {
      if (!seen.has(upstream)) add('unknown-upstream', `upstream "${upstream}" is not a task of this DAG`, task.id);
      if (upstream === task.id) add('cycle', `task "${task.id}" lists itself as upstream`, task.id);
    }
  }
  const roles = new Map(dag.tasks.map((t) => [t.id, t.role]));
  for (const task of dag.tasks) {
    if (task.role === 'teardown' || task.triggerRule === 'all_success') continue;
    const setup = task.upstream.find((id) => roles.get(id) === 'setup');
    if (setup === undefined) continue;
    add(
      'setup-downstream-rule',
      `task "${task.id}" follows setup "${setup}", so its triggerRule must be all_success (as in Airflow): a task that uses what a setup made cannot run without it`,
      task.id,
    );
  }
  const cycle = findCycle(dag.tasks);
  if (cycle && cycle.length > 2) add('cycle', `cycle: ${cycle.join(' -> ')}`, cycle[0]);
  return problems;
}

/**
 * A path `a -> b -> … -> a` following upstream-to-downstream edges, or undefined if the graph is
 * acyclic. Iterative, so that a 100,000-task chain cannot overflow the stack.
 */
export function findCycle(tasks: readonly { id: string; upstream: readonly string[] }[]): string[] | undefined {
  const downstream = new Map<string, string[]>();
  for (const task of tasks) downstream.set(task.id, []);
  for (const task of tasks) {
    for (const up of task.upstream) if (up !== task.id) downstream.get(up)?.push(task.id);
  }
  const state = new Map<string, 'active' | 'done'>();
  for (const root of downstream.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const cursors: number[] = [0];
    state.set(root, 'active');
    while (path.length > 0) {
      const node = path[path.length - 1]!;
      const children = downstream.get(node)!;
      const cursor = cursors[cursors.length - 1]!;
      if (cursor >= children.length) {
        state.set(node, 'done');
        path.pop();
        cursors.pop();
        continue;
      }
      cursors[cursors.length - 1] = cursor + 1;
      const child = children[cursor]!;
      const seen = state.get(child);
      if (seen === 'active') return [...path.slice(path.indexOf(child)), child];
      if (seen === undefined) {
        state.set(child, 'active');
        path.push(child);
        cursors.push(0);
      }
    }
  }
  return undefined;
}
