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

export interface GraphTask {
  readonly id: string;
  readonly upstream: readonly string[];
  readonly triggerRule: TriggerRule;
}

export type Transition = 'scheduled' | 'skipped' | 'upstream_failed';

/**
 * New states for tasks that have not started. Tasks are visited in dependency order, so a skip or
 * upstream failure cascades through the whole graph in one call.
 */
export function decideTransitions(
  tasks: readonly GraphTask[],
  states: Readonly<Record<string, TaskInstanceState>>,
): Map<string, Transition> {
  const current: Record<string, TaskInstanceState> = { ...states };
  const transitions = new Map<string, Transition>();
  for (const task of topologicalOrder(tasks)) {
    if ((current[task.id] ?? 'none') !== 'none') continue;
    const decision = evaluateTriggerRule(
      task.triggerRule,
      countUpstream(task.upstream.map((id) => current[id] ?? 'none')),
    );
    if (decision === 'wait') continue;
    const next: Transition = decision === 'run' ? 'scheduled' : decision === 'skip' ? 'skipped' : 'upstream_failed';
    transitions.set(task.id, next);
    // A scheduled task is not done; only skips and upstream failures cascade further in this pass.
    current[task.id] = next === 'scheduled' ? 'scheduled' : next;
  }
  return transitions;
}

/** The run's final state once every task instance is terminal: failed if any leaf failed. */
export function runOutcome(
  tasks: readonly GraphTask[],
  states: Readonly<Record<string, TaskInstanceState>>,
): 'success' | 'failed' | undefined {
  if (!tasks.every((t) => isTerminal(states[t.id] ?? 'none'))) return undefined;
  const hasDownstream = new Set(tasks.flatMap((t) => t.upstream));
  const leaves = tasks.filter((t) => !hasDownstream.has(t.id));
  return leaves.some((t) => states[t.id] === 'failed' || states[t.id] === 'upstream_failed') ? 'failed' : 'success';
}

/** Direct downstream task ids of `taskId`. */
export function downstreamOf(tasks: readonly GraphTask[], taskId: string): string[] {
  return tasks.filter((t) => t.upstream.includes(taskId)).map((t) => t.id);
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
