/**
 * The engine turns run-advance decisions into Redis state and BullMQ jobs: it creates and starts
 * DAG runs, schedules the tasks whose trigger rules are met, and ends runs. Schedulers, workers
 * and `runway dags test` all act through it, so there is one way a run moves.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { LoadedDag, DagRegistry } from './dag-registry.ts';
import type { Callback, CallbackContext } from './dag-options.ts';
import { dsOf } from './data-interval.ts';
import type { DagRunRecord, RunType, TaskInstanceRecord } from './model.ts';
import { sendNotifications } from './notify.ts';
import type { Logger } from './operator.ts';
import { retryPolicyOf, type RetryPolicy } from './retry-policy.ts';
import { decideTransitions, runOutcome } from './run-advance.ts';
import { RunStore, type TaskTransition } from './run-store.ts';
import type { TaskInstanceState } from './trigger-rule.ts';

export interface EngineOptions {
  redis: Redis;
  registry: DagRegistry;
  /** Key prefix of Runway's state and BullMQ's queues; keep the braces for Redis Cluster. @defaultValue '{runway}' */
  prefix?: string;
  log?: Logger;
  /** Run-time settings handed to tasks as `ctx.env` and read by notifications. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
}

export interface RunInfoData {
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  conf: Record<string, unknown>;
  runType: RunType;
}

/** What a task's queue job carries: enough to run the try without another read. */
export interface TaskJobData {
  dagId: string;
  runId: string;
  taskId: string;
  generation: number;
  /** Tries made before this job (after `tasks clear`), so try numbers keep counting up. */
  tryBase: number;
  run: RunInfoData;
  retry: RetryPolicy;
  sensor?: { state?: unknown; firstPokeAt?: number; pokes: number };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class Engine {
  readonly store: RunStore;
  readonly registry: DagRegistry;
  readonly prefix: string;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
  private readonly redis: Redis;
  private readonly queues = new Map<string, Queue<TaskJobData>>();

  constructor(options: EngineOptions) {
    this.redis = options.redis;
    this.registry = options.registry;
    this.prefix = options.prefix ?? '{runway}';
    this.store = new RunStore(options.redis, { prefix: this.prefix });
    this.log = options.log ?? silentLogger;
    this.env = options.env ?? process.env;
    this.fetch = options.fetch ?? fetch;
  }

  static queueName(queue: string): string {
    return `tasks-${queue}`;
  }

  queue(name: string): Queue<TaskJobData> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue<TaskJobData>(Engine.queueName(name), { connection: this.redis, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** BullMQ job ids may not contain ':'; run ids do (ISO dates). */
  static jobId(dagId: string, runId: string, taskId: string, generation: number): string {
    return `${dagId}|${runId}|${taskId}|${generation}`.replaceAll(':', '_');
  }

  loaded(dagId: string): LoadedDag {
    const loaded = this.registry.get(dagId);
    if (!loaded) throw new Error(`DAG "${dagId}" is not loaded here (see \`runway dags list-import-errors\`)`);
    return loaded;
  }

  /** Adds the queue job of a scheduled task instance; a second add of the same job is a no-op. */
  async enqueue(loaded: LoadedDag, run: DagRunRecord, taskId: string, ti: TaskInstanceRecord): Promise<void> {
    const task = loaded.tasks.get(taskId)!;
    const args = { ...loaded.dag.options.defaultArgs, ...task.spec };
    const retry = retryPolicyOf(args);
    const data: TaskJobData = {
      dagId: run.dagId,
      runId: run.runId,
      taskId,
      generation: ti.generation,
      tryBase: ti.try,
      run: {
        logicalDate: run.logicalDate,
        dataIntervalStart: run.dataIntervalStart,
        dataIntervalEnd: run.dataIntervalEnd,
        conf: run.conf,
        runType: run.runType,
      },
      retry,
    };
    await this.queue(task.spec.queue ?? 'default').add(taskId, data, {
      jobId: Engine.jobId(run.dagId, run.runId, taskId, ti.generation),
      attempts: retry.retries + 1,
      backoff: { type: 'runway' },
      // BullMQ runs jobs without a priority before prioritized ones, so every job gets one:
      // 1 is BullMQ's highest; Runway's priority 0 maps to 1000.
      priority: 1_000 - Math.max(-999, Math.min(999, args.priority ?? 0)),
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3_600 },
    });
  }

  /**
   * Schedules, skips or fails (upstream_failed) every task whose trigger rule can now be decided,
   * and ends the run when all its task instances are done. Safe to call any number of times from
   * anywhere: each change is a compare-and-set from `none`.
   */
  async advance(loaded: LoadedDag, run: DagRunRecord, snapshot?: Record<string, TaskInstanceRecord>): Promise<void> {
    let current = snapshot ?? (await this.store.snapshot(run.dagId, run.runId));
    for (let round = 0; round < 5; round++) {
      const transitions = decideTransitions(loaded.graph, statesOf(current));
      if (transitions.size === 0) break;
      const now = Date.now();
      const changes: TaskTransition[] = [...transitions].map(([task, to]) => ({
        task,
        from: ['none'],
        set: to === 'scheduled' ? { state: to, queuedAt: now } : { state: to, endedAt: now },
      }));
      const outcome = await this.store.transition(run.dagId, run.runId, changes, { requireRunState: 'running' });
      if (outcome.runNotInState) return;
      current = outcome.snapshot;
      const scheduled = changes.filter((c, i) => outcome.results[i] === 'ok' && c.set.state === 'scheduled');
      await Promise.all(scheduled.map((c) => this.enqueue(loaded, run, c.task, current[c.task]!)));
      if (outcome.results.every((r) => r === 'ok')) break;
    }
    const finalState = runOutcome(loaded.graph, statesOf(current));
    if (finalState) await this.finishRun(loaded, run, finalState);
  }

  /** Ends a run once; the caller that ends it sends the notifications and starts queued runs. */
  async finishRun(loaded: LoadedDag, run: DagRunRecord, state: 'success' | 'failed', reason?: string): Promise<void> {
    if (!(await this.store.setRunState(run.dagId, run.runId, state, ['running', 'queued']))) return;
    this.log.info(`DAG run ${run.dagId} ${run.runId} ended: ${state}${reason ? ` (${reason})` : ''}`);
    const callback = state === 'success' ? loaded.dag.options.onSuccess : loaded.dag.options.onFailure;
    await this.runCallback(callback, {
      dagId: run.dagId,
      runId: run.runId,
      state,
      ...(reason ? { error: reason } : {}),
    });
    const event = state === 'success' ? 'success' : 'failure';
    await sendNotifications(
      loaded.dag.options.notifications,
      event,
      `Runway: DAG ${run.dagId} run ${run.runId} ${state}${reason ? `: ${reason}` : ''}`,
      { env: this.env, fetch: this.fetch, log: this.log },
    );
    await this.startQueuedRuns(loaded);
  }

  /** Creates a queued run unless one with this id exists; true if created. */
  async createRun(
    loaded: LoadedDag,
    run: { runId: string; runType: RunType; start: Date; end: Date; conf?: Record<string, unknown> },
  ): Promise<boolean> {
    const record: DagRunRecord = {
      dagId: loaded.summary.dagId,
      runId: run.runId,
      state: 'queued',
      runType: run.runType,
      logicalDate: run.start.toISOString(),
      dataIntervalStart: run.start.toISOString(),
      dataIntervalEnd: run.end.toISOString(),
      conf: run.conf ?? {},
      createdAt: new Date().toISOString(),
    };
    return this.store.createRun(
      record,
      loaded.graph.map((t) => t.id),
    );
  }

  /** Starts queued runs, oldest first, while the DAG has fewer than maxActiveRuns running. */
  async startQueuedRuns(loaded: LoadedDag): Promise<number> {
    const dagId = loaded.summary.dagId;
    const max = loaded.summary.maxActiveRuns;
    const free = max - (await this.store.activeRunCount(dagId));
    let started = 0;
    for (const runId of await this.store.queuedRunIds(dagId, free)) {
      if (!(await this.store.startRun(dagId, runId, max))) continue;
      started++;
      const run = await this.store.getRun(dagId, runId);
      if (run) await this.advance(loaded, run);
    }
    return started;
  }

  /** Runs a user callback; its failure is logged, never allowed to change the run. */
  async runCallback(callback: Callback | undefined, context: CallbackContext): Promise<void> {
    if (!callback) return;
    try {
      await callback(context);
    } catch (error) {
      this.log.error(
        `callback for ${context.dagId} ${context.runId}${context.taskId ? ` ${context.taskId}` : ''} failed: ${(error as Error).message}`,
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }

  /** The run values tasks see, computed from a run record in the DAG's time zone. */
  static runInfo(loaded: LoadedDag, run: RunInfoData & { runId: string }) {
    const logicalDate = new Date(run.logicalDate);
    return {
      dagId: loaded.summary.dagId,
      runId: run.runId,
      logicalDate,
      dataIntervalStart: new Date(run.dataIntervalStart),
      dataIntervalEnd: new Date(run.dataIntervalEnd),
      ...dsOf(logicalDate, loaded.summary.timezone),
    };
  }
}

export function statesOf(snapshot: Record<string, TaskInstanceRecord>): Record<string, TaskInstanceState> {
  return Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state]));
}
