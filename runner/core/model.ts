/** The records Runway keeps in Redis for DAG runs and task instances. */
import type { TaskInstanceState } from './trigger-rule.ts';

export type DagRunState = 'queued' | 'running' | 'success' | 'failed';
export type RunType = 'scheduled' | 'manual' | 'backfill' | 'asset_triggered';

export interface DagRunRecord {
  dagId: string;
  runId: string;
  state: DagRunState;
  runType: RunType;
  /** ISO strings: they cross Redis and the CLI as text. */
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  conf: Record<string, unknown>;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  /**
   * When the scheduler found the run past its `dagRunTimeout`: its teardowns may still run, but
   * the run ends `failed` whatever they do. Dropped when a clear or mark reopens the run.
   */
  timedOutAt?: string;
}

export interface TaskInstanceRecord {
  state: TaskInstanceState;
  /** 1 for the first try; 0 before any. */
  try: number;
  /** Bumped by `tasks clear`, so that the cleared task gets a fresh queue job. */
  generation: number;
  /** When it was scheduled (its queue job added); lets reconciliation spot a lost job. */
  queuedAt?: number;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  error?: string;
  host?: string;
  /** A mapped task's number of indexes, once expanded (its instances are `task[0]`, `task[1]`, …). */
  mapLength?: number;
}

export function isRunFinished(state: DagRunState): boolean {
  return state === 'success' || state === 'failed';
}
