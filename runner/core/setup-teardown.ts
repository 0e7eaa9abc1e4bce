/**
 * Setup and teardown tasks, as Airflow has them (`as_setup()`, `as_teardown(setups=…)`): a setup
 * makes a resource, the tasks between use it, and its teardown removes it whatever happened to
 * them. Pure graph questions: which setups a trigger rule counts, which tasks decide a run's state,
 * which tasks a clear takes along.
 */
import { z } from 'zod';
import { describeIssues, type TaskSpec } from './dag-options.ts';
import { DagDefinitionError, fieldOf, type TaskDefinition } from './dag.ts';
import { isTerminal, type UpstreamCounts, type TaskInstanceState } from './trigger-rule.ts';
import { parseInstanceKey } from './task-mapping.ts';

export type TaskRole = 'setup' | 'teardown';

/** A teardown's options: a task's, less the trigger rule (always `all_done_setup_success`) and control flow. */
export interface TeardownSpec<UpstreamId extends string = string, SetupId extends string = string> extends Omit<
  TaskSpec<UpstreamId>,
  'triggerRule' | 'branch' | 'shortCircuit'
> {
  /** The setup tasks whose resource this teardown removes; each becomes one of its upstream tasks. @defaultValue [] */
  setups?: readonly SetupId[];
  /** Let this teardown's failure fail the run (Airflow's `on_failure_fail_dagrun`). @defaultValue false */
  onFailureFailRun?: boolean;
}

/** What these questions need of a task; `GraphTask` has it. */
export interface RoleTask {
  readonly id: string;
  readonly upstream: readonly string[];
  readonly role?: TaskRole | undefined;
  /** A teardown whose failure fails the run (Airflow's `on_failure_fail_dagrun`). */
  readonly failsRun?: boolean | undefined;
}

/** The options a teardown adds to a task's. */
export const teardownOptionsSchema = z.strictObject({
  setups: z.array(z.string()).optional(),
  onFailureFailRun: z.boolean().optional(),
});

/**
 * A teardown as the task it is: its setups added to its upstream tasks, its trigger rule
 * `all_done_setup_success`, and what marks it. Throws a `DagDefinitionError` naming the DAG, the
 * teardown and the field at fault.
 */
export function teardownTask(
  dag: { readonly id: string; readonly tasks: readonly TaskDefinition[] },
  id: string,
  spec: unknown,
): { spec: TaskSpec; mark: Pick<TaskDefinition, 'role' | 'setups' | 'onFailureFailRun'> } {
  const where = `DAG "${dag.id}", teardown "${id}"`;
  const fail = (message: string, field: string | undefined) => new DagDefinitionError(message, dag.id, id, field);
  const { setups: rawSetups, onFailureFailRun: rawFails, ...rest } = (spec ?? {}) as TeardownSpec;
  const parsed = teardownOptionsSchema.safeParse({ setups: rawSetups, onFailureFailRun: rawFails });
  if (!parsed.success) throw fail(`${where}: ${describeIssues(parsed.error)}`, fieldOf(parsed.error));
  if ('triggerRule' in rest) {
    throw fail(
      `${where}: field "triggerRule": a teardown's trigger rule is always all_done_setup_success; remove it`,
      'triggerRule',
    );
  }
  const setups = parsed.data.setups ?? [];
  for (const setup of setups) {
    const found = dag.tasks.find((t) => t.id === setup);
    if (found?.role !== 'setup') {
      const why = found ? 'is not a setup task (declare it with .setup())' : 'is not a task declared before it';
      throw fail(`${where}: field "setups": "${setup}" ${why}`, 'setups');
    }
  }
  const upstream = [...new Set([...(rest.upstream ?? []), ...setups])];
  return {
    spec: { ...rest, upstream, triggerRule: 'all_done_setup_success' } as TaskSpec,
    mark: { role: 'teardown', setups, ...(parsed.data.onFailureFailRun ? { onFailureFailRun: true } : {}) },
  };
}

interface Index {
  byId: Map<string, RoleTask>;
  downstream: Map<string, string[]>;
}

const indexCache = new WeakMap<readonly RoleTask[], Index>();

function indexOf(tasks: readonly RoleTask[]): Index {
  let index = indexCache.get(tasks);
  if (!index) {
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const downstream = new Map(tasks.map((t) => [t.id, [] as string[]]));
    for (const task of tasks) for (const up of task.upstream) downstream.get(up)?.push(task.id);
    index = { byId, downstream };
    indexCache.set(tasks, index);
  }
  return index;
}

/**
 * `counts` with the setup counts `all_done_setup_success` reads: how many direct upstream tasks
 * are setups, and how many of them succeeded or were skipped (Airflow's `success_setup`,
 * `skipped_setup`). Unchanged for a task with no setup upstream.
 */
export function withSetupCounts(
  tasks: readonly RoleTask[],
  task: RoleTask,
  states: Readonly<Record<string, TaskInstanceState | undefined>>,
  counts: UpstreamCounts,
): UpstreamCounts {
  const { byId } = indexOf(tasks);
  const setups = task.upstream.filter((id) => byId.get(id)?.role === 'setup');
  if (setups.length === 0) return counts;
  return {
    ...counts,
    setup: setups.length,
    setupSuccess: setups.filter((id) => states[id] === 'success').length,
    setupSkipped: setups.filter((id) => states[id] === 'skipped').length,
  };
}

/**
 * The tasks whose states decide a finished run's state (Airflow's `_tis_for_dagrun_state`): the
 * leaves, where a teardown does not count as a downstream task, nor as a leaf itself, unless it is
 * marked to fail the run. A DAG of nothing but teardowns falls back to its plain leaves.
 */
export function runStateTaskIds(tasks: readonly RoleTask[]): string[] {
  const { byId, downstream } = indexOf(tasks);
  const ignored = (task: RoleTask | undefined) => task?.role === 'teardown' && !task.failsRun;
  const leaves = tasks.filter(
    (task) => !ignored(task) && (downstream.get(task.id) ?? []).every((id) => ignored(byId.get(id))),
  );
  if (leaves.length > 0) return leaves.map((t) => t.id);
  return tasks.filter((t) => (downstream.get(t.id) ?? []).length === 0).map((t) => t.id);
}

/**
 * `ids` with the setups and teardowns clearing them takes along, as Airflow's clear does: a
 * cleared setup brings its teardowns; a cleared work task brings the setups upstream of it whose
 * teardowns are downstream of it (or that have none), with their teardowns. A cleared teardown
 * alone brings nothing. Order: `ids` first, then what was added.
 */
export function withSetupsAndTeardowns(tasks: readonly RoleTask[], ids: readonly string[]): string[] {
  const { byId, downstream } = indexOf(tasks);
  const out = new Set(ids);
  const teardownsOf = (id: string) => (downstream.get(id) ?? []).filter((d) => byId.get(d)?.role === 'teardown');
  for (const id of ids) {
    const task = byId.get(id);
    if (!task || task.role === 'teardown') continue;
    if (task.role === 'setup') {
      for (const teardown of teardownsOf(id)) out.add(teardown);
      continue;
    }
    const below = new Set(reach(id, (t) => downstream.get(t) ?? []).filter((d) => byId.get(d)?.role === 'teardown'));
    for (const up of reach(id, (t) => byId.get(t)?.upstream ?? [])) {
      if (byId.get(up)?.role !== 'setup') continue;
      const teardowns = teardownsOf(up);
      if (teardowns.length > 0 && !teardowns.some((t) => below.has(t))) continue;
      out.add(up);
      for (const teardown of teardowns) out.add(teardown);
    }
  }
  return [...out];
}

/**
 * The instances a run past its `dagRunTimeout` stops by skipping them, as Airflow skips every
 * unfinished instance, but for two kinds kept so that no resource is left behind: teardowns,
 * which then run as usual once their upstream tasks are done, and setups already running, whose
 * resource may exist when they end (their teardowns then remove it). `states` is keyed by
 * instance (`load[3]` for an index of a mapped task).
 */
export function stoppedByTimeout(
  tasks: readonly RoleTask[],
  states: Readonly<Record<string, TaskInstanceState>>,
): string[] {
  const { byId } = indexOf(tasks);
  return Object.entries(states)
    .filter(([key, state]) => {
      if (isTerminal(state)) return false;
      const role = byId.get(parseInstanceKey(key).taskId)?.role;
      return role !== 'teardown' && !(role === 'setup' && state === 'running');
    })
    .map(([key]) => key);
}

/** Every task reachable from `start` along `next`, `start` excluded. */
function reach(start: string, next: (id: string) => readonly string[]): string[] {
  const seen = new Set<string>();
  const stack = [...next(start)];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id) || id === start) continue;
    seen.add(id);
    stack.push(...next(id));
  }
  return [...seen];
}
