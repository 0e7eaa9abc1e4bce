/**
 * One try of one task instance: the body of every BullMQ job, in workers and in `runway dags test`
 * alike. It claims the instance (and its pool and DAG slots) by compare-and-set, runs or pokes the
 * operator with a context and a timeout, records the outcome, and advances the run.
 */
import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { dsOf } from '../core/data-interval.ts';
import { durationMs } from '../core/duration.ts';
import { sendNotifications } from '../core/notify.ts';
import { LATER_TASKS_PRIORITY, type Engine, type TaskJobData } from '../state/engine.ts';
import type { LoadedDag } from '../loader/dag-registry.ts';
import { sensorPokes, taskDuration } from './metrics.ts';
import {
  isSensor,
  withLogContext,
  type AwsClients,
  type Logger,
  type SensorContext,
  type TaskContext,
} from '../core/operator.ts';
import { downstreamOf, scheduledByAlone, skippedByControlFlow, withUpstream } from '../core/run-advance.ts';
import type { SlotClaim, TaskTransition } from '../state/run-store.ts';
import { isTaskError, TaskError } from '../core/task-error.ts';
import type { TaskInstanceState } from '../core/trigger-rule.ts';
import type { TaskDefinition } from '../core/dag.ts';
import type { DagRunRecord } from '../core/model.ts';
import { describeRedisError, isTransientRedisError } from '../redis/redis-errors.ts';
import { toOperator } from '../core/dag.ts';
import { instanceKey, mayDecideEarly } from '../core/task-mapping.ts';
import { mappedOutputs, mappedTaskIds, settleMappedTask } from '../state/mapped-instances.ts';
import { failNow } from '../core/task-error.ts';
import { taskAssets } from '../core/asset.ts';
import { AssetTrigger } from './asset-trigger.ts';

export interface ExecutorOptions {
  aws: AwsClients;
  /** How long pool and DAG slots outlive a worker that died. @defaultValue 30_000 */
  slotLeaseMs?: number;
  /** Delay before a task waiting for a slot tries again. @defaultValue 1_000 */
  slotRetryMs?: number;
  /** Echo task logs here as well as into Redis. */
  echo?: Logger;
}

/**
 * Puts back a task that cannot run yet (no slot under its pool or `maxActiveTasks`, or no worker
 * here has its DAG) for `delayMs`, behind the tasks further down of every run when it comes back.
 * A run's first task goes on the wait list, which workers empty before the prioritized set
 * (engine.ts, `bullmqPriority`): first tasks that keep coming back for a slot would otherwise keep
 * every run's later tasks waiting, however free their own pools are.
 */
async function waitBehind(job: Job<TaskJobData>, delayMs: number, token: string | undefined): Promise<void> {
  if (!job.priority && !job.opts.lifo) await job.changePriority({ priority: LATER_TASKS_PRIORITY });
  await job.moveToDelayed(Date.now() + delayMs, token);
}

/** A write of a try's claim or outcome to Redis failed for now; the try is run again, not failed. */
class NotRecordedError extends Error {
  override readonly name = 'NotRecordedError';
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
/** Redis refused for now (out of memory, away): the try runs again. Anything else is raised as it is. */
const notRecorded = (error: unknown): never => {
  throw isTransientRedisError(error) ? new NotRecordedError(error) : error;
};
/** Delay before a try whose claim or outcome could not be written runs again. */
const RECORD_RETRY_MS = 1_000;

/** How often a running try's new log lines are written to Redis. */
const LOG_FLUSH_MS = 2_000;
/** How often a task of a DAG not loaded here is looked at again. */
const NOT_LOADED_RETRY_MS = 2_000;
const RUNNABLE_FROM: TaskInstanceState[] = ['scheduled', 'up_for_retry', 'up_for_reschedule', 'running'];
const host = hostname();

export class TaskExecutor {
  /**
   * Set when the worker gives up waiting for running tasks at shutdown: their tries are neither
   * failed nor retried here; their locks lapse and another worker runs them again.
   */
  releasing = false;
  /** DAGs whose tasks this worker got before it loaded them: said once each. */
  private readonly waitingFor = new Set<string>();
  /** Records the events of tasks with outlets, and triggers their consumers. */
  readonly assets: AssetTrigger;

  constructor(
    private readonly engine: Engine,
    private readonly options: ExecutorOptions,
  ) {
    this.assets = new AssetTrigger(engine);
  }

  /** The BullMQ processor. */
  process = (job: Job<TaskJobData>, token?: string, signal?: AbortSignal): Promise<unknown> =>
    this.processTry(job, token, signal).catch((error: unknown) =>
      error instanceof NotRecordedError ? this.runAgainLater(job, token, error) : Promise.reject(error),
    );

  /**
   * Redis refused (or did not answer) a write of this try's claim or outcome: the try itself did
   * not fail, so it is not failed. The job runs again in a second: it claims the instance again,
   * or finds its outcome written after all and only advances the run. Should Redis still refuse
   * the move, the job's lock lapses and BullMQ's stalled check runs it again once Redis is back.
   */
  private async runAgainLater(job: Job<TaskJobData>, token: string | undefined, error: NotRecordedError) {
    const { dagId, runId, taskId } = job.data;
    this.engine.log.warn(
      `task ${dagId} ${runId} ${taskId}: its state could not be written (${describeRedisError(error.cause)}); it runs again`,
    );
    try {
      await job.moveToDelayed(Date.now() + RECORD_RETRY_MS, token);
    } catch {
      throw error.cause;
    }
    throw new DelayedError();
  }

  private processTry = async (job: Job<TaskJobData>, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const data = job.data;
    // A worker imports a DAG's module on its first task here, not at start.
    const loaded = await this.engine.registry.imported(data.dagId);
    if (!loaded) {
      // A file just added, not yet loaded here, or loaded only by other workers: the task waits
      // without spending a try; triggers and the UI say that no worker has the DAG.
      if (!this.waitingFor.has(data.dagId)) {
        this.waitingFor.add(data.dagId);
        this.engine.log.warn(
          `DAG "${data.dagId}" is not loaded on this worker: its tasks wait for a worker that has it (see \`runway dags list-import-errors\`)`,
        );
      }
      await waitBehind(job, NOT_LOADED_RETRY_MS, token);
      throw new DelayedError();
    }
    this.waitingFor.delete(data.dagId);
    const task = loaded.tasks.get(data.taskId);
    if (!task) throw new UnrecoverableError(`DAG "${data.dagId}" has no task "${data.taskId}" any more`);
    // A mapped task's index is an instance of its own (`load[3]`): its state, log and output.
    const instance = instanceKey(data.taskId, data.mapIndex);
    const tryNumber = data.tryBase + job.attemptsMade + 1;
    const claims = await this.slotClaims(loaded, task, job);
    const leaseMs = this.options.slotLeaseMs ?? 30_000;
    const store = this.engine.store;
    // The outputs of the upstream tasks come back with the claim, not in a read of their own; a
    // mapped one's list of index outputs is read alongside it (caught here so that a try that
    // ends before using it leaves no unhandled rejection; awaited in `context`).
    const declared = declaredUpstream(task);
    const mapped = mappedTaskIds(loaded);
    const mappedRead = this.mappedUpstreamOutputs(
      data,
      declared.filter((id) => mapped.includes(id)),
    );
    mappedRead.catch(() => undefined);

    const startedAt = Date.now();
    const begin = await store
      .transition(
        data.dagId,
        data.runId,
        [
          {
            task: instance,
            from: RUNNABLE_FROM,
            generation: data.generation,
            set: { state: 'running', try: tryNumber, host, startedAt },
            unset: ['endedAt', 'durationMs', 'error'],
            acquire: claims,
            leaseMs,
          },
        ],
        { requireRunState: 'running', watch: [], outputs: declared.filter((id) => !mapped.includes(id)) },
      )
      .catch(notRecorded);
    if (begin.runNotInState) return null; // the run ended (timeout, marked): nothing to do
    if (begin.results[0] === 'no_slot') {
      await waitBehind(job, (this.options.slotRetryMs ?? 1_000) * (0.5 + Math.random()), token);
      throw new DelayedError();
    }
    // The job carries what the run record holds that a try needs: no read. (Literals, not
    // spreads, on this path: spreading into a wide object costs microseconds per task.)
    const run: DagRunRecord = {
      dagId: data.dagId,
      runId: data.runId,
      state: 'running',
      runType: data.run.runType,
      logicalDate: data.run.logicalDate,
      dataIntervalStart: data.run.dataIntervalStart,
      dataIntervalEnd: data.run.dataIntervalEnd,
      conf: data.run.conf,
      createdAt: '',
    };
    if (begin.results[0] === 'conflict') {
      // Already finished (a duplicate job, or a worker that died after recording its result):
      // make sure the run moved on, and its asset events are recorded (once per try), and stop.
      await this.engine.advance(loaded, run);
      await this.recordLostEvents(task, data);
      return null;
    }

    const echo = this.options.echo;
    const logs = new TryLog(
      echo && withLogContext(echo, { dagId: data.dagId, runId: data.runId, taskId: instance, tryNumber }),
    );
    const writeLogs = () => store.appendLogs(data.dagId, data.runId, instance, tryNumber, logs.drain());
    // Lines reach Redis while the try runs, so a long statement's progress can be read; the writes
    // are chained so that lines keep their order.
    let logWrites = Promise.resolve();
    const logFlush = setInterval(() => {
      logWrites = logWrites.then(writeLogs).catch(() => undefined);
    }, LOG_FLUSH_MS);
    const where = { dagId: data.dagId, runId: data.runId, taskId: instance, tryNumber };
    const renew = setInterval(() => void store.renewSlots(claims, leaseMs).catch(() => undefined), leaseMs / 3);
    const release = claims.map(({ key, member }) => ({ key, member }));
    const record = async (
      state: TaskInstanceState,
      result: { output?: unknown; error?: string } = {},
      more: TaskTransition[] = [],
    ) => {
      const now = Date.now();
      taskDuration.observe({ dag_id: data.dagId, task_id: data.taskId, state }, (now - startedAt) / 1_000);
      // An index's success decides nothing downstream before the other indexes end, under most
      // rules: the last index to end settles the mapped task, which advances the run from there.
      const isIndex = mappedIndex(data);
      const downstream = downstreamOf(loaded.graph, data.taskId);
      const early =
        !isIndex ||
        mayDecideEarly(
          state,
          downstream.map((id) => loaded.graph.find((t) => t.id === id)!),
        );
      const candidates = new Set(early ? downstream : []);
      for (const skipped of more) for (const d of downstreamOf(loaded.graph, skipped.task)) candidates.add(d);
      const watch =
        loaded.graph.length <= WATCH_ALL_UP_TO ? loaded.graph.map((t) => t.id) : withUpstream(loaded.graph, candidates);
      // Downstream tasks this outcome alone schedules are scheduled by the script that records it
      // (compare-and-set from none, only if the outcome is written and the run still running):
      // one round trip less per hop. `advance` then finds them scheduled and decides the rest.
      const skippedNow = new Set(more.map((m) => m.task));
      const scheduledNow = isIndex
        ? []
        : scheduledByAlone(loaded.graph, data.taskId, state).filter(
            (id) => !skippedNow.has(id) && !mappedTaskIds(loaded).includes(id),
          );
      // Logs first: a worker killed between the two leaves a try with its log and no result (it
      // runs again), never a result without its log.
      clearInterval(logFlush);
      await logWrites;
      await writeLogs();
      const outcome = await store.transition(
        data.dagId,
        data.runId,
        [
          {
            task: instance,
            from: ['running'],
            generation: data.generation,
            set: { state, endedAt: now, durationMs: now - startedAt, ...(result.error ? { error: result.error } : {}) },
            release,
            ...(result.output === undefined ? {} : { output: result.output }),
          },
          ...more,
          ...scheduledNow.map((id): TaskTransition => ({
            task: id,
            from: ['none'],
            set: { state: 'scheduled', queuedAt: now },
            withFirst: true,
            ifRun: 'running',
          })),
        ],
        { watch },
      );
      if (outcome.results[0] === 'ok' && state !== 'up_for_retry' && state !== 'up_for_reschedule') {
        const first = 1 + more.length;
        const queued = scheduledNow.filter((_, i) => outcome.results[first + i] === 'ok');
        if (queued.length > 0) {
          await this.engine.enqueueMany(
            loaded,
            run,
            queued.map((id) => ({ taskId: id, ti: outcome.snapshot[id]! })),
          );
        }
        await this.engine.advance(loaded, run, { candidates, states: outcome.snapshot, progress: outcome });
        if (isIndex && outcome.allIndexesEnded.includes(data.taskId)) {
          await settleMappedTask(this.engine, loaded, run, data.taskId);
        }
      }
      if (outcome.results[0] === 'ok' && state === 'success') {
        await this.assets.produced({ ...where, generation: data.generation }, outletsOf(task), extras);
      }
      return outcome;
    };
    const finish: typeof record = (...args) => record(...args).catch(notRecorded);

    const timeoutMs = executionTimeoutMs(loaded, task);
    const controller = new AbortController();
    const abort = (reason: string) => controller.abort(new TaskError('timeout', reason));
    signal?.addEventListener('abort', () => abort('the worker is shutting down'), { once: true });
    const timer =
      timeoutMs === undefined ? undefined : setTimeout(() => abort(`timed out after ${timeoutMs} ms`), timeoutMs);
    const extras = new Map<string, string>();
    const upstream = mappedRead.then((lists) => ({ ...begin.outputs, ...lists }));
    const ctx = await this.context(loaded, data, tryNumber, controller.signal, logs.logger, extras, upstream);

    try {
      const operator = task.mapping ? buildIndex(task, data) : task.operator;
      if (isSensor(operator)) {
        const sensor = operator;
        const firstPokeAt = data.sensor?.firstPokeAt ?? Date.now();
        const pokes = (data.sensor?.pokes ?? 0) + 1;
        sensorPokes.inc({ dag_id: data.dagId, task_id: data.taskId });
        const sensorCtx: SensorContext<unknown> = {
          ...ctx,
          state: data.sensor?.state,
          firstPokeAt: new Date(firstPokeAt),
          pokeNumber: pokes,
        };
        const result = await abortable(sensor.poke(sensorCtx), controller.signal);
        if (result.done) {
          await finish('success', { output: result.value ?? null });
          return result.value ?? null;
        }
        if (Date.now() - firstPokeAt + result.pokeAgainInMs > sensor.sensor.timeoutMs) {
          const message = `sensor timed out after ${Date.now() - firstPokeAt} ms (${pokes} pokes; timeout ${sensor.sensor.timeoutMs} ms)`;
          logs.logger.warn(message);
          await sensor.onTimeout?.({ ...sensorCtx, state: result.state });
          if (sensor.sensor.softFail) {
            await finish('skipped', { error: `${message}; soft fail` });
            return null;
          }
          await finish('failed', { error: message });
          throw new UnrecoverableError(message);
        }
        await job.updateData({ ...data, sensor: { state: result.state, firstPokeAt, pokes } }).catch(notRecorded);
        await finish('up_for_reschedule');
        await job.moveToDelayed(Date.now() + result.pokeAgainInMs, token).catch(notRecorded);
        throw new DelayedError();
      }

      const output = (await abortable(operator.run(ctx as TaskContext<never>), controller.signal)) ?? null;
      const control = mappedIndex(data) ? [] : skippedByControlFlow(loaded.graph, data.taskId, task.spec, output);
      const skipped = control.map((id) => ({
        task: id,
        from: ['none'] as TaskInstanceState[],
        set: { state: 'skipped' as const, endedAt: Date.now() },
      }));
      await finish('success', { output }, skipped);
      await this.engine.runCallback(task.spec.onSuccess, { ...where, state: 'success' });
      return output;
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError || error instanceof NotRecordedError)
        throw error;
      if (this.releasing) throw error;
      const failure = isTaskError(error) ? error : undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (failure?.code === 'skip') {
        logs.logger.info(`skipped: ${message}`);
        await finish('skipped', { error: message });
        return null;
      }
      logs.logger.error(`try ${tryNumber} failed: ${message}`);
      const retryable = failure ? failure.retryable : true;
      const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      if (retryable && attemptsLeft) {
        await finish('up_for_retry', { error: message });
        await this.engine.runCallback(task.spec.onRetry, { ...where, state: 'up_for_retry', error: message });
        await this.notifyTask(task, 'retry', `${data.dagId}.${data.taskId} try ${tryNumber} failed: ${message}`);
        throw error;
      }
      await finish('failed', { error: message });
      await this.engine.runCallback(task.spec.onFailure, { ...where, state: 'failed', error: message });
      await this.notifyTask(task, 'failure', `${data.dagId}.${data.taskId} failed: ${message}`);
      throw new UnrecoverableError(message);
    } finally {
      clearInterval(renew);
      clearInterval(logFlush);
      if (timer) clearTimeout(timer);
    }
  };

  private async notifyTask(task: TaskDefinition, event: 'retry' | 'failure', text: string) {
    await sendNotifications(task.spec.notifications, event, `Runway: ${text}`, {
      env: this.engine.env,
      fetch: this.engine.fetch,
      log: this.engine.log,
    });
  }

  /** The DAG's max-active-tasks slot, and the task's pool slot when that pool is sized. */
  private async slotClaims(loaded: LoadedDag, task: TaskDefinition, job: Job<TaskJobData>): Promise<SlotClaim[]> {
    const member = job.id!;
    const claims: SlotClaim[] = [
      { key: this.engine.store.slotKey('dag', loaded.summary.dagId), limit: loaded.summary.maxActiveTasks, member },
    ];
    const pool = task.spec.pool ?? loaded.dag.options.defaultArgs?.pool;
    if (pool) {
      const slots = await this.engine.store.poolSlots(pool);
      if (slots !== undefined) claims.push({ key: this.engine.store.slotKey('pool', pool), limit: slots, member });
    }
    return claims;
  }

  /** Outputs of mapped upstream tasks: each one's is the list of its indexes' outputs. */
  private async mappedUpstreamOutputs(data: TaskJobData, upstream: readonly string[]) {
    const outputs: Record<string, unknown> = {};
    for (const id of upstream) outputs[id] = await mappedOutputs(this.engine, data, id);
    return outputs;
  }

  /** The task context: run values, the declared upstream outputs (read with the claim), clients and logger. */
  private async context(
    loaded: LoadedDag,
    data: TaskJobData,
    tryNumber: number,
    signal: AbortSignal,
    log: Logger,
    extras: Map<string, string>,
    upstream: Promise<Record<string, unknown>>,
  ): Promise<TaskContext> {
    const task = loaded.tasks.get(data.taskId)!;
    const triggering = loaded.summary.assetSchedule ? await this.assets.events.runEvents(data.dagId, data.runId) : [];
    const logicalDate = new Date(data.run.logicalDate);
    const { ds, dsNodash } = dsOf(logicalDate, loaded.summary.timezone);
    return {
      dagId: data.dagId,
      runId: data.runId,
      taskId: data.taskId,
      tryNumber,
      logicalDate,
      dataIntervalStart: new Date(data.run.dataIntervalStart),
      dataIntervalEnd: new Date(data.run.dataIntervalEnd),
      ds,
      dsNodash,
      params: parseParams(loaded, data.run.conf),
      upstream: await upstream,
      log,
      signal,
      aws: this.options.aws,
      env: this.engine.env,
      assets: taskAssets(triggering, task.spec.outlets ?? [], extras),
    };
  }

  /**
   * A try that succeeded but whose worker died before recording its asset events: recorded now,
   * without the extras the lost try set (its events say `extra: null`).
   */
  private async recordLostEvents(task: TaskDefinition, data: TaskJobData): Promise<void> {
    const outlets = outletsOf(task);
    if (outlets.length === 0) return;
    const ti = (await this.engine.store.states(data.dagId, data.runId, [data.taskId]))[data.taskId];
    if (ti?.state !== 'success' || ti.generation !== data.generation) return;
    const attempt = { dagId: data.dagId, runId: data.runId, taskId: data.taskId, generation: data.generation };
    await this.assets.produced({ ...attempt, tryNumber: ti.try }, outlets);
  }
}

/** The upstream tasks whose outputs a try gets. An index has its element in the job: the list it came from is read only when asked for. */
function declaredUpstream(task: TaskDefinition): string[] {
  const over = task.mapping && !task.mapping.listInUpstream ? task.mapping.over : undefined;
  return (task.spec.upstream ?? []).filter((id) => id !== over);
}

/**
 * Up to this many tasks, a finishing try reads every state of the run with its outcome, instead of
 * only its downstream tasks and their upstream: as cheap for a small DAG, and the try that ends the
 * run then needs no second read to decide its state.
 */
const WATCH_ALL_UP_TO = 32;

function outletsOf(task: TaskDefinition): string[] {
  return (task.spec.outlets ?? []).map((outlet) => outlet.uri);
}

/** The operator of one index of a mapped task, built from its element; a build that throws fails the index for good. */
function buildIndex(task: TaskDefinition, data: TaskJobData) {
  let built: unknown;
  try {
    built = task.mapping!.build(data.item, data.mapIndex ?? 0);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw failNow(`map index ${data.mapIndex}: build failed for its element: ${message}`, { cause: error });
  }
  const operator = toOperator(built);
  if (!operator) throw failNow(`map index ${data.mapIndex}: build returned neither an operator nor a function`);
  return operator;
}

function mappedIndex(data: TaskJobData): boolean {
  return data.mapIndex !== undefined;
}

function parseParams(loaded: LoadedDag, conf: Record<string, unknown>): Record<string, unknown> {
  const schema = loaded.dag.options.params;
  if (!schema) return conf;
  const parsed = schema.safeParse(conf);
  return parsed.success ? (parsed.data as Record<string, unknown>) : conf;
}

function executionTimeoutMs(loaded: LoadedDag, task: TaskDefinition): number | undefined {
  const timeout = task.spec.executionTimeout ?? loaded.dag.options.defaultArgs?.executionTimeout;
  return timeout === undefined ? undefined : durationMs(timeout);
}

/** Rejects when the signal aborts, even if the operator ignores its signal. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A try's log lines, buffered between writes to Redis (every LOG_FLUSH_MS, and when the try ends). */
class TryLog {
  private lines: string[] = [];
  readonly logger: Logger;

  constructor(echo?: Logger) {
    const write = (level: 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
      const line = `${new Date().toISOString()} ${level.toUpperCase()} ${message}${fields ? ` ${safeJson(fields)}` : ''}`;
      if (this.lines.length < 10_000) this.lines.push(line);
      echo?.[level](message, fields);
    };
    this.logger = { info: write('info'), warn: write('warn'), error: write('error') };
  }

  drain(): string[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '[unserializable]';
  }
}
