/**
 * `runway scheduler`: creates DAG runs as their data intervals end, starts queued runs within each
 * DAG's max active runs, and reconciles running runs (lost queue jobs, tasks whose worker died too
 * often, run timeouts). Any number of schedulers may run against one Redis: run ids are
 * deterministic and every change is a compare-and-set, so nothing is created or started twice.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import { dueIntervals, lastInterval, nextRunDueAt, scheduledRunId } from '../core/data-interval.ts';
import { Engine } from '../state/engine.ts';
import { schedulerLag } from './metrics.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { describeRedisError } from '../redis/redis-errors.ts';
import { withLogContext } from '../core/operator.ts';

export interface SchedulerOptions {
  /** Time between passes. @defaultValue 2_000 */
  tickMs?: number;
  /** A task instance scheduled or running this long without a live queue job is repaired. @defaultValue 15_000 */
  reconcileAfterMs?: number;
  /** The clock; tests and benchmarks inject one. @defaultValue () => new Date() */
  now?: () => Date;
  /** Runs that ended more than this many days ago are deleted, with their logs. @defaultValue 30 */
  retentionDays?: number;
  /**
   * After a full pass finds a DAG with no queued or running run and no run due before the next
   * one, passes within this much real time skip it without reading Redis. Below `tickMs` by
   * default, so timed passes always read everything; passes run back to back (a catch-up burst, a
   * simulated clock) skip quiet DAGs. 0 turns it off. @defaultValue min(1_000, tickMs / 2)
   */
  quietMs?: number;
}

/** What a full pass learnt about a quiet DAG: nothing to do before `dueAt` (clock time), if read again before `until` (real time). */
interface Quiet {
  schedule: LoadedDag['schedule'];
  dueAt: number;
  until: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private lastRetentionAt = 0;
  private readonly now: () => Date;
  private readonly quiet = new Map<string, Quiet>();
  private readonly quietMs: number;

  constructor(
    private readonly engine: Engine,
    private readonly options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.quietMs = options.quietMs ?? Math.min(1_000, (options.tickMs ?? 2_000) / 2);
  }

  /** One pass over every DAG; resolves to the number of runs it created. */
  async tick(): Promise<number> {
    let created = 0;
    const applyRetention = Date.now() - this.lastRetentionAt > 3_600_000;
    if (applyRetention) this.lastRetentionAt = Date.now();
    for (const loaded of this.engine.registry.list()) {
      // A failed retention pass (Redis refusing writes, say) must not stop the scheduler or the
      // DAG's runs: it is logged and made again at the next pass.
      if (applyRetention) {
        try {
          await this.applyRetention(loaded.summary.dagId);
        } catch (error) {
          this.lastRetentionAt = 0;
          this.engine.log.error(
            `scheduler: retention of DAG ${loaded.summary.dagId}: ${describeRedisError(error)} (tried again next pass)`,
          );
        }
      }
      if (this.isQuiet(loaded)) continue;
      try {
        if (await this.engine.store.isPaused(loaded.summary.dagId, loaded.summary.pausedOnCreation)) continue;
        created += await this.createDueRuns(loaded);
        await this.engine.startQueuedRuns(loaded);
        await this.reconcile(loaded);
        await this.noteQuiet(loaded);
      } catch (error) {
        withLogContext(this.engine.log, { dagId: loaded.summary.dagId }).error(
          `scheduler: DAG ${loaded.summary.dagId}: ${describeRedisError(error)}`,
        );
      }
    }
    // A DAG removed from the deployment gets no new runs, but the ones it has still finish.
    for (const loaded of this.engine.registry.retired()) {
      try {
        await this.reconcile(loaded);
      } catch (error) {
        withLogContext(this.engine.log, { dagId: loaded.summary.dagId }).error(
          `scheduler: DAG ${loaded.summary.dagId}: ${describeRedisError(error)}`,
        );
      }
    }
    return created;
  }

  /** True while what the last full pass learnt about the DAG still holds (see `quietMs`). */
  private isQuiet(loaded: LoadedDag): boolean {
    const quiet = this.quiet.get(loaded.summary.dagId);
    if (!quiet) return false;
    if (quiet.schedule === loaded.schedule && this.now().getTime() < quiet.dueAt && performance.now() < quiet.until)
      return true;
    this.quiet.delete(loaded.summary.dagId);
    return false;
  }

  /** After a full pass: remembers a DAG with no queued or running run until its next run is due. */
  private async noteQuiet(loaded: LoadedDag): Promise<void> {
    const { store } = this.engine;
    const dagId = loaded.summary.dagId;
    if (this.quietMs <= 0) return;
    if ((await store.activeRunCount(dagId)) > 0 || (await store.queuedRunCount(dagId)) > 0) return;
    const last = await store.lastScheduledInterval(dagId);
    const dueAt = nextRunDueAt(loaded.schedule, lastInterval(loaded.schedule, last.start, last.end), this.now());
    this.quiet.set(dagId, {
      schedule: loaded.schedule,
      dueAt: dueAt?.getTime() ?? Number.POSITIVE_INFINITY,
      until: performance.now() + this.quietMs,
    });
  }

  /**
   * Deletes the DAG's runs that ended more than the retention period ago. History ages from a run's
   * end, not its logical date: a backfill of last year is kept for the whole period after it ran.
   */
  async applyRetention(dagId: string): Promise<number> {
    const days = this.options.retentionDays ?? 30;
    const deleted = await this.engine.store.deleteRunsBefore(dagId, new Date(this.now().getTime() - days * 86_400_000));
    if (deleted > 0)
      this.engine.log.info(`retention: deleted ${deleted} run(s) of ${dagId} that ended over ${days} days ago`);
    return deleted;
  }

  /** Creates the runs whose interval has ended, oldest first, up to the DAG's max active runs. */
  async createDueRuns(loaded: LoadedDag): Promise<number> {
    const { store } = this.engine;
    const dagId = loaded.summary.dagId;
    const room =
      loaded.summary.maxActiveRuns - (await store.activeRunCount(dagId)) - (await store.queuedRunCount(dagId));
    if (room <= 0) return 0;
    const kept = await store.lastScheduledInterval(dagId);
    const last = lastInterval(loaded.schedule, kept.start, kept.end);
    let created = 0;
    for (const interval of dueIntervals(loaded.schedule, last, this.now(), room)) {
      const runId = scheduledRunId(interval.start);
      if (await this.engine.createRun(loaded, { runId, runType: 'scheduled', ...interval })) {
        created++;
        schedulerLag.observe({ dag_id: dagId }, Math.max(0, this.now().getTime() - interval.end.getTime()) / 1_000);
      }
      await store.recordScheduled(dagId, interval);
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
      // tick() handles each DAG's errors; this catch is the last guard of the loop itself.
      this.running = this.tick()
        .catch((error: unknown) => this.engine.log.error(`scheduler: pass failed: ${describeRedisError(error)}`))
        .finally(() => {
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
