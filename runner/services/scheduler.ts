/**
 * `runway scheduler`: creates DAG runs as their data intervals end, starts queued runs within each
 * DAG's max active runs, and reconciles running runs (lost queue jobs, tasks whose worker died too
 * often, run timeouts). A pass touches only the DAGs that are due or have queued or running runs
 * (see `ScheduleIndex`), so an idle pass costs the same with 10 DAGs or 2,000; due DAGs are
 * handled in batches (`DueRuns`). Any number of schedulers may run against one Redis: they share
 * the DAGs by rendezvous hashing over the live ones (`SchedulerMembership`, `core/dag-partition.ts`),
 * and take over a dead one's DAGs once its heartbeat lapses. Run ids are deterministic and every
 * change is a compare-and-set, so two schedulers that briefly both think a DAG theirs (while
 * membership changes) still create and start each run once.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import { dueIntervals, lastInterval, nextRunDueAt, scheduledRunId, type DataInterval } from '../core/data-interval.ts';
import { Engine, statesOf } from '../state/engine.ts';
import { ScheduleIndex, type DagSchedulingState, type PendingDags } from '../state/schedule-index.ts';
import { schedulerDagsHandled, schedulerLag, schedulersLive } from './metrics.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { decideTransitions } from '../core/run-advance.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { describeRedisError } from '../redis/redis-errors.ts';
import { withLogContext } from '../core/operator.ts';
import { eachLimit } from '../core/each-limit.ts';
import { ownerOf } from '../core/dag-partition.ts';
import { DUE_BATCH, DueRuns, type DueDagOutcome, type RootJob } from '../state/due-runs.ts';
import { SchedulerMembership } from '../state/scheduler-membership.ts';

/** Root task jobs added in one bulk add (one MULTI): a boundary's thousands are cut up. */
const ROOT_JOBS_PER_ADD = 500;

/** DAGs whose running runs are read in one go when reconciling. */
const RECONCILE_BATCH = 256;
import { DEFAULT_KEEP_RUNS, DEFAULT_RETENTION_DAYS } from '../core/retention.ts';
import { parseInstanceKey } from '../core/task-mapping.ts';
import { settleMappedTask } from '../state/mapped-instances.ts';
import { AssetTrigger } from './asset-trigger.ts';
import { fireDueDeadlines } from './deadline-alerts.ts';

/** How long after a DAG's due time its pass starts: a timer can fire a little early. */
const DUE_MARGIN_MS = 2;

/** A due time this many ticks away or less is waited for rather than met by a pass just before it. */
const DUE_WAIT_TICKS = 1.5;

/** How long a DAG this scheduler does not load stays out of its passes. */
const UNKNOWN_DAG_RETRY_MS = 60_000;

export interface SchedulerOptions {
  /**
   * Time between passes; a pass also starts as soon as the next DAG is due (so a run is created at
   * its interval's end, not up to a tick later), and a due time less than half a tick after the tick
   * is waited for (so at most 1.5 ticks between passes). @defaultValue 2_000
   */
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
  /**
   * A scheduler unheard of this long is taken for gone, and the others take its DAGs: a DAG of a
   * scheduler that dies waits at most this, one heartbeat (a quarter of it) and 1.5 ticks.
   * @defaultValue 10_000
   */
  membershipTtlMs?: number;
  /**
   * After a run passes its `dagRunTimeout`, how long its teardowns may still take before the run
   * ends `failed` without waiting for them. @defaultValue TEARDOWN_GRACE_MS (10 minutes)
   */
  teardownGraceMs?: number;
}

/** How long the teardowns of a run past its `dagRunTimeout` may take, by default. */
export const TEARDOWN_GRACE_MS = 600_000;

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
  /** The earliest due time after the last pass began (scheduler clock, ms): the next pass starts then. */
  private nextDueAt: number | undefined;
  private readonly quietMs: number;
  private readonly index: ScheduleIndex;
  /** The registry's version and DAG objects this scheduler last put in the due set (-1: none yet). */
  private seenVersion = -1;
  private readonly seen = new Map<string, LoadedDag>();
  private readonly dueRuns: DueRuns;
  readonly membership: SchedulerMembership;
  /** Asset-scheduled DAGs are looked at every pass (their runs come from events, not the clock). */
  private readonly assets: AssetTrigger;

  constructor(
    private readonly engine: Engine,
    private readonly options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.quietMs = options.quietMs ?? Math.min(1_000, (options.tickMs ?? 2_000) / 2);
    this.index = new ScheduleIndex(engine.redis, engine.store);
    this.dueRuns = new DueRuns(engine);
    this.assets = new AssetTrigger(engine);
    // A lasting refusal (a full Redis) would otherwise log the same line every heartbeat.
    let lastBeatError = '';
    this.membership = new SchedulerMembership(engine.redis, engine.store.key('schedulers'), {
      ...(options.membershipTtlMs === undefined ? {} : { ttlMs: options.membershipTtlMs }),
      onError: (error) => {
        const message = describeRedisError(error);
        if (message === lastBeatError) return;
        lastBeatError = message;
        engine.log.warn(`scheduler: heartbeat not written: ${message} (tried again shortly)`);
      },
      onChange: (members) => {
        schedulersLive.set(members.length);
        engine.log.info(
          `scheduler ${this.membership.id}: ${members.length} live scheduler(s) share the DAGs: ${members.join(', ')}`,
        );
      },
    });
  }

  /** Whether this scheduler handles the DAG now, among the live schedulers it last heard of. */
  private owns(dagId: string, members: readonly string[]): boolean {
    return members.length === 1 || ownerOf(dagId, members) === this.membership.id;
  }

  /**
   * One pass: handles the DAGs that are due and those with queued or running runs, nothing else.
   * Resolves to the number of runs it created. The first pass of a scheduler makes every DAG it
   * has due, so the index is rebuilt from what this deployment declares.
   */
  async tick(): Promise<number> {
    let pending: PendingDags;
    this.nextDueAt = undefined;
    // Redis unreachable or refusing: this pass does nothing, the next one tries again.
    try {
      await this.syncRegistry();
    } catch (error) {
      this.engine.log.error(`scheduler: recording the DAGs' due times: ${describeRedisError(error)}`);
      return 0;
    }
    // Due times are read after this instant: a DAG that falls due while the pass runs (after it
    // read what was due) gets the next pass at once; one due before, that this pass leaves (another
    // scheduler's), does not make passes back to back.
    const passStart = this.now().getTime();
    try {
      pending = await this.index.pending(passStart);
      this.nextDueAt = pending.nextDueAt;
    } catch (error) {
      this.engine.log.error(`scheduler: reading the due and busy DAGs: ${describeRedisError(error)}`);
      return 0;
    }
    const members = this.membership.members();
    const { registry } = this.engine;
    // Due DAGs go in batches, busy ones that are not due too (`busyOnly`); the others (not loaded
    // here, retired, quiet) one by one.
    const batched: LoadedDag[] = [];
    const single = new Set<string>();
    for (const dagId of pending.due) {
      if (!this.owns(dagId, members)) continue;
      const loaded = registry.get(dagId);
      if (loaded && !registry.isRetired(dagId) && !this.isQuiet(loaded)) batched.push(loaded);
      else single.add(dagId);
    }
    const inBatch = new Set(batched.map((loaded) => loaded.summary.dagId));
    const busyOnly: LoadedDag[] = [];
    for (const dagId of pending.busy) {
      if (inBatch.has(dagId) || single.has(dagId) || !this.owns(dagId, members)) continue;
      const loaded = registry.get(dagId);
      if (loaded && !registry.isRetired(dagId)) busyOnly.push(loaded);
      else single.add(dagId);
    }
    for (const dagId of [...inBatch, ...single]) schedulerDagsHandled.inc({ dag_id: dagId });
    for (const loaded of busyOnly) schedulerDagsHandled.inc({ dag_id: loaded.summary.dagId });

    let created = await this.assets.checkAll();
    const reconcileAfter: LoadedDag[] = [];
    const batches = Array.from({ length: Math.ceil(batched.length / DUE_BATCH) }, (_, i) =>
      batched.slice(i * DUE_BATCH, (i + 1) * DUE_BATCH),
    );
    await eachLimit(batches, 4, async (batch) => {
      try {
        const { outcomes, jobs } = await this.dueRuns.createAndStart(batch, this.now());
        for (const outcome of outcomes) {
          created += this.settled(outcome);
          if (outcome.activeBefore > 0) reconcileAfter.push(registry.get(outcome.dagId)!);
        }
        await this.queueRoots(jobs);
      } catch (error) {
        const ids = batch.map((loaded) => loaded.summary.dagId);
        this.engine.log.error(
          `scheduler: creating the due runs of ${ids.length} DAG(s) (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}): ${describeRedisError(error)}`,
        );
      }
    });
    for (let first = 0; first < busyOnly.length; first += RECONCILE_BATCH) {
      const batch = busyOnly.slice(first, first + RECONCILE_BATCH);
      try {
        await this.sortBusy(batch, single, reconcileAfter);
      } catch (error) {
        this.engine.log.error(
          `scheduler: reading the run counts of ${batch.length} DAG(s) (${batch[0]!.summary.dagId}, …): ${describeRedisError(error)}`,
        );
      }
    }
    await eachLimit([...single], this.options.concurrency ?? 32, async (dagId) => {
      try {
        created += await this.handle(dagId, reconcileAfter);
      } catch (error) {
        withLogContext(this.engine.log, { dagId }).error(`scheduler: DAG ${dagId}: ${describeRedisError(error)}`);
      }
    });
    for (let first = 0; first < reconcileAfter.length; first += RECONCILE_BATCH) {
      const batch = reconcileAfter.slice(first, first + RECONCILE_BATCH);
      try {
        await this.reconcileMany(batch);
      } catch (error) {
        this.engine.log.error(
          `scheduler: reading the running runs of ${batch.length} DAG(s) (${batch[0]!.summary.dagId}, …): ${describeRedisError(error)}`,
        );
      }
    }
    try {
      await fireDueDeadlines(this.engine, this.now());
    } catch (error) {
      this.engine.log.error(`scheduler: deadline alerts: ${describeRedisError(error)}`);
    }
    // A pass that created runs or settled DAGs moved due times (a first pass makes every DAG due at
    // once): the next due time read before it is stale. A pass that only read keeps it.
    if (batched.length > 0 || single.size > 0) {
      try {
        this.nextDueAt = await this.index.nextDueAfter(passStart);
      } catch (error) {
        this.nextDueAt = undefined;
        this.engine.log.error(
          `scheduler: reading the next due time: ${describeRedisError(error)} (next pass in a tick)`,
        );
      }
    }
    return created;
  }

  /**
   * Busy DAGs that are not due have no run to create: no schedule arithmetic and no settle for
   * them, only their counts read in one round trip. A DAG with running runs is reconciled with the
   * others; one with a queued run that may start, a paused one, or one that has nothing queued or
   * running any more takes the one-DAG path (`handle`), as before.
   */
  private async sortBusy(dags: readonly LoadedDag[], single: Set<string>, reconcileAfter: LoadedDag[]): Promise<void> {
    const states = await this.index.readMany(
      dags.map((loaded) => ({ dagId: loaded.summary.dagId, pausedOnCreation: loaded.summary.pausedOnCreation })),
    );
    for (const [i, loaded] of dags.entries()) {
      const { paused, active, queued } = states[i]!;
      const mayStart = queued > 0 && active < loaded.summary.maxActiveRuns;
      if (paused || mayStart || active + queued === 0) single.add(loaded.summary.dagId);
      else reconcileAfter.push(loaded);
    }
  }

  /** Records what a batch did for one DAG (lag metrics, quiet); returns the runs it created. */
  /**
   * Adds the root jobs of a batch of new runs as soon as the batch is created, so that workers start
   * on the first runs while the pass creates the others. (Measured on a quiet 2-core machine at 2,000
   * DAGs: start lag p50 1.0-2.0 s against 2.0-2.5 s when the roots waited for the whole pass, the
   * creation lag unchanged. Under a load of 20 it had looked the other way round.)
   */
  private async queueRoots(jobs: readonly RootJob[]): Promise<void> {
    for (let first = 0; first < jobs.length; first += ROOT_JOBS_PER_ADD) {
      try {
        await this.engine.enqueueAcrossRuns(jobs.slice(first, first + ROOT_JOBS_PER_ADD));
      } catch (error) {
        this.engine.log.error(
          `scheduler: queueing the first tasks of new runs: ${describeRedisError(error)} (added again by reconciliation)`,
        );
      }
    }
  }

  private settled(outcome: DueDagOutcome): number {
    const { dagId } = outcome;
    const now = this.now().getTime();
    for (const interval of outcome.created) {
      schedulerLag.observe({ dag_id: dagId }, Math.max(0, now - interval.end.getTime()) / 1_000);
    }
    if (outcome.paused || outcome.busy || this.quietMs <= 0) {
      this.quiet.delete(dagId);
    } else {
      this.quiet.set(dagId, {
        schedule: this.engine.registry.get(dagId)!.schedule,
        dueAt: outcome.nextDueAt ?? Number.POSITIVE_INFINITY,
        until: performance.now() + this.quietMs,
      });
    }
    return outcome.created.length;
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
  private async handle(dagId: string, reconcileLater: LoadedDag[]): Promise<number> {
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
      reconcileLater.push(loaded);
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
    if (state.active > 0) reconcileLater.push(loaded);
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
    const members = this.membership.members();
    for (const loaded of this.engine.registry.list()) {
      if (!this.owns(loaded.summary.dagId, members)) continue;
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
    const keep = this.engine.registry.get(dagId)?.summary.keepRuns ?? this.options.retentionRuns ?? DEFAULT_KEEP_RUNS;
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
    await this.reconcileMany([loaded]);
  }

  /**
   * `reconcile` for many DAGs: their running runs and task instances are read in two round trips,
   * and only a run that needs something (a timeout, a stale task, a task to decide, its end) costs
   * more. A run's failure is logged and leaves the others to go on.
   */
  async reconcileMany(dags: readonly LoadedDag[]): Promise<void> {
    const byId = new Map(dags.map((loaded) => [loaded.summary.dagId, loaded]));
    const active = await this.index.activeRuns([...byId.keys()]);
    await eachLimit(active, this.options.concurrency ?? 32, async ({ dagId, run, snapshot }) => {
      try {
        await this.reconcileRun(byId.get(dagId)!, run, snapshot);
      } catch (error) {
        withLogContext(this.engine.log, { dagId, runId: run.runId }).error(
          `scheduler: reconciling ${dagId} ${run.runId}: ${describeRedisError(error)}`,
        );
      }
    });
  }

  private async reconcileRun(
    loaded: LoadedDag,
    run: DagRunRecord,
    snapshot: Record<string, TaskInstanceRecord>,
  ): Promise<void> {
    const { store } = this.engine;
    const { dagId, runId } = run;
    if (run.state !== 'running') return;
    const timeout = loaded.dagRunTimeoutMs;
    if (run.timedOutAt) {
      const grace = this.options.teardownGraceMs ?? TEARDOWN_GRACE_MS;
      if (Date.now() - Date.parse(run.timedOutAt) > grace) {
        const reason = `dagRunTimeout of ${timeout ?? '?'} ms exceeded, and its teardowns did not end within ${grace} ms after`;
        await this.engine.finishRun(loaded, run, 'failed', reason);
        return;
      }
      // Skips what a worker scheduled as the run timed out; the repairs below go on for its teardowns.
      await this.engine.timeOutRun(loaded, run);
    } else if (timeout !== undefined && run.startedAt && Date.now() - Date.parse(run.startedAt) > timeout) {
      await this.engine.timeOutRun(loaded, run);
      return;
    }
    const staleBefore = Date.now() - (this.options.reconcileAfterMs ?? 15_000);
    for (const [taskId, ti] of Object.entries(snapshot)) {
      if (ti.state === 'none' || isTerminal(ti.state)) continue;
      if ((ti.startedAt ?? ti.queuedAt ?? 0) > staleBefore) continue;
      const task = loaded.taskSummaries.get(parseInstanceKey(taskId).taskId);
      if (!task) continue;
      if (task.maxMapLength !== undefined && taskId === task.id) {
        // A mapped task has no queue job of its own: its indexes do. A crash after its last
        // index ended can leave it unsettled.
        await settleMappedTask(this.engine, loaded, run, taskId);
        continue;
      }
      const queue = this.engine.queue(task.queue ?? 'default');
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
    // Advancing reads the run again: only when what was read shows a task to decide, or every task ended.
    const states = statesOf(snapshot);
    const ended = loaded.graph.every((task) => isTerminal(states[task.id] ?? 'none'));
    if (ended || decideTransitions(loaded.graph, states).size > 0) await this.engine.advance(loaded, run);
  }

  /** Joins the live schedulers, then passes: the first pass waits for the first heartbeat, so it takes only its share. */
  start(): void {
    this.stopped = false;
    const joined = this.membership.start();
    const loop = () => {
      if (this.stopped) return;
      // tick() handles each DAG's errors; this catch is the last guard of the loop itself.
      this.running = joined
        .then(() => this.tick())
        .catch((error: unknown) => this.engine.log.error(`scheduler: pass failed: ${describeRedisError(error)}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.untilNextPass());
        });
    };
    loop();
    void joined.then(() => this.startRetention());
  }

  /**
   * A tick, or until a DAG falls due if sooner: a pass then starts just after its due time (timers
   * may fire a millisecond early, and a pass at that instant would find nothing due yet). A due time
   * less than half a tick after the tick is waited for instead: a pass a few milliseconds before it
   * would find nothing due, and its reconciling of running runs would hold up the due pass.
   */
  private untilNextPass(): number {
    const tickMs = this.options.tickMs ?? 2_000;
    if (this.nextDueAt === undefined) return tickMs;
    const untilDue = Math.max(0, this.nextDueAt - this.now().getTime() + DUE_MARGIN_MS);
    return untilDue < tickMs * DUE_WAIT_TICKS ? untilDue : tickMs;
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
    // Only once no pass runs: the others take this scheduler's DAGs on their next heartbeat.
    await this.membership.stop();
  }
}
