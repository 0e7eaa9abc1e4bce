/**
 * Dynamic task mapping (Airflow's `expand`): one task instance per element of a list, made when the
 * run gets there. The mapped task keeps its own instance (`load`), which stands for all of them in
 * the graph; its instances are `load[0]`, `load[1]`, …, each with its own state, tries and logs.
 * Pure: what to do with a list, which state the whole takes, how trigger rules see the indexes.
 */
import type { GraphTask } from './run-advance.ts';
import type { TaskInstanceState, TriggerRule } from './trigger-rule.ts';
import { isTerminal } from './trigger-rule.ts';

/** Airflow's `max_map_length` default. */
export const DEFAULT_MAX_MAP_LENGTH = 1_024;

/** What a mapped task maps over: the id of an upstream task whose output is a list, or a list. */
export type MapSource = string | readonly unknown[];

/** How a mapped task is made: its source, and the factory that makes one operator per element. */
export interface TaskMapping {
  readonly over: MapSource;
  /** Called once per element, when its instance runs: an operator, a sensor or a task function. */
  readonly build: (item: unknown, mapIndex: number) => unknown;
  /** @defaultValue 1,024 */
  readonly maxMapLength?: number;
  /**
   * `over` is listed in the task's own `upstream` too: each index then gets the whole list in
   * `ctx.upstream` (and is typed so). Otherwise an index has its element alone, and no index reads
   * the list again.
   */
  readonly listInUpstream?: boolean;
}

/** `load[3]`: the instance of a mapped task at one index. */
export function instanceKey(taskId: string, mapIndex?: number): string {
  return mapIndex === undefined ? taskId : `${taskId}[${mapIndex}]`;
}

const INSTANCE_KEY = /^(.+)\[(\d+)\]$/;

/** The task id and map index an instance key names (no index for an unmapped instance). */
export function parseInstanceKey(key: string): { taskId: string; mapIndex?: number } {
  const match = INSTANCE_KEY.exec(key);
  return match ? { taskId: match[1]!, mapIndex: Number(match[2]) } : { taskId: key };
}

/** What becomes of a mapped task once the list it maps over is known. */
export type Expansion =
  | { readonly kind: 'expand'; readonly items: readonly unknown[] }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'fail'; readonly reason: string };

/**
 * An empty list skips the task (Airflow does the same); a list over `maxMapLength`, or something
 * that is not a list at all, fails it with a message naming the source and the numbers.
 */
export function decideExpansion(
  source: { readonly taskId: string; readonly mapping: TaskMapping },
  list: unknown,
): Expansion {
  const { over } = source.mapping;
  const from = typeof over === 'string' ? `the output of task "${over}"` : 'its literal list';
  if (!Array.isArray(list)) {
    const got = list === null ? 'null' : typeof list;
    return { kind: 'fail', reason: `cannot map over ${from}: it is ${got}, not a list` };
  }
  const max = source.mapping.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH;
  if (list.length > max) {
    return {
      kind: 'fail',
      reason: `cannot map over ${from}: it has ${list.length} elements, more than maxMapLength ${max} (raise maxMapLength on the task, or split the list upstream)`,
    };
  }
  if (list.length === 0) return { kind: 'skip', reason: `${from} is an empty list: nothing to map over` };
  return { kind: 'expand', items: list };
}

/**
 * The state a mapped task takes once all its indexes are terminal: failed if one failed (or its
 * upstream did), success if one succeeded, else skipped. The run's outcome reads it like any leaf.
 */
export function aggregateState(states: readonly TaskInstanceState[]): TaskInstanceState {
  if (!states.every(isTerminal)) return 'running';
  if (states.some((s) => s === 'failed' || s === 'upstream_failed')) return 'failed';
  if (states.some((s) => s === 'success')) return 'success';
  return 'skipped';
}

/**
 * Rules a downstream task may decide on while some indexes of a mapped upstream still run, on the
 * success of one index alone. Under the others (all_success above all) a success decides nothing
 * until every index is done, so a worker finishing one index does not read the other thousand.
 */
const DECIDED_BY_ONE_SUCCESS: ReadonlySet<TriggerRule> = new Set<TriggerRule>([
  'one_success',
  'one_done',
  'all_failed',
  'all_skipped',
]);

/** Whether an index ending in `state` may let one of `downstream` be decided before the others end. */
export function mayDecideEarly(state: TaskInstanceState, downstream: readonly GraphTask[]): boolean {
  if (state !== 'success') return true;
  return downstream.some((task) => DECIDED_BY_ONE_SUCCESS.has(task.triggerRule));
}

/**
 * The graph as trigger rules see it in a run: an expanded mapped task is, for its downstream tasks,
 * all its indexes (Airflow counts each mapped instance as an upstream). Tasks whose mapped upstream
 * is not expanded yet keep the task itself, whose state says why (none, skipped, failed).
 *
 * Each index is a task of its own with no upstream: the list it came from is there already, so an
 * index cleared back to `none` is scheduled again by the next advance, like a root task.
 */
export function graphWithIndexes(
  graph: readonly GraphTask[],
  mapLengths: ReadonlyMap<string, number>,
): readonly GraphTask[] {
  if (mapLengths.size === 0) return graph;
  const signature = [...mapLengths].map(([id, n]) => `${id}=${n}`).join(',');
  let byGraph = expandedGraphs.get(graph);
  if (!byGraph) expandedGraphs.set(graph, (byGraph = new Map()));
  const cached = byGraph.get(signature);
  if (cached) return cached;
  const indexes: GraphTask[] = [...mapLengths].flatMap(([id, n]) =>
    Array.from({ length: n }, (_, i) => ({
      id: instanceKey(id, i),
      upstream: [],
      triggerRule: 'all_success' as const,
    })),
  );
  const rewired = graph.map((task) =>
    task.upstream.some((id) => mapLengths.has(id))
      ? {
          ...task,
          upstream: task.upstream.flatMap((id) => {
            const n = mapLengths.get(id);
            return n === undefined ? [id] : Array.from({ length: n }, (_, i) => instanceKey(id, i));
          }),
        }
      : task,
  );
  const expanded = [...indexes, ...rewired];
  if (byGraph.size > 16) byGraph.clear();
  byGraph.set(signature, expanded);
  return expanded;
}

/**
 * For each expanded mapped task in a run's task instances: how many of its indexes are done, of
 * how many (the grid's "3 of 5").
 */
export function mappedProgress(
  instances: Readonly<Record<string, { state: TaskInstanceState; mapLength?: number | undefined }>>,
): Record<string, { done: number; total: number }> {
  const progress: Record<string, { done: number; total: number }> = {};
  for (const [id, ti] of Object.entries(instances)) {
    if (ti.mapLength !== undefined && ti.state !== 'none') progress[id] = { done: 0, total: ti.mapLength };
  }
  for (const [key, ti] of Object.entries(instances)) {
    const { taskId, mapIndex } = parseInstanceKey(key);
    if (mapIndex !== undefined && progress[taskId] && isTerminal(ti.state)) progress[taskId].done++;
  }
  return progress;
}

const expandedGraphs = new WeakMap<readonly GraphTask[], Map<string, readonly GraphTask[]>>();
