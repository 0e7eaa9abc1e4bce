/**
 * `runway scheduler`: creates DAG runs as their data intervals end, starts queued runs within each
 * DAG's max active runs, and reconciles running runs (lost queue jobs, tasks whose worker died too
 * often, run timeouts). Any number of schedulers may run against one Redis: run ids are
 * deterministic and every change is a compare-and-set, so nothing is created or started twice.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import { dueIntervals, scheduledRunId } from '../core/data-interval.ts';
import { Engine } from '../state/engine.ts';
import { schedulerLag } from './metrics.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { withLogContext } from '../core/operator.ts';

export interface SchedulerOptions {
  /** Time between passes. @defaultValue 2_000 */
  tickMs?: number;
  /** A task instance scheduled or running this long without a live queue job is repaired. @defaultValue 15_000 */
  reconcileAfterMs?: number;
  /** The clock; tests and benchmarks inject one. @defaultValue () => new Date() */
  now?: () => Date;
  /** Finished runs older than this many days are deleted, with their logs. @defaultValue 30 */
  retentionDays?: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastRetentionAt = 0;
  private readonly now: () => Date;

  constructor(
    private readonly engine: Engine,
    private readonly options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** One pass over every DAG. */
  async tick(): Promise<void> {
    const applyRetention = Date.now() - this.lastRetentionAt > 3_600_000;
    if (applyRetention) this.lastRetentionAt = Date.now();
    for (const loaded of this.engine.registry.list()) {
      if (applyRetention) await this.applyRetention(loaded.summary.dagId);
      try {
        if (await this.engine.store.isPaused(loaded.summary.dagId, loaded.summary.pausedOnCreation)) continue;
        await this.createDueRuns(loaded);
        await this.engine.startQueuedRuns(loaded);
        await this.reconcile(loaded);
      } catch (error) {
        withLogContext(this.engine.log, { dagId: loaded.summary.dagId }).error(
          `scheduler: DAG ${loaded.summary.dagId}: ${(error as Error).message}`,
        );
      }
    }
    // A DAG removed from the deployment gets no new runs, but the ones it has still finish.
    for (const loaded of this.engine.registry.retired()) {
      try {
        await this.reconcile(loaded);
      } catch (error) {
        withLogContext(this.engine.log, { dagId: loaded.summary.dagId }).error(
          `scheduler: DAG ${loaded.summary.dagId}: ${(error as Error).message}`,
        );
      }
    }
  }

  /** Deletes the DAG's finished runs older than the retention period. */
  async applyRetention(dagId: string): Promise<number> {
    const days = this.options.retentionDays ?? 30;
    const deleted = await this.engine.store.deleteRunsBefore(dagId, new Date(this.now().getTime() - days * 86_400_000));
    if (deleted > 0) this.engine.log.info(`retention: deleted ${deleted} run(s) of ${dagId} older than ${days} days`);
    return deleted;
  }

  /** Creates the runs whose interval has ended, oldest first, up to the DAG's max active runs. */
  async createDueRuns(loaded: LoadedDag): Promise<number> {
    const { store } = this.engine;
    const dagId = loaded.summary.dagId;
    const room =
      loaded.summary.maxActiveRuns - (await store.activeRunCount(dagId)) - (await store.queuedRunCount(dagId));
    if (room <= 0) return 0;
    const last = await store.lastScheduled(dagId);
    let created = 0;
    for (const interval of dueIntervals(loaded.schedule, last, this.now(), room)) {
      const runId = scheduledRunId(interval.start);
      if (await this.engine.createRun(loaded, { runId, runType: 'scheduled', ...interval })) {
        created++;
        schedulerLag.observe({ dag_id: dagId }, Math.max(0, this.now().getTime() - interval.end.getTime()) / 1_000);
      }
      await store.recordScheduled(dagId, interval.start);
    }
    return created;
  }

  /** Repairs what a crash can leave behind in the DAG's running runs, and enforces run timeouts. */
  async reconcile(loaded: LoadedDag): Promise<void> {
    const { store } = this.engine;
    const dagId = loaded.summary.dagId;
    const staleBefore = Date.now() - (this.options.reconcileAfterMs ?? 15_000);
    for (const runId of await store.activeRunIds(dagId)) {
      const run = await store.getRun(dagId, runId);
      if (!run || run.state !== 'running') continue;
      const timeout = loaded.dagRunTimeoutMs;
      if (timeout !== undefined && run.startedAt && Date.now() - Date.parse(run.startedAt) > timeout) {
        await this.engine.finishRun(loaded, run, 'failed', `dagRunTimeout of ${timeout} ms exceeded`);
        continue;
      }
      const snapshot = await store.snapshot(dagId, runId);
      for (const [taskId, ti] of Object.entries(snapshot)) {
        if (ti.state === 'none' || isTerminal(ti.state)) continue;
        if ((ti.startedAt ?? ti.queuedAt ?? 0) > staleBefore) continue;
        const task = loaded.tasks.get(taskId);
        if (!task) continue;
        const queue = this.engine.queue(task.spec.queue ?? 'default');
        const job = await queue.getJob(Engine.jobId(dagId, runId, taskId, ti.generation));
        if (!job) {
          withLogContext(this.engine.log, { dagId, runId, taskId }).warn(
            `reconcile: ${dagId} ${runId} ${taskId} had no queue job; adding it again`,
          );
          await this.engine.enqueue(loaded, run, taskId, ti);
        } else if ((await job.getState()) === 'failed') {
          const reason = /stalled more than/.test(job.failedReason)
            ? `its worker died or stalled more than the allowed number of times (${job.failedReason})`
            : job.failedReason;
          const outcome = await store.transition(dagId, runId, [
            {
              task: taskId,
              from: [ti.state],
              generation: ti.generation,
              set: { state: 'failed', endedAt: Date.now(), error: reason },
            },
          ]);
          if (outcome.results[0] === 'ok') await this.engine.advance(loaded, run);
        }
      }
      await this.engine.advance(loaded, run);
    }
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.options.tickMs ?? 2_000);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
