/**
 * Clear and mark on mapped tasks: which instances a request names. Clearing a mapped task clears
 * its indexes with it, and it is expanded again (from its list as it is then); clearing some of
 * its indexes (`--map-index`, `--only-failed`) reruns those alone while the task stays expanded.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import type { TaskInstanceRecord } from '../core/model.ts';
import { instanceKey, parseInstanceKey } from '../core/task-mapping.ts';
import { OperationError } from './operations.ts';

/** The instance `--map-index` names, checked: the task is mapped and expanded, the index in range. */
export function resolveMapIndex(
  loaded: LoadedDag,
  dagId: string,
  runId: string,
  snapshot: Readonly<Record<string, TaskInstanceRecord>>,
  taskId: string | undefined,
  mapIndex: number | undefined,
): { key: string } | undefined {
  if (mapIndex === undefined) return undefined;
  if (taskId === undefined) throw new OperationError('--map-index needs the task it is an index of (--task)');
  if (!loaded.tasks.get(taskId)?.mapping) {
    throw new OperationError(`DAG "${dagId}": task "${taskId}" is not mapped, so it has no --map-index`);
  }
  const length = snapshot[taskId]?.mapLength;
  if (length === undefined || snapshot[taskId]?.state === 'none') {
    throw new OperationError(`DAG "${dagId}" run "${runId}": task "${taskId}" has not been expanded yet: no indexes`);
  }
  if (!Number.isInteger(mapIndex) || mapIndex < 0 || mapIndex >= length) {
    throw new OperationError(
      `DAG "${dagId}" run "${runId}": task "${taskId}" has map indexes 0 to ${length - 1}; there is no ${mapIndex}`,
    );
  }
  return { key: instanceKey(taskId, mapIndex) };
}

/** A task named by its instance key (`load[3]`, as the UI names an index) is that task and index. */
export function indexFromKey(task: string | undefined, mapIndex: number | undefined) {
  if (task === undefined || mapIndex !== undefined) return { task, mapIndex };
  const parsed = parseInstanceKey(task);
  return { task: parsed.taskId, mapIndex: parsed.mapIndex };
}

/** `ids` with the indexes of the mapped tasks among them. */
export function withMappedIndexes(
  loaded: LoadedDag,
  snapshot: Readonly<Record<string, TaskInstanceRecord>>,
  ids: readonly string[],
): string[] {
  return ids.flatMap((id) => [id, ...(loaded.tasks.get(id)?.mapping ? indexKeys(snapshot, id) : [])]);
}

/** Mapped tasks with some, not all, of their indexes in `ids`: they stay expanded. */
export function reopenedMappedTasks(
  loaded: LoadedDag,
  snapshot: Readonly<Record<string, TaskInstanceRecord>>,
  ids: readonly string[],
): Set<string> {
  const clearing = new Set(ids);
  const reopen = new Set<string>();
  for (const id of ids) {
    const { taskId, mapIndex } = parseInstanceKey(id);
    if (mapIndex === undefined || !loaded.tasks.get(taskId)?.mapping) continue;
    if (!indexKeys(snapshot, taskId).every((key) => clearing.has(key))) reopen.add(taskId);
  }
  return reopen;
}

function indexKeys(snapshot: Readonly<Record<string, TaskInstanceRecord>>, taskId: string): string[] {
  return Array.from({ length: snapshot[taskId]?.mapLength ?? 0 }, (_, i) => instanceKey(taskId, i)).filter(
    (key) => key in snapshot,
  );
}
