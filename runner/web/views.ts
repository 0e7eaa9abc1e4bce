/** What the web UI shows, read from Redis: the same records the CLI prints, shaped for JSON. */
import { z } from 'zod';
import { lastInterval, nextRunDueAt } from '../core/data-interval.ts';
import type { Engine } from '../state/engine.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { OperationError } from '../state/operations.ts';
import type { Problem } from '../core/problem.ts';
import type { HeldDag, LoadedDag } from '../loader/dag-registry.ts';
import { coverageGap, type WorkerAdvert } from '../core/worker-coverage.ts';
import { liveWorkers } from '../state/worker-presence.ts';

/**
 * `active` and `paused` (by a user, or `pausedOnCreation`) DAGs run here; `held` ones load but are
 * not run (standalone without AWS credentials); `import_error` ones do not load at all.
 */
export type DagListState = 'active' | 'paused' | 'held' | 'import_error';

export interface DagListItem {
  dagId: string;
  description: string;
  owner: string;
  schedule: string | null;
  file: string | null;
  state: DagListState;
  /** Why it is paused, held or not loaded. */
  stateReason: string | null;
  paused: boolean;
  /** The file's latest content fails to load; the version shown (if any) is the last good one. */
  importError: { file: string; line: number | null; message: string } | null;
  /** Its runs wait: no live worker has it loaded, or takes one of its queues. */
  warning: string | null;
  nextRunDue: string | null;
  recentRuns: { runId: string; state: DagRunRecord['state'] }[];
}

const WAITING: readonly DagRunRecord['state'][] = ['queued', 'running'];
const queuesOf = (loaded: LoadedDag) => [...loaded.tasks.values()].map((t) => t.spec.queue ?? 'default');
const importErrorOf = (p: Problem | undefined) =>
  p ? { file: p.file, line: p.line ?? null, message: p.message } : null;

/** Every DAG the folder defines, with its state: running ones, held ones, and those that fail to load. */
export async function dagList(engine: Engine, problems: readonly Problem[], held: readonly HeldDag[] = []) {
  const workers: WorkerAdvert[] = await liveWorkers(engine.redis, engine.prefix);
  const problemOf = (dagId: string) => problems.find((p) => p.dagId === dagId);
  const describe = async (loaded: LoadedDag, heldReason?: string): Promise<DagListItem> => {
    const dagId = loaded.summary.dagId;
    const kept = await engine.store.lastScheduledInterval(dagId);
    const next = nextRunDueAt(loaded.schedule, lastInterval(loaded.schedule, kept.start, kept.end), new Date());
    const paused = await engine.store.isPaused(dagId, loaded.summary.pausedOnCreation);
    const recentRuns = (await engine.store.listRuns(dagId, 10)).map((r) => ({ runId: r.runId, state: r.state }));
    const waiting = heldReason === undefined && recentRuns.some((r) => WAITING.includes(r.state));
    return {
      dagId,
      description: loaded.summary.description,
      owner: loaded.summary.owner,
      schedule: loaded.summary.schedule,
      file: loaded.file ?? null,
      state: heldReason !== undefined ? 'held' : paused ? 'paused' : 'active',
      stateReason: heldReason ?? (paused ? 'paused by a user (or pausedOnCreation)' : null),
      paused: heldReason !== undefined || paused,
      importError: importErrorOf(problemOf(dagId)),
      warning: waiting ? (coverageGap(workers, dagId, queuesOf(loaded)) ?? null) : null,
      nextRunDue: heldReason === undefined && next ? next.toISOString() : null,
      recentRuns,
    };
  };
  const loaded = await Promise.all(engine.registry.list().map((d) => describe(d)));
  const heldItems = await Promise.all(held.map((h) => describe(h.loaded, h.reason)));
  const listed = new Set([...loaded, ...heldItems].map((d) => d.dagId));
  // A file whose DAG id is known (it failed a check, or a duplicate) but that does not load.
  const broken: DagListItem[] = [];
  for (const p of problems) {
    if (!p.dagId || listed.has(p.dagId)) continue;
    listed.add(p.dagId);
    broken.push({
      dagId: p.dagId,
      description: '',
      owner: '',
      schedule: null,
      file: p.file,
      state: 'import_error',
      stateReason: p.message,
      paused: false,
      importError: importErrorOf(p),
      warning: null,
      nextRunDue: null,
      recentRuns: (await engine.store.listRuns(p.dagId, 10)).map((r) => ({ runId: r.runId, state: r.state })),
    });
  }
  const dags = [...loaded, ...heldItems, ...broken].sort((a, b) => a.dagId.localeCompare(b.dagId));
  return {
    dags,
    importErrors: problems.map((p) => ({
      file: p.file,
      line: p.line ?? null,
      dagId: p.dagId ?? null,
      message: p.message,
    })),
  };
}

/** Why a DAG the folder defines is not run here, or undefined when the folder does not define it. */
export function notRunHere(dagId: string, problems: readonly Problem[], held: readonly HeldDag[]): string | undefined {
  const h = held.find((d) => d.loaded.summary.dagId === dagId);
  if (h) return `DAG "${dagId}" is not run here: ${h.reason}`;
  const p = problems.find((d) => d.dagId === dagId);
  if (p) return `DAG "${dagId}" does not load: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`;
  return undefined;
}

/** Runs (newest first) by tasks, each cell a task instance's state: Airflow's grid view. */
export async function dagGrid(engine: Engine, dagId: string, limit = 25, held?: HeldDag) {
  const loaded = held?.loaded ?? engine.loaded(dagId);
  const runs = await engine.store.listRuns(dagId, limit);
  const waiting = !held && runs.some((r) => WAITING.includes(r.state));
  return {
    dagId,
    held: held?.reason ?? null,
    warning: waiting
      ? (coverageGap(await liveWorkers(engine.redis, engine.prefix), dagId, queuesOf(loaded)) ?? null)
      : null,
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
  return { run, taskInstances: snapshot, deadlineMiss: (await engine.deadlines.missOf(dagId, runId)) ?? null };
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
