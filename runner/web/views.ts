/** What the web UI shows, read from Redis: the same records the CLI prints, shaped for JSON. */
import { z } from 'zod';
import { lastInterval, nextRunDueAt } from '../core/data-interval.ts';
import type { Engine } from '../state/engine.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { OperationError } from '../state/operations.ts';
import type { Problem } from '../core/problem.ts';

export interface DagListItem {
  dagId: string;
  description: string;
  owner: string;
  schedule: string | null;
  paused: boolean;
  nextRunDue: string | null;
  recentRuns: { runId: string; state: DagRunRecord['state'] }[];
}

export async function dagList(engine: Engine, problems: readonly Problem[]) {
  const dags: DagListItem[] = await Promise.all(
    engine.registry.list().map(async (loaded) => {
      const dagId = loaded.summary.dagId;
      const kept = await engine.store.lastScheduledInterval(dagId);
      const next = nextRunDueAt(loaded.schedule, lastInterval(loaded.schedule, kept.start, kept.end), new Date());
      return {
        dagId,
        description: loaded.summary.description,
        owner: loaded.summary.owner,
        schedule: loaded.summary.schedule,
        paused: await engine.store.isPaused(dagId, loaded.summary.pausedOnCreation),
        nextRunDue: next ? next.toISOString() : null,
        recentRuns: (await engine.store.listRuns(dagId, 10)).map((r) => ({ runId: r.runId, state: r.state })),
      };
    }),
  );
  return { dags, importErrors: problems.map((p) => ({ file: p.file, message: p.message })) };
}

/** Runs (newest first) by tasks, each cell a task instance's state: Airflow's grid view. */
export async function dagGrid(engine: Engine, dagId: string, limit = 25) {
  const loaded = engine.loaded(dagId);
  const runs = await engine.store.listRuns(dagId, limit);
  return {
    dagId,
    tasks: loaded.graph.map((t) => ({ id: t.id, upstream: t.upstream })),
    params: loaded.dag.options.params ? z.toJSONSchema(loaded.dag.options.params, { io: 'input' }) : null,
    runs: await Promise.all(
      runs.map(async (run) => {
        const snapshot = await engine.store.snapshot(dagId, run.runId);
        return { ...run, tasks: Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state])) };
      }),
    ),
  };
}

export async function runDetail(engine: Engine, dagId: string, runId: string) {
  const run = await engine.store.getRun(dagId, runId);
  if (!run) throw new OperationError(`DAG "${dagId}" has no run "${runId}"`);
  const snapshot: Record<string, TaskInstanceRecord> = await engine.store.snapshot(dagId, runId);
  return { run, taskInstances: snapshot };
}

export async function taskDetail(engine: Engine, dagId: string, runId: string, taskId: string, tryNumber?: number) {
  const { taskInstances } = await runDetail(engine, dagId, runId);
  const ti = taskInstances[taskId];
  if (!ti) throw new OperationError(`DAG "${dagId}" run "${runId}" has no task "${taskId}"`);
  const shownTry = tryNumber ?? Math.max(ti.try, 1);
  const [logs, outputs] = await Promise.all([
    engine.store.logs(dagId, runId, taskId, shownTry),
    engine.store.outputs(dagId, runId, [taskId]),
  ]);
  return { taskId, taskInstance: ti, try: shownTry, tries: ti.try, logs, output: outputs[taskId] ?? null };
}
