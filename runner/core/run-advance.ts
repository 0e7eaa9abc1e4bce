/**
 * How a DAG run moves forward: given every task instance's state, which tasks may now be scheduled,
 * skipped or marked upstream_failed, and whether the run is over. Pure; the run store applies the
 * result with compare-and-set, so concurrent workers agree.
 */
import {
  countUpstream,
  evaluateTriggerRule,
  isTerminal,
  type TaskInstanceState,
  type TriggerRule,
} from './trigger-rule.ts';
import { runStateTaskIds, withSetupCounts, type TaskRole } from './setup-teardown.ts';

export interface GraphTask {
  readonly id: string;
  readonly upstream: readonly string[];
  readonly triggerRule: TriggerRule;
  readonly role?: TaskRole;
  /** A teardown whose failure fails the run. */
  readonly failsRun?: boolean;
}

export type Transition = 'scheduled' | 'skipped' | 'upstream_failed';

/**
 * New states for tasks that have not started. Tasks are visited in dependency order, so a skip or
 * upstream failure cascades through the graph in one call.
 *
 * With `candidates`, only those tasks (and what a skip or failure among them cascades to) are
 * considered, and `states` need only hold them and their upstream tasks: a task whose upstream
 * state is not known is left for a later call.
 */
export function decideTransitions(
  tasks: readonly GraphTask[],
  states: Readonly<Record<string, TaskInstanceState>>,
  candidates?: ReadonlySet<string>,
): Map<string, Transition> {
  const current: Record<string, TaskInstanceState> = { ...states };
  const transitions = new Map<string, Transition>();
  const considered = candidates ? new Set(candidates) : undefined;
  for (const task of topologicalOrder(tasks)) {
    if (considered && !considered.has(task.id)) continue;
    if ((current[task.id] ?? (considered ? undefined : 'none')) !== 'none') continue;
    const upstream = task.upstream.map((id) => current[id] ?? (considered ? undefined : 'none'));
    if (upstream.some((state) => state === undefined)) continue;
    const counts = withSetupCounts(tasks, task, current, countUpstream(upstream as TaskInstanceState[]));
    const decision = evaluateTriggerRule(task.triggerRule, counts);
    if (decision === 'wait') continue;
    const next: Transition = decision === 'run' ? 'scheduled' : decision === 'skip' ? 'skipped' : 'upstream_failed';
    transitions.set(task.id, next);
    current[task.id] = next;
    if (considered && next !== 'scheduled') {
      for (const downstream of downstreamOf(tasks, task.id)) considered.add(downstream);
    }
  }
  return transitions;
}

/**
 * The run's final state once every task instance is terminal: failed if any leaf failed, where a
 * teardown counts only if it is marked to fail the run (see `runStateTaskIds`).
 */
export function runOutcome(
  tasks: readonly GraphTask[],
  states: Readonly<Record<string, TaskInstanceState>>,
): 'success' | 'failed' | undefined {
  if (!tasks.every((t) => isTerminal(states[t.id] ?? 'none'))) return undefined;
  const leaves = runStateTaskIds(tasks);
  return leaves.some((id) => states[id] === 'failed' || states[id] === 'upstream_failed') ? 'failed' : 'success';
}

const downstreamCache = new WeakMap<readonly GraphTask[], Map<string, string[]>>();

/** Direct downstream task ids of `taskId`. */
export function downstreamOf(tasks: readonly GraphTask[], taskId: string): string[] {
  let index = downstreamCache.get(tasks);
  if (!index) {
    index = new Map(tasks.map((t) => [t.id, [] as string[]]));
    for (const task of tasks) for (const up of task.upstream) index.get(up)?.push(task.id);
    downstreamCache.set(tasks, index);
  }
  return index.get(taskId) ?? [];
}

/**
 * Direct downstream tasks of `taskId` that it alone decides (it is their only upstream task) and
 * that its new `state` schedules, whatever else the run holds: what `decideTransitions` would
 * schedule once that state is written. A worker schedules them in the script that writes it.
 */
export function scheduledByAlone(tasks: readonly GraphTask[], taskId: string, state: TaskInstanceState): string[] {
  if (!isTerminal(state)) return [];
  const byId = taskIndex(tasks);
  const states = { [taskId]: state };
  return downstreamOf(tasks, taskId).filter((id) => {
    const task = byId.get(id)!;
    if (task.upstream.length !== 1) return false;
    const counts = withSetupCounts(tasks, task, states, countUpstream([state]));
    return evaluateTriggerRule(task.triggerRule, counts) === 'run';
  });
}

const taskIndexCache = new WeakMap<readonly GraphTask[], Map<string, GraphTask>>();
function taskIndex(tasks: readonly GraphTask[]): Map<string, GraphTask> {
  let index = taskIndexCache.get(tasks);
  if (!index) {
    index = new Map(tasks.map((t) => [t.id, t]));
    taskIndexCache.set(tasks, index);
  }
  return index;
}

/** `ids` with the upstream tasks of each: what deciding them needs to know. */
export function withUpstream(tasks: readonly GraphTask[], ids: Iterable<string>): string[] {
  const byId = taskIndex(tasks);
  const out = new Set<string>();
  for (const id of ids) {
    out.add(id);
    for (const up of byId.get(id)?.upstream ?? []) out.add(up);
  }
  return [...out];
}

/** `taskId`'s downstream tasks, transitively, in dependency order. */
export function allDownstreamOf(tasks: readonly GraphTask[], taskId: string): string[] {
  const found = new Set<string>([taskId]);
  const order: string[] = [];
  for (const task of topologicalOrder(tasks)) {
    if (task.upstream.some((id) => found.has(id)) && !found.has(task.id)) {
      found.add(task.id);
      order.push(task.id);
    }
  }
  return order;
}

/**
 * Tasks a control-flow task's output rules out: for a branch, direct downstream tasks it did not
 * choose; for a short-circuit with a falsy output, everything downstream.
 */
export function skippedByControlFlow(
  tasks: readonly GraphTask[],
  taskId: string,
  control: { branch?: boolean | undefined; shortCircuit?: boolean | undefined },
  output: unknown,
): string[] {
  if (control.shortCircuit) return output ? [] : allDownstreamOf(tasks, taskId);
  if (!control.branch) return [];
  const chosen = new Set(Array.isArray(output) ? output.map(String) : output == null ? [] : [String(output)]);
  return downstreamOf(tasks, taskId).filter((id) => !chosen.has(id));
}

const orderCache = new WeakMap<readonly GraphTask[], GraphTask[]>();

/** Kahn's order; DAGs are checked acyclic before they run, so every task is placed. */
export function topologicalOrder(tasks: readonly GraphTask[]): GraphTask[] {
  const cached = orderCache.get(tasks);
  if (cached) return cached;
  const pending = new Map(tasks.map((t) => [t.id, t.upstream.filter((u) => u !== t.id).length]));
  const byUpstream = new Map<string, GraphTask[]>();
  for (const task of tasks) for (const up of task.upstream) byUpstream.set(up, [...(byUpstream.get(up) ?? []), task]);
  const ready = tasks.filter((t) => pending.get(t.id) === 0);
  const order: GraphTask[] = [];
  while (ready.length > 0) {
    const task = ready.shift()!;
    order.push(task);
    for (const next of byUpstream.get(task.id) ?? []) {
      const left = pending.get(next.id)! - 1;
      pending.set(next.id, left);
      if (left === 0) ready.push(next);
    }
  }
  orderCache.set(tasks, order);
  return order;
}
