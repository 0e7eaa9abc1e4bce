/**
 * The engine turns run-advance decisions into Redis state and BullMQ jobs: it creates and starts
 * DAG runs, schedules the tasks whose trigger rules are met, and ends runs. Schedulers, workers
 * and `runway dags test` all act through it, so there is one way a run moves.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { logDistinctErrors, type RedisClient } from '../redis/connect.ts';
import type { LoadedDag, DagRegistry } from '../loader/dag-registry.ts';
import type { Callback, CallbackContext } from '../core/dag-options.ts';
import type { DagRunRecord, RunType, TaskInstanceRecord } from '../core/model.ts';
import { sendNotifications } from '../core/notify.ts';
import { withLogContext, type Logger } from '../core/operator.ts';
import { retryPolicyOf, type RetryPolicy } from '../core/retry-policy.ts';
import { decideTransitions, downstreamOf, runOutcome, withUpstream } from '../core/run-advance.ts';
import { stoppedByTimeout } from '../core/setup-teardown.ts';
import { RunStore, type TaskTransition } from './run-store.ts';
import { graphWithIndexes, parseInstanceKey } from '../core/task-mapping.ts';
import { expandMappedTask, itemsOf, mapLengths, mappedTaskIds } from './mapped-instances.ts';
import { DeadlineStore } from './deadlines.ts';
import { deadlineDueAt } from '../core/deadline.ts';
import type { TaskInstanceState } from '../core/trigger-rule.ts';
import { inSlices } from '../core/fan-out-slices.ts';

export interface EngineOptions {
  redis: RedisClient;
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
  /** An index of a mapped task: its map index, and the element it runs for. */
  mapIndex?: number;
  item?: unknown;
}

/** What a caller of `advance` already knows, to spare reads. */
export interface AdvanceHint {
  /** Tasks whose trigger rules may now be decidable. */
  candidates: Iterable<string>;
  /** States read with the caller's last transition. */
  states?: Record<string, TaskInstanceRecord>;
  progress?: { terminal: number; total: number };
}

/** Events kept in each task queue's BullMQ event stream (BullMQ's default is 10,000). */
export const QUEUE_EVENTS_KEPT = 1_000;

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class Engine {
  readonly store: RunStore;
  readonly deadlines: DeadlineStore;
  readonly registry: DagRegistry;
  readonly prefix: string;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
  readonly redis: RedisClient;
  private readonly queues = new Map<string, Queue<TaskJobData>>();

  constructor(options: EngineOptions) {
    this.redis = options.redis;
    this.registry = options.registry;
    this.prefix = options.prefix ?? '{runway}';
    this.store = new RunStore(options.redis, { prefix: this.prefix });
    this.deadlines = new DeadlineStore(options.redis, this.store);
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
      queue = new Queue<TaskJobData>(Engine.queueName(name), {
        connection: this.redis,
        prefix: this.prefix,
        // Runway reads no queue events; the stream is BullMQ's own (approximately trimmed) record.
        streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
      });
      queue.on(
        'error',
        logDistinctErrors((m) => this.log.warn(m), `queue ${name}`),
      );
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
    if (parseInstanceKey(taskId).mapIndex !== undefined) return this.enqueueMany(loaded, run, [{ taskId, ti }]);
    const job = this.jobFor(loaded, run, taskId, ti);
    await this.queue(job.queue).add(taskId, job.data, job.opts);
  }

  /** `instance` is a task id, or a mapped task's index (`load[3]`) with its element in `item`. */
  private jobFor(
    loaded: LoadedDag,
    run: DagRunRecord,
    instance: string,
    ti: Pick<TaskInstanceRecord, 'generation' | 'try'>,
    item?: { value: unknown },
  ): { queue: string; data: TaskJobData; opts: JobsOptions } {
    const { taskId, mapIndex } = parseInstanceKey(instance);
    // From the summary: a scheduler queues a DAG's tasks without importing its module.
    const task = loaded.taskSummaries.get(taskId)!;
    const args = { ...loaded.summary.defaultArgs, ...task.args };
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
      ...(mapIndex === undefined ? {} : { mapIndex, item: item?.value }),
    };
    return {
      queue: task.queue ?? 'default',
      data,
      opts: {
        jobId: Engine.jobId(run.dagId, run.runId, instance, ti.generation),
        attempts: retry.retries + 1,
        backoff: { type: 'runway' },
        ...bullmqPriority(args.priority ?? 0, task.upstream.length > 0),
        // A try's outcome is kept in the run store; BullMQ's copy of a failed job is only for
        // looking into BullMQ itself, so a day's worth (at most a thousand) is kept.
        removeOnComplete: true,
        removeOnFail: { age: 24 * 3_600, count: 1_000 },
      },
    };
  }

  /**
   * Schedules, skips or fails (upstream_failed) every task whose trigger rule can now be decided,
   * and ends the run when all its task instances are done. Safe to call any number of times from
   * anywhere: each change is a compare-and-set from `none`.
   *
   * Without a hint every task is considered. A worker that just finished a task passes its
   * downstream tasks as `candidates`, with the states it already read, so a hop costs a few
   * small reads however wide the DAG is.
   */
  async advance(loaded: LoadedDag, run: DagRunRecord, hint?: AdvanceHint): Promise<void> {
    const { dagId, runId } = run;
    let candidates = new Set(hint ? hint.candidates : loaded.graph.map((t) => t.id));
    let known = hint?.states;
    let progress = hint?.progress;
    // Whether the hint's states are still the run's: nothing was changed here since they were read.
    let untouched = true;
    const mapped = mappedTaskIds(loaded);
    for (let round = 0; round < 1_000 && candidates.size > 0; round++) {
      // Trigger rules see an expanded mapped task as all its indexes (task-mapping.ts).
      const graph =
        mapped.length === 0 ? loaded.graph : graphWithIndexes(loaded.graph, await mapLengths(this, loaded, run, known));
      if (graph !== loaded.graph) {
        known = undefined;
        // Looking at every task includes the indexes of expanded mapped tasks (a cleared one reruns).
        if (!hint && round === 0) for (const task of graph) candidates.add(task.id);
      }
      const need = withUpstream(graph, candidates);
      const states = known && need.every((id) => id in known!) ? known : await this.store.states(dagId, runId, need);
      known = undefined;
      const transitions = decideTransitions(graph, statesOf(states), candidates);
      // A mapped task whose rule is met is expanded into its indexes instead of being queued.
      const ended = new Set<string>();
      for (const [taskId, to] of transitions) {
        if (to !== 'scheduled' || !mapped.includes(taskId)) continue;
        transitions.delete(taskId);
        untouched = false;
        if (await expandMappedTask(this, loaded, run, taskId)) ended.add(taskId);
        progress = undefined; // the run's instance counts moved outside this loop's transitions
      }
      if (transitions.size === 0 && ended.size === 0) break;
      untouched = false;
      const now = Date.now();
      const changes: TaskTransition[] = [...transitions].map(([task, to]) => ({
        task,
        from: ['none'],
        set: to === 'scheduled' ? { state: to, queuedAt: now } : { state: to, endedAt: now },
      }));
      // In slices, so that the first tasks of a wide fan-out run while the rest are being queued.
      const applied: TaskTransition[] = [];
      let runEnded = false;
      await inSlices(changes, async (slice) => {
        const outcome = await this.store.transition(dagId, runId, slice, { requireRunState: 'running', watch: [] });
        if (outcome.runNotInState) {
          runEnded = true;
          return false;
        }
        progress = outcome;
        const ok = slice.filter((_, i) => outcome.results[i] === 'ok');
        applied.push(...ok);
        await this.enqueueMany(
          loaded,
          run,
          ok.filter((c) => c.set.state === 'scheduled').map((c) => ({ taskId: c.task, ti: states[c.task]! })),
        );
      });
      if (runEnded) return;
      // Skips and upstream failures may unblock tasks whose other upstream states were not read.
      const next = new Set<string>();
      for (const change of [
        ...applied,
        ...[...ended].map((task) => ({ task, set: {} as Partial<TaskInstanceRecord> })),
      ]) {
        if (change.set.state === 'scheduled') continue;
        for (const downstream of downstreamOf(loaded.graph, change.task)) {
          if (!transitions.has(downstream)) next.add(downstream);
        }
      }
      candidates = next;
    }
    progress ??= await this.store.progress(dagId, runId);
    if (progress.total > 0 && progress.terminal >= progress.total) {
      // A worker that finished a small DAG's task read every state with it (`watch`): no read.
      const given = hint?.states;
      const all =
        untouched && given && loaded.graph.every((t) => t.id in given)
          ? given
          : await this.store.snapshot(dagId, runId);
      const finalState = runOutcome(loaded.graph, statesOf(all));
      if (finalState) await this.finishRun(loaded, run, finalState);
    }
  }

  /** Adds the queue jobs of several scheduled task instances, one bulk add per queue. */
  async enqueueMany(
    loaded: LoadedDag,
    run: DagRunRecord,
    tasks: readonly {
      taskId: string;
      ti: Pick<TaskInstanceRecord, 'generation' | 'try'>;
      /** A mapped index's element, when the caller has it (else it is read from its list). */
      item?: { value: unknown };
    }[],
  ): Promise<void> {
    const byQueue = new Map<string, Parameters<Queue<TaskJobData>['addBulk']>[0]>();
    const unknownItems = tasks.filter((t) => !t.item && parseInstanceKey(t.taskId).mapIndex !== undefined);
    const items =
      unknownItems.length === 0
        ? undefined
        : await itemsOf(
            this,
            loaded,
            run,
            unknownItems.map((t) => t.taskId),
          );
    for (const { taskId, ti, item } of tasks) {
      const job = this.jobFor(
        loaded,
        run,
        taskId,
        ti,
        item ?? (items?.has(taskId) ? { value: items.get(taskId) } : undefined),
      );
      const jobs = byQueue.get(job.queue) ?? [];
      jobs.push({ name: taskId, data: job.data, opts: job.opts });
      byQueue.set(job.queue, jobs);
    }
    await Promise.all([...byQueue].map(([queue, jobs]) => addJobs(this.queue(queue), jobs)));
  }

  /** Adds the queue jobs of scheduled task instances of many runs: one bulk add per queue in all. */
  async enqueueAcrossRuns(
    items: readonly {
      loaded: LoadedDag;
      run: DagRunRecord;
      taskId: string;
      ti: Pick<TaskInstanceRecord, 'generation' | 'try'>;
    }[],
  ): Promise<void> {
    const byQueue = new Map<string, Parameters<Queue<TaskJobData>['addBulk']>[0]>();
    for (const { loaded, run, taskId, ti } of items) {
      const job = this.jobFor(loaded, run, taskId, ti);
      const jobs = byQueue.get(job.queue) ?? [];
      jobs.push({ name: taskId, data: job.data, opts: job.opts });
      byQueue.set(job.queue, jobs);
    }
    await Promise.all([...byQueue].map(([queue, jobs]) => this.queue(queue).addBulk(jobs)));
  }

  /**
   * Ends a run once; the caller that ends it sends the notifications and starts queued runs. A run
   * marked timed out ends `failed`, for its timeout, whatever `state` its tasks gave.
   */
  async finishRun(loaded: LoadedDag, run: DagRunRecord, state: 'success' | 'failed', reason?: string): Promise<void> {
    const ended = await this.store.setRunState(run.dagId, run.runId, state, ['running', 'queued']);
    if (!ended) return;
    if (ended.timedOutAt) {
      state = 'failed';
      reason ??= timeoutReason(loaded);
    }
    withLogContext(this.log, { dagId: run.dagId, runId: run.runId }).info(
      `DAG run ${run.dagId} ${run.runId} ended: ${state}${reason ? ` (${reason})` : ''}`,
    );
    // Only a DAG with a callback is imported to end its run (a scheduler's timeout, say).
    if (loaded.summary.runCallbacks) await loaded.load?.();
    const options = loaded.summary.runCallbacks ? loaded.dag.options : undefined;
    const callback = state === 'success' ? options?.onSuccess : options?.onFailure;
    await this.runCallback(callback, {
      dagId: run.dagId,
      runId: run.runId,
      state,
      ...(reason ? { error: reason } : {}),
    });
    const event = state === 'success' ? 'success' : 'failure';
    await sendNotifications(
      loaded.summary.notifications,
      event,
      `Runway: DAG ${run.dagId} run ${run.runId} ${state}${reason ? `: ${reason}` : ''}`,
      { env: this.env, fetch: this.fetch, log: this.log },
    );
    // The script counted the DAG's queued runs: none, nothing to start (and no read).
    if (ended.queued > 0) await this.startQueuedRuns(loaded);
  }

  /**
   * Stops a run past its `dagRunTimeout`: marks it (so that it ends `failed`), skips its
   * unfinished tasks as Airflow does, but lets its teardowns run, and its setups already running
   * end, so that what they made is removed (`stoppedByTimeout`); the run ends when they are done.
   * Safe to call again: a task a worker scheduled meanwhile is skipped then.
   */
  async timeOutRun(loaded: LoadedDag, run: DagRunRecord): Promise<void> {
    const { dagId, runId } = run;
    const reason = timeoutReason(loaded);
    if (!run.timedOutAt && (await this.store.markTimedOut(dagId, runId, new Date()))) {
      withLogContext(this.log, { dagId, runId }).warn(
        `DAG run ${dagId} ${runId}: ${reason}; its unfinished tasks are skipped, its teardowns still run, then it fails`,
      );
    }
    const snapshot = await this.store.snapshot(dagId, runId);
    const stopped = stoppedByTimeout(loaded.graph, statesOf(snapshot));
    if (stopped.length > 0) {
      const now = Date.now();
      await this.store.transition(
        dagId,
        runId,
        stopped.map((task) => ({
          task,
          from: [snapshot[task]!.state],
          set: { state: 'skipped', endedAt: now, error: `the run was stopped: ${reason}` },
        })),
        { requireRunState: 'running', watch: [] },
      );
    }
    await this.advance(loaded, run);
  }

  /** Creates a queued run unless one with this id exists; true if created. */
  async createRun(
    loaded: LoadedDag,
    run: {
      runId: string;
      runType: RunType;
      start: Date;
      end: Date;
      /** Defaults to the interval's start; a manual run's is its trigger time. */
      logicalDate?: Date;
      conf?: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const record: DagRunRecord = {
      dagId: loaded.summary.dagId,
      runId: run.runId,
      state: 'queued',
      runType: run.runType,
      logicalDate: (run.logicalDate ?? run.start).toISOString(),
      dataIntervalStart: run.start.toISOString(),
      dataIntervalEnd: run.end.toISOString(),
      conf: run.conf ?? {},
      createdAt: new Date().toISOString(),
    };
    const created = await this.store.createRun(
      record,
      loaded.graph.map((t) => t.id),
    );
    const deadline = loaded.summary.deadline;
    if (created && deadline) await this.deadlines.watch(record.dagId, record.runId, deadlineDueAt(deadline, record));
    return created;
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
      withLogContext(this.log, context).error(
        `callback for ${context.dagId} ${context.runId}${context.taskId ? ` ${context.taskId}` : ''} failed: ${(error as Error).message}`,
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}

/**
 * One job is added alone: `addBulk` builds an ioredis pipeline, whose constructor copies every
 * script command defined on the connection (BullMQ's and ours, about seventy), which cost more CPU
 * than the add itself on a worker's hop.
 */
async function addJobs(queue: Queue<TaskJobData>, jobs: Parameters<Queue<TaskJobData>['addBulk']>[0]): Promise<void> {
  if (jobs.length === 1) {
    const [job] = jobs;
    await queue.add(job!.name, job!.data, job!.opts);
  } else if (jobs.length > 1) {
    await queue.addBulk(jobs);
  }
}

/**
 * Where a task waits in BullMQ, which decides the order workers take tasks in: a positive priority
 * at the front of the wait list, a task without upstream tasks (a run's first tasks) on the wait
 * list in the order queued, every other task behind them in BullMQ's prioritized set (which a
 * worker reads only when the wait list is empty), a negative priority behind those, most negative
 * last. So when many runs start at once (a boundary where every DAG is due), each run's first task
 * starts before any run's second, as Airflow's default weight rule (`downstream`) orders them;
 * first in, first out alone put the first runs' later tasks between the other runs' first ones.
 */
function bullmqPriority(priority: number, hasUpstream: boolean): Pick<JobsOptions, 'priority' | 'lifo'> {
  if (priority > 0) return { lifo: true };
  if (priority < 0) return { priority: Math.min(BULLMQ_MAX_PRIORITY, LATER_TASKS_PRIORITY - priority) };
  return hasUpstream ? { priority: LATER_TASKS_PRIORITY } : {};
}

/** BullMQ priority of tasks with upstream tasks at `priority` 0: behind runs' first tasks. */
export const LATER_TASKS_PRIORITY = 1;

/** BullMQ's largest priority (2^21). */
const BULLMQ_MAX_PRIORITY = 2_097_152;

function timeoutReason(loaded: LoadedDag): string {
  return `dagRunTimeout of ${loaded.dagRunTimeoutMs ?? '?'} ms exceeded`;
}

export function statesOf(snapshot: Record<string, TaskInstanceRecord>): Record<string, TaskInstanceState> {
  return Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state]));
}
