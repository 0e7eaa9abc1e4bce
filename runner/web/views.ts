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
import { readDagPage } from '../state/dag-page.ts';
import { instanceKey, mappedProgress } from '../core/task-mapping.ts';
import { describeCondition } from '../core/asset.ts';

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
const queuesOf = (loaded: LoadedDag) => loaded.summary.tasks.map((t) => t.queue ?? 'default');
const importErrorOf = (p: Problem | undefined) =>
  p ? { file: p.file, line: p.line ?? null, message: p.message } : null;

/** DAGs per page of the list when the request does not say. */
export const DAG_PAGE_SIZE = 100;
/** The most DAGs one page may ask for. */
export const MAX_DAG_PAGE_SIZE = 500;

/** A page of the DAG list: up to `limit` DAGs whose ids sort after `after`. */
export interface DagListPage {
  limit: number;
  after?: string;
}

/** A DAG id the folder defines, and where it comes from: loaded, held, or only named by a problem. */
interface Listed {
  dagId: string;
  loaded?: LoadedDag;
  heldReason?: string;
  problem?: Problem;
}

/**
 * A page of the DAGs the folder defines, by id, with their state: running ones, held ones, and those
 * that fail to load. The page's state is read in one Redis round trip (plus the live workers, when
 * one of its DAGs has runs waiting); `nextAfter` is the cursor of the next page, null on the last.
 */
export async function dagList(
  engine: Engine,
  problems: readonly Problem[],
  held: readonly HeldDag[] = [],
  page: DagListPage = { limit: DAG_PAGE_SIZE },
) {
  const problemOf = (dagId: string) => problems.find((p) => p.dagId === dagId);
  const all = new Map<string, Listed>();
  for (const loaded of engine.registry.list()) all.set(loaded.summary.dagId, { dagId: loaded.summary.dagId, loaded });
  for (const h of held)
    all.set(h.loaded.summary.dagId, { dagId: h.loaded.summary.dagId, loaded: h.loaded, heldReason: h.reason });
  // A file whose DAG id is known (it failed a check, or a duplicate) but that does not load.
  for (const p of problems) if (p.dagId && !all.has(p.dagId)) all.set(p.dagId, { dagId: p.dagId, problem: p });
  const after = page.after;
  const sorted = [...all.values()]
    .filter((d) => after === undefined || d.dagId.localeCompare(after) > 0)
    .sort((a, b) => a.dagId.localeCompare(b.dagId));
  const slice = sorted.slice(0, page.limit);
  const states = await readDagPage(
    engine.redis,
    engine.store,
    slice.map((d) => d.dagId),
    10,
  );
  let workers: Promise<WorkerAdvert[]> | undefined;
  const now = new Date();
  const dags = await Promise.all(
    slice.map(async ({ dagId, loaded, heldReason, problem }): Promise<DagListItem> => {
      const state = states.get(dagId)!;
      const { recentRuns } = state;
      if (!loaded) {
        return {
          dagId,
          description: '',
          owner: '',
          schedule: null,
          file: problem!.file,
          state: 'import_error',
          stateReason: problem!.message,
          paused: false,
          importError: importErrorOf(problem),
          warning: null,
          nextRunDue: null,
          recentRuns,
        };
      }
      const kept = state.lastScheduled;
      const next = nextRunDueAt(loaded.schedule, lastInterval(loaded.schedule, kept.start, kept.end), now);
      const paused = state.paused ?? loaded.summary.pausedOnCreation;
      const waiting = heldReason === undefined && recentRuns.some((r) => WAITING.includes(r.state));
      workers ??= waiting ? liveWorkers(engine.redis, engine.prefix) : undefined;
      return {
        dagId,
        description: loaded.summary.description,
        owner: loaded.summary.owner,
        schedule: loaded.summary.assetSchedule
          ? `assets: ${describeCondition(loaded.summary.assetSchedule)}`
          : loaded.summary.schedule,
        file: loaded.file ?? null,
        state: heldReason !== undefined ? 'held' : paused ? 'paused' : 'active',
        stateReason: heldReason ?? (paused ? 'paused by a user (or pausedOnCreation)' : null),
        paused: heldReason !== undefined || paused,
        importError: importErrorOf(problemOf(dagId)),
        warning: waiting ? (coverageGap(await workers!, dagId, queuesOf(loaded)) ?? null) : null,
        nextRunDue: heldReason === undefined && next ? next.toISOString() : null,
        recentRuns,
      };
    }),
  );
  return {
    dags,
    nextAfter: sorted.length > slice.length ? slice[slice.length - 1]!.dagId : null,
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
  // Only a DAG with params is imported for its page (their schema is the module's): browsing DAG
  // pages does not load every DAG into the scheduler's process.
  if (loaded.summary.hasParams) await loaded.load?.();
  const runs = await engine.store.listRuns(dagId, limit);
  const waiting = !held && runs.some((r) => WAITING.includes(r.state));
  return {
    dagId,
    held: held?.reason ?? null,
    warning: waiting
      ? (coverageGap(await liveWorkers(engine.redis, engine.prefix), dagId, queuesOf(loaded)) ?? null)
      : null,
    tasks: loaded.summary.tasks.map((t) => ({
      id: t.id,
      upstream: t.upstream,
      ...(t.group ? { group: t.group } : {}),
    })),
    // For the graph: what the DAG runs on, and the assets each task updates.
    assets: {
      schedule: loaded.summary.assetSchedule ?? null,
      outlets: Object.fromEntries(loaded.summary.tasks.flatMap((t) => (t.outlets ? [[t.id, t.outlets]] : []))),
    },
    params:
      loaded.summary.hasParams && loaded.dag.options.params
        ? z.toJSONSchema(loaded.dag.options.params, { io: 'input' })
        : null,
    runs: await Promise.all(
      runs.map(async (run) => {
        const snapshot = await engine.store.snapshot(dagId, run.runId);
        return {
          ...run,
          tasks: Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state])),
          mapped: mappedProgress(snapshot),
        };
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
  // A mapped task's page lists its indexes, each a task instance of its own.
  const indexes = Array.from({ length: ti.state === 'none' ? 0 : (ti.mapLength ?? 0) }, (_, mapIndex) => {
    const index = taskInstances[instanceKey(taskId, mapIndex)];
    return { mapIndex, state: index?.state ?? 'none', try: index?.try ?? 0, error: index?.error ?? null };
  });
  return { taskId, taskInstance: ti, try: shownTry, tries: ti.try, logs, output: outputs[taskId] ?? null, indexes };
}
