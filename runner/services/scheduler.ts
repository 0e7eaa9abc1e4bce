/**
 * `runway scheduler`: creates DAG runs as their data intervals end, starts queued runs within each
 * DAG's max active runs, and reconciles running runs (lost queue jobs, tasks whose worker died too
 * often, run timeouts). A pass touches only the DAGs that are due or have queued or running runs
 * (see `ScheduleIndex`), so an idle pass costs the same with 10 DAGs or 2,000. Any number of
 * schedulers may run against one Redis: run ids are deterministic and every change is a
 * compare-and-set, so nothing is created or started twice.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import { dueIntervals, lastInterval, nextRunDueAt, scheduledRunId, type DataInterval } from '../core/data-interval.ts';
import { Engine } from '../state/engine.ts';
import { ScheduleIndex, type DagSchedulingState, type PendingDags } from '../state/schedule-index.ts';
import { schedulerLag } from './metrics.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { describeRedisError } from '../redis/redis-errors.ts';
import { withLogContext } from '../core/operator.ts';
import { eachLimit } from '../core/each-limit.ts';
import { DEFAULT_KEEP_RUNS, DEFAULT_RETENTION_DAYS } from '../core/retention.ts';

/** How long a DAG this scheduler does not load stays out of its passes. */
const UNKNOWN_DAG_RETRY_MS = 60_000;

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
   * Finished runs kept per DAG, the latest by logical date; older ones are deleted with their logs
   * even if younger than `retentionDays`. A DAG's `keepRuns` option overrides it.
   * @defaultValue DEFAULT_KEEP_RUNS
   */
  retentionRuns?: number;
  /** Time between retention passes, which run apart from scheduling passes. @defaultValue 3_600_000 */
  retentionEveryMs?: number;
  /**
   * After a pass finds a DAG with no queued or running run and no run due before the next one,
   * passes within this much real time skip it without reading Redis, even if a run is triggered
   * meanwhile. Below `tickMs` by default, so timed passes always see a triggered run; passes run
   * back to back (a catch-up burst, a simulated clock) skip quiet DAGs. 0 turns it off.
   * @defaultValue min(1_000, tickMs / 2)
   */
  quietMs?: number;
  /** DAGs a pass handles at once (their Redis calls share the connection's pipeline). @defaultValue 32 */
  concurrency?: number;
}

/** What a pass learnt about a quiet DAG: nothing to do before `dueAt` (clock time), if read again before `until` (real time). */
interface Quiet {
  schedule: LoadedDag['schedule'];
  dueAt: number;
  until: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private retaining: Promise<unknown> | undefined;
  private retentionFailed = false;
  private stopped = false;
  private readonly now: () => Date;
  private readonly quiet = new Map<string, Quiet>();
  private readonly quietMs: number;
  private readonly index: ScheduleIndex;
  /** The registry's version and DAG objects this scheduler last put in the due set (-1: none yet). */
  private seenVersion = -1;
  private readonly seen = new Map<string, LoadedDag>();

  constructor(
    private readonly engine: Engine,
    private readonly options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.quietMs = options.quietMs ?? Math.min(1_000, (options.tickMs ?? 2_000) / 2);
    this.index = new ScheduleIndex(engine.redis, engine.store);
  }

  /**
   * One pass: handles the DAGs that are due and those with queued or running runs, nothing else.
   * Resolves to the number of runs it created. The first pass of a scheduler makes every DAG it
   * has due, so the index is rebuilt from what this deployment declares.
   */
  async tick(): Promise<number> {
    let pending: PendingDags;
    // Redis unreachable or refusing: this pass does nothing, the next one tries again.
    try {
      await this.syncRegistry();
    } catch (error) {
      this.engine.log.error(`scheduler: recording the DAGs' due times: ${describeRedisError(error)}`);
      return 0;
    }
    try {
      pending = await this.index.pending(this.now().getTime());
    } catch (error) {
      this.engine.log.error(`scheduler: reading the due and busy DAGs: ${describeRedisError(error)}`);
      return 0;
    }
    const dagIds = new Set([...pending.due, ...pending.busy]);
    let created = 0;
    await eachLimit([...dagIds], this.options.concurrency ?? 32, async (dagId) => {
      try {
        const made = await this.handle(dagId);
        created += made;
      } catch (error) {
        withLogContext(this.engine.log, { dagId }).error(`scheduler: DAG ${dagId}: ${describeRedisError(error)}`);
      }
    });
    return created;
  }

  /**
   * Puts new and changed DAGs in the due set, and takes out retired ones: nothing to do (and no
   * Redis call) while the registry has not moved.
   */
  private async syncRegistry(): Promise<void> {
    const { registry } = this.engine;
    const version = registry.version;
    if (version === this.seenVersion) return;
    const current = registry.list();
    const changed = current.filter((loaded) => this.seen.get(loaded.summary.dagId) !== loaded);
    const retired = [...this.seen.keys()].filter((id) => registry.isRetired(id) || !registry.get(id));
    await this.index.markDue(changed.map((loaded) => loaded.summary.dagId));
    await this.index.forget(retired);
    // Only once Redis has them: a failed write is retried by the next pass.
    for (const loaded of changed) this.seen.set(loaded.summary.dagId, loaded);
    for (const dagId of retired) this.seen.delete(dagId);
    this.seenVersion = version;
  }

  /** Creates the DAG's due runs, starts its queued ones, reconciles its running ones; returns the runs created. */
  private async handle(dagId: string): Promise<number> {
    const { registry } = this.engine;
    const loaded = registry.get(dagId);
    // A DAG this scheduler does not load: another deployment's (a rolling update), or one removed
    // while no scheduler ran. Left to schedulers that load it, but looked at again only a minute
    // later, so that a stale entry does not make every pass longer.
    if (!loaded) {
      await this.index.postpone(dagId, this.now().getTime() + UNKNOWN_DAG_RETRY_MS);
      return 0;
    }
    // A DAG removed from the deployment gets no new runs, but the ones it has still finish.
    if (registry.isRetired(dagId)) {
      await this.reconcile(loaded);
      return 0;
    }
    if (this.isQuiet(loaded)) return 0;
    const pausedOnCreation = loaded.summary.pausedOnCreation;
    const state = await this.index.read(dagId, pausedOnCreation);
    if (state.paused) {
      this.quiet.delete(dagId);
      await this.index.settle(dagId, pausedOnCreation, 0);
      return 0;
    }
    const { created, last } = await this.createDueRuns(loaded, state);
    if (state.queued + created > 0) await this.engine.startQueuedRuns(loaded);
    if (state.active > 0) await this.reconcile(loaded);
    const dueAt = nextRunDueAt(loaded.schedule, last, this.now())?.getTime();
    const busy = await this.index.settle(dagId, pausedOnCreation, dueAt);
    if (!busy && this.quietMs > 0) {
      this.quiet.set(dagId, {
        schedule: loaded.schedule,
        dueAt: dueAt ?? Number.POSITIVE_INFINITY,
        until: performance.now() + this.quietMs,
      });
    }
    return created;
  }

  /** True while what the last pass learnt about the DAG still holds (see `quietMs`). */
  private isQuiet(loaded: LoadedDag): boolean {
    const quiet = this.quiet.get(loaded.summary.dagId);
    if (!quiet) return false;
    if (quiet.schedule === loaded.schedule && this.now().getTime() < quiet.dueAt && performance.now() < quiet.until)
      return true;
    this.quiet.delete(loaded.summary.dagId);
    return false;
  }

  /** Applies the retention to every DAG; runs in its own slow loop, never in a scheduling pass. */
  async applyRetentionToAll(): Promise<number> {
    let deleted = 0;
    this.retentionFailed = false;
    for (const loaded of this.engine.registry.list()) {
      // A DAG whose retention fails (Redis refusing writes, say) must stop neither the scheduler nor
      // the other DAGs' retention: it is logged, and the whole pass is made again soon.
      try {
        deleted += await this.applyRetention(loaded.summary.dagId);
      } catch (error) {
        this.retentionFailed = true;
        this.engine.log.error(
          `scheduler: retention of DAG ${loaded.summary.dagId}: ${describeRedisError(error)} (tried again shortly)`,
        );
      }
    }
    return deleted;
  }

  /**
   * Deletes the DAG's runs that ended more than the retention period ago, then those beyond the
   * count it keeps. History ages from a run's end, not its logical date: a backfill of last year is
   * kept for the whole period after it ran (unless the DAG has more runs than it keeps).
   */
  async applyRetention(dagId: string): Promise<number> {
    const days = this.options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const aged = await this.engine.store.deleteRunsBefore(dagId, new Date(this.now().getTime() - days * 86_400_000));
    if (aged > 0)
      this.engine.log.info(`retention: deleted ${aged} run(s) of ${dagId} that ended over ${days} days ago`);
    const keep =
      this.engine.registry.get(dagId)?.dag.options.keepRuns ?? this.options.retentionRuns ?? DEFAULT_KEEP_RUNS;
    const counted = await this.engine.store.deleteRunsBeyond(dagId, keep);
    if (counted > 0) this.engine.log.info(`retention: deleted ${counted} run(s) of ${dagId} beyond its latest ${keep}`);
    await this.engine.store.recountRuns(dagId);
    return aged + counted;
  }

  /**
   * Creates the runs whose interval has ended, oldest first, up to the DAG's max active runs.
   * Returns how many it created and the last interval scheduled since.
   */
  async createDueRuns(
    loaded: LoadedDag,
    state?: DagSchedulingState,
  ): Promise<{ created: number; last: DataInterval | undefined }> {
    const { store } = this.engine;
    const dagId = loaded.summary.dagId;
    const known = state ?? (await this.index.read(dagId, loaded.summary.pausedOnCreation));
    let last = lastInterval(loaded.schedule, known.lastStart, known.lastEnd);
    const room = loaded.summary.maxActiveRuns - known.active - known.queued;
    if (room <= 0) return { created: 0, last };
    let created = 0;
    for (const interval of dueIntervals(loaded.schedule, last, this.now(), room)) {
      const runId = scheduledRunId(interval.start);
      if (await this.engine.createRun(loaded, { runId, runType: 'scheduled', ...interval })) {
        created++;
        schedulerLag.observe({ dag_id: dagId }, Math.max(0, this.now().getTime() - interval.end.getTime()) / 1_000);
      }
      await store.recordScheduled(dagId, interval);
      last = interval;
    }
    return { created, last };
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
    this.startRetention();
  }

  /** Retention's own loop: once at start, then every `retentionEveryMs`, after the previous one ended. */
  private startRetention(): void {
    const loop = () => {
      if (this.stopped) return;
      this.retaining = this.applyRetentionToAll()
        .catch((error: unknown) => {
          this.retentionFailed = true;
          this.engine.log.error(`scheduler: retention: ${describeRedisError(error)}`);
        })
        .finally(() => {
          const every = this.options.retentionEveryMs ?? 3_600_000;
          // After a failure, again in half a minute rather than an hour (not every pass: a lasting
          // refusal would otherwise re-read every run of every DAG each tick).
          const wait = this.retentionFailed ? Math.min(every, 30_000) : every;
          if (!this.stopped) this.retentionTimer = setTimeout(loop, wait);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retentionTimer) clearTimeout(this.retentionTimer);
    await Promise.all([this.running, this.retaining]);
  }
}
