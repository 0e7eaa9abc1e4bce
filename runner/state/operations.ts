/**
 * What operators of Runway do to runs by hand: trigger, backfill, clear and mark. Each is a function
 * the CLI and the tests call, acting through the engine like schedulers and workers do.
 */
import { describeIssues } from '../core/dag-options.ts';
import { intervalsBetween } from '../core/data-interval.ts';
import { unknownParamKeys } from '../core/params.ts';
import type { Engine } from './engine.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { allDownstreamOf } from '../core/run-advance.ts';
import type { TaskTransition } from './run-store.ts';
import { TERMINAL_STATES, type TaskInstanceState } from '../core/trigger-rule.ts';

/** A request that cannot be carried out as asked; the CLI exits 2 with this message. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
}

/** "DAG x has no task y", with the ids it does have, so a typo is fixed without another command. */
export function noSuchTask(dagId: string, taskIds: Iterable<string>, taskId: string): OperationError {
  const ids = [...taskIds];
  const shown = ids.length > 20 ? `${ids.slice(0, 20).join(', ')}, … (${ids.length} in all)` : ids.join(', ');
  return new OperationError(`DAG "${dagId}" has no task "${taskId}"; its tasks: ${shown}`);
}

export async function triggerDag(
  engine: Engine,
  dagId: string,
  options: { conf?: Record<string, unknown>; logicalDate?: Date } = {},
): Promise<DagRunRecord> {
  const loaded = engine.registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
  const conf = options.conf ?? {};
  const schema = loaded.dag.options.params;
  if (schema) {
    const { unknown, declared } = unknownParamKeys(schema, conf);
    if (unknown.length > 0) {
      throw new OperationError(
        `DAG "${dagId}": --conf has unknown key ${unknown.map((k) => `"${k}"`).join(', ')}; its params are ${declared.join(', ') || 'none'} (a schema built with z.looseObject() takes any key); no run was created`,
      );
    }
    const parsed = schema.safeParse(conf);
    if (!parsed.success)
      throw new OperationError(`DAG "${dagId}": --conf ${describeIssues(parsed.error)}; no run was created`);
  } else if (Object.keys(conf).length > 0) {
    throw new OperationError(`DAG "${dagId}" declares no params, so --conf must be empty; no run was created`);
  }
  const logicalDate = options.logicalDate ?? new Date();
  const runId = `manual__${logicalDate.toISOString()}`;
  const created = await engine.createRun(loaded, {
    runId,
    runType: 'manual',
    start: logicalDate,
    end: logicalDate,
    conf,
  });
  if (!created) throw new OperationError(`DAG "${dagId}" already has a run "${runId}"`);
  await engine.startQueuedRuns(loaded);
  return (await engine.store.getRun(dagId, runId))!;
}

export type Reprocess = 'none' | 'failed' | 'all';

export interface BackfillResult {
  created: string[];
  cleared: string[];
  kept: string[];
}

/** Runs for every interval starting in [from, to]; an interval that has a run already gets no second one. */
export async function backfillDag(
  engine: Engine,
  dagId: string,
  from: Date,
  to: Date,
  reprocess: Reprocess = 'none',
): Promise<BackfillResult> {
  const loaded = engine.registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
  if (from > to) throw new OperationError(`--from ${from.toISOString()} is after --to ${to.toISOString()}`);
  if (loaded.schedule.schedule.kind !== 'cron')
    throw new OperationError(`DAG "${dagId}" has no cron schedule to backfill`);
  const result: BackfillResult = { created: [], cleared: [], kept: [] };
  for (const interval of intervalsBetween(loaded.schedule, from, to)) {
    const existing = await engine.store.runIdsAt(dagId, interval.start);
    if (existing.length === 0) {
      const runId = `backfill__${interval.start.toISOString()}`;
      if (await engine.createRun(loaded, { runId, runType: 'backfill', ...interval })) result.created.push(runId);
      continue;
    }
    for (const runId of existing) {
      const run = await engine.store.getRun(dagId, runId);
      const redo =
        reprocess === 'all'
          ? run?.state !== 'running' && run?.state !== 'queued'
          : reprocess === 'failed' && run?.state === 'failed';
      if (redo) {
        await clearTasks(engine, dagId, runId, { onlyFailed: reprocess === 'failed' });
        result.cleared.push(runId);
      } else {
        result.kept.push(runId);
      }
    }
  }
  await engine.startQueuedRuns(loaded);
  return result;
}

export interface ClearOptions {
  task?: string;
  downstream?: boolean;
  onlyFailed?: boolean;
}

/** Resets finished task instances to run again (a fresh queue job each), and reopens the run. */
export async function clearTasks(
  engine: Engine,
  dagId: string,
  runId: string,
  options: ClearOptions = {},
): Promise<string[]> {
  const { loaded, run, snapshot } = await runAndSnapshot(engine, dagId, runId);
  let ids = loaded.graph.map((t) => t.id);
  if (options.task !== undefined) {
    if (!loaded.tasks.has(options.task)) throw noSuchTask(dagId, loaded.tasks.keys(), options.task);
    ids = [options.task, ...(options.downstream ? allDownstreamOf(loaded.graph, options.task) : [])];
  }
  if (options.onlyFailed) ids = ids.filter((id) => ['failed', 'upstream_failed'].includes(snapshot[id]?.state ?? ''));
  const finished = [...TERMINAL_STATES] as TaskInstanceState[];
  const changes: TaskTransition[] = ids
    .filter((id) => TERMINAL_STATES.has(snapshot[id]?.state ?? 'none'))
    .map((id) => ({
      task: id,
      from: finished,
      set: { state: 'none', generation: (snapshot[id]?.generation ?? 0) + 1 },
      unset: ['error', 'startedAt', 'endedAt', 'durationMs', 'queuedAt'] as (keyof TaskInstanceRecord)[],
    }));
  if (changes.length === 0) return [];
  const outcome = await engine.store.transition(dagId, runId, changes);
  const cleared = changes.filter((_, i) => outcome.results[i] === 'ok').map((c) => c.task);
  await engine.store.clearOutputs(dagId, runId, cleared);
  await engine.store.setRunState(dagId, runId, 'running', ['success', 'failed', 'running']);
  await engine.advance(loaded, { ...run, state: 'running' });
  return cleared;
}

/** Sets a task instance's state by hand (it is not run), and lets the run move on from there. */
export async function markTask(
  engine: Engine,
  dagId: string,
  runId: string,
  taskId: string,
  state: 'success' | 'failed',
): Promise<void> {
  const { loaded, run, snapshot } = await runAndSnapshot(engine, dagId, runId);
  const ti = snapshot[taskId];
  if (!ti) throw new OperationError(`DAG "${dagId}" run "${runId}" has no task "${taskId}"`);
  await engine.store.transition(dagId, runId, [
    { task: taskId, from: [ti.state], set: { state, endedAt: Date.now(), error: `marked ${state} by hand` } },
  ]);
  await engine.store.setRunState(dagId, runId, 'running', ['success', 'failed', 'running']);
  await engine.advance(loaded, { ...run, state: 'running' });
}

async function runAndSnapshot(engine: Engine, dagId: string, runId: string) {
  const loaded = engine.registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
  const run = await engine.store.getRun(dagId, runId);
  if (!run) throw new OperationError(`DAG "${dagId}" has no run "${runId}" (see \`runway runs list ${dagId}\`)`);
  return { loaded, run, snapshot: await engine.store.snapshot(dagId, runId) };
}
