/**
 * What operators of Runway do to runs by hand: trigger, backfill, clear and mark. Each is a function
 * the CLI and the tests call, acting through the engine like schedulers and workers do.
 */
import { isDeepStrictEqual } from 'node:util';
import { describeIssues } from '../core/dag-options.ts';
import { intervalsBetween, manualInterval } from '../core/data-interval.ts';
import { unknownParamKeys } from '../core/params.ts';
import { clientRunIdProblem } from '../core/run-id.ts';
import type { Engine } from './engine.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { allDownstreamOf } from '../core/run-advance.ts';
import { withSetupsAndTeardowns } from '../core/setup-teardown.ts';
import { groupMemberIds } from '../core/task-group.ts';
import type { TaskTransition } from './run-store.ts';
import { TERMINAL_STATES, type TaskInstanceState } from '../core/trigger-rule.ts';
import { describeRedisError, isRedisReplyError } from '../redis/redis-errors.ts';
import { indexFromKey, reopenedMappedTasks, resolveMapIndex, withMappedIndexes } from './mapped-operations.ts';
import { settleMappedTask } from './mapped-instances.ts';
import { restartRunClock } from './run-clock.ts';

/** A request that cannot be carried out as asked; the CLI exits 2 with this message. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
}

/**
 * "DAG x has no task y", with the ids it does have, so a typo is fixed without another command;
 * where a group would do too and the DAG has groups (`groupIds`), "no task or task group", with them.
 */
export function noSuchTask(
  dagId: string,
  taskIds: Iterable<string>,
  taskId: string,
  groupIds: readonly string[] = [],
): OperationError {
  const list = (all: Iterable<string>) => {
    const ids = [...all];
    return ids.length > 20 ? `${ids.slice(0, 20).join(', ')}, … (${ids.length} in all)` : ids.join(', ');
  };
  if (groupIds.length === 0)
    return new OperationError(`DAG "${dagId}" has no task "${taskId}"; its tasks: ${list(taskIds)}`);
  return new OperationError(
    `DAG "${dagId}" has no task or task group "${taskId}"; its tasks: ${list(taskIds)}; its task groups: ${list(groupIds)}`,
  );
}

/** What a trigger did. */
export type TriggeredRun = DagRunRecord & {
  /** False when a run with the requested `runId` existed already, with the same conf: a retry. */
  created: boolean;
  /** Why the run, created and queued, was not started here; the scheduler starts it. */
  notStarted?: string;
};

/**
 * A trigger failed and no run was created, or (`mayExist`) Redis did not answer, so it is unknown
 * whether one was: triggering again with the same run id is safe either way.
 */
export class TriggerError extends Error {
  override readonly name = 'TriggerError';
}

/**
 * Creates a manual run, then starts it when the DAG has room. Creation is one atomic step: an
 * error before it means no run. A client-chosen `runId` makes a retry safe: the same id with the
 * same conf finds the run instead of creating a second (`created: false`).
 */
export async function triggerDag(
  engine: Engine,
  dagId: string,
  options: { conf?: Record<string, unknown>; logicalDate?: Date; runId?: string } = {},
): Promise<TriggeredRun> {
  const loaded = engine.registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
  const conf = options.conf ?? {};
  if (loaded.summary.hasParams) await loaded.load?.(); // the params schema is the module's
  const schema = loaded.summary.hasParams ? loaded.dag.options.params : undefined;
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
  if (options.runId !== undefined) checkClientRunId(options.runId);
  const logicalDate = options.logicalDate ?? new Date();
  const runId = options.runId ?? `manual__${logicalDate.toISOString()}`;
  const interval = manualInterval(loaded.schedule, logicalDate);
  let created: boolean;
  try {
    // Its data interval is the last complete one before the trigger (Airflow 2's choice; see README).
    created = await engine.createRun(loaded, { runId, runType: 'manual', ...interval, logicalDate, conf });
  } catch (error) {
    // Redis answered with an error: the creation script stopped at its first write, so nothing
    // was written. No answer at all: the script may have run.
    if (isRedisReplyError(error)) {
      throw new TriggerError(`DAG "${dagId}": no run was created: ${describeRedisError(error)}`);
    }
    throw new TriggerError(
      `DAG "${dagId}": Redis did not answer (${(error as Error).message}), so run "${runId}" may or may not ` +
        `exist; trigger again with --run-id ${runId} (API: "runId"), which creates it at most once`,
    );
  }
  if (!created) {
    const existing = await engine.store.getRun(dagId, runId);
    if (options.runId !== undefined && existing && isDeepStrictEqual(existing.conf, conf)) {
      return { ...existing, created: false };
    }
    const why = options.runId !== undefined && existing ? ' with another conf' : '';
    throw new OperationError(`DAG "${dagId}" already has a run "${runId}"${why}; no run was created`);
  }
  // The run exists from here on: the scheduler starts a queued run and repairs a started one, so a
  // failure now is reported with the run, not as an error a user would answer with a second run.
  let notStarted: string | undefined;
  try {
    await engine.startQueuedRuns(loaded);
  } catch (error) {
    notStarted = `${describeRedisError(error)}; the scheduler will start it`;
    engine.log.warn(`trigger: DAG ${dagId} run ${runId} was created but not started: ${notStarted}`);
  }
  // Read back for its state; should Redis stop answering now, the run is still reported as created.
  const run = (await engine.store.getRun(dagId, runId).catch(() => undefined)) ?? {
    ...{ dagId, runId, state: 'queued' as const, runType: 'manual' as const, conf },
    logicalDate: logicalDate.toISOString(),
    dataIntervalStart: interval.start.toISOString(),
    dataIntervalEnd: interval.end.toISOString(),
    createdAt: new Date().toISOString(),
  };
  return { ...run, created: true, ...(notStarted === undefined ? {} : { notStarted }) };
}

/** Refuses a run id a client may not choose; the CLI checks `--run-id` with it before connecting. */
export function checkClientRunId(runId: string): void {
  const problem = clientRunIdProblem(runId);
  if (problem) throw new OperationError(problem);
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
  /** A task, or a task group: every task in it (its inner groups' too). */
  task?: string;
  downstream?: boolean;
  onlyFailed?: boolean;
  /** Only this index of the mapped task `task` (its downstream tasks too with `downstream`). */
  mapIndex?: number;
}

/**
 * Resets finished task instances to run again (a fresh queue job each), and reopens the run with
 * its `dagRunTimeout` clock started again and its timeout mark gone, as Airflow's clear resets a
 * run's start date: finished, or still running its teardowns after a timeout.
 */
export async function clearTasks(
  engine: Engine,
  dagId: string,
  runId: string,
  options: ClearOptions = {},
): Promise<string[]> {
  const { loaded, run, snapshot } = await runAndSnapshot(engine, dagId, runId);
  options = { ...options, ...indexFromKey(options.task, options.mapIndex) };
  let ids = loaded.graph.map((t) => t.id);
  if (options.task !== undefined) {
    // A group clears as its tasks, as Airflow's clear of a TaskGroup does.
    const isGroup = !loaded.tasks.has(options.task);
    const named = isGroup ? groupMemberIds(loaded.dag.tasks, options.task) : [options.task];
    if (named.length === 0) {
      const groups = loaded.dag.groups.map((g) => g.id);
      throw noSuchTask(dagId, loaded.tasks.keys(), options.task, groups);
    }
    if (isGroup && options.mapIndex !== undefined) {
      throw new OperationError(
        `DAG "${dagId}": "${options.task}" is a task group; --map-index needs a mapped task (one of its tasks)`,
      );
    }
    const below = options.downstream ? named.flatMap((id) => allDownstreamOf(loaded.graph, id)) : [];
    ids = [...new Set([...named, ...below])];
  }
  // A mapped task clears with its indexes; `mapIndex` clears that index alone.
  const index = resolveMapIndex(loaded, dagId, runId, snapshot, options.task, options.mapIndex);
  ids = index ? [index.key, ...ids.slice(1)] : withMappedIndexes(loaded, snapshot, ids);
  if (options.onlyFailed) ids = ids.filter((id) => ['failed', 'upstream_failed'].includes(snapshot[id]?.state ?? ''));
  // A task that runs again needs its resource again: its setups and teardowns are cleared with it.
  ids = withSetupsAndTeardowns(loaded.graph, ids);
  // A mapped task some of whose indexes stay as they are runs on with them: `running`, not `none`.
  const reopen = reopenedMappedTasks(loaded, snapshot, ids);
  ids = [...new Set([...reopen, ...ids])];
  const finished = [...TERMINAL_STATES] as TaskInstanceState[];
  const changes: TaskTransition[] = ids
    .filter((id) => TERMINAL_STATES.has(snapshot[id]?.state ?? 'none'))
    .map((id) =>
      reopen.has(id)
        ? { task: id, from: finished, set: { state: 'running' }, unset: ['endedAt', 'durationMs'] }
        : {
            task: id,
            from: finished,
            set: { state: 'none', generation: (snapshot[id]?.generation ?? 0) + 1 },
            unset: ['error', 'startedAt', 'endedAt', 'durationMs', 'queuedAt'] as (keyof TaskInstanceRecord)[],
          },
    );
  if (changes.length === 0) return [];
  // Before the tasks reopen: a scheduler pass between the two would skip them for the old timeout
  // (a run that has not timed out keeps its clock).
  if (run.state === 'running') await restartRunClock(engine.redis, engine.store, dagId, runId);
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
  options: { mapIndex?: number } = {},
): Promise<void> {
  const { loaded, run, snapshot } = await runAndSnapshot(engine, dagId, runId);
  const named = indexFromKey(taskId, options.mapIndex);
  taskId = named.task ?? taskId;
  const index = resolveMapIndex(loaded, dagId, runId, snapshot, taskId, named.mapIndex);
  const key = index?.key ?? taskId;
  const ti = snapshot[key];
  if (!ti) throw new OperationError(`DAG "${dagId}" run "${runId}" has no task "${taskId}"`);
  if (!index && ti.mapLength !== undefined) {
    // Its indexes are written slice by slice: marked now, the ones not yet written never would be,
    // and the tasks after it would wait for them for good.
    const written = Object.keys(snapshot).filter((id) => id.startsWith(`${taskId}[`)).length;
    if (written < ti.mapLength) {
      throw new OperationError(
        `DAG "${dagId}" run "${runId}": task "${taskId}" is still expanding (${written} of ${ti.mapLength} indexes written); mark it again in a moment, or mark one index with --map-index`,
      );
    }
  }
  await engine.store.transition(dagId, runId, [
    { task: key, from: [ti.state], set: { state, endedAt: Date.now(), error: `marked ${state} by hand` } },
  ]);
  await engine.store.setRunState(dagId, runId, 'running', ['success', 'failed', 'running']);
  if (index) await settleMappedTask(engine, loaded, { ...run, state: 'running' }, taskId);
  await engine.advance(loaded, { ...run, state: 'running' });
}

async function runAndSnapshot(engine: Engine, dagId: string, runId: string) {
  const loaded = engine.registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
  const run = await engine.store.getRun(dagId, runId);
  if (!run) throw new OperationError(`DAG "${dagId}" has no run "${runId}" (see \`runway runs list ${dagId}\`)`);
  return { loaded, run, snapshot: await engine.store.snapshot(dagId, runId) };
}
