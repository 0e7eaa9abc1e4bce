/**
 * What lets a scheduler pass cost what is due, not what exists: a sorted set of each DAG's next due
 * time (`due-dags`, scored in the scheduler's clock) and the set of DAGs with a queued or running
 * run (`busy-dags`, kept by the run store's scripts). A pass reads both in one round trip and
 * touches only the DAGs they name; a DAG it touches costs one pipelined read and one script.
 * Keys share the run store's hash tag, so this works on Redis Cluster too.
 */
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { RunStore } from './run-store.ts';
import { decodeRunRecord } from './run-record-json.ts';

// KEYS: dag settings, due set, active set, queued index, busy DAGs.
// ARGV: dagId, paused when the DAG has no setting ('1' / '0'), next due time ('' = never).
// A paused DAG leaves the due set (unpausing puts it back); the check is here, not in the caller,
// so that an unpause landing between the caller's read and this write is not lost. Returns 1 if
// the DAG still has a queued or running run.
const SETTLE = `
local paused = redis.call('HGET', KEYS[1], 'paused')
if not paused then paused = ARGV[2] end
if paused == '1' or ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
if redis.call('SCARD', KEYS[3]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  redis.call('SREM', KEYS[5], ARGV[1])
  return 0
end
redis.call('SADD', KEYS[5], ARGV[1])
return 1`;

/** What a pass must look at: DAGs due by now, and DAGs with queued or running runs. */
export interface PendingDags {
  due: string[];
  busy: string[];
  /** The earliest due time after now (ms), if any DAG has one: when the next pass has work. */
  nextDueAt?: number;
}

/** A running run and its task instances, as a pass reconciles them. */
export interface ActiveRun {
  dagId: string;
  run: DagRunRecord;
  snapshot: Record<string, TaskInstanceRecord>;
}

/** One DAG's scheduling state, read in one round trip. */
export interface DagSchedulingState {
  paused: boolean;
  active: number;
  queued: number;
  lastStart?: Date;
  lastEnd?: Date;
}

type Scripted = RedisClient & Record<'runwaySettleDag', (...args: (string | number)[]) => Promise<unknown>>;

const MARK_CHUNK = 1_000;

export class ScheduleIndex {
  private readonly redis: Scripted;

  constructor(
    redis: RedisClient,
    private readonly store: RunStore,
  ) {
    const scripted = redis as Scripted;
    if (typeof scripted.runwaySettleDag !== 'function') {
      redis.defineCommand('runwaySettleDag', { numberOfKeys: 5, lua: SETTLE });
    }
    this.redis = scripted;
  }

  /**
   * The DAGs due by `now` (ms), the busy ones and the next due time after `now`: three commands,
   * one round trip, whatever the DAG count.
   */
  async pending(now: number): Promise<PendingDags> {
    const rows = (await this.redis
      .pipeline()
      .zrangebyscore(this.store.dueKey, '-inf', String(now))
      .smembers(this.store.busyKey)
      .zrangebyscore(this.store.dueKey, `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      .exec()) as [Error | null, string[]][];
    for (const [error] of rows) if (error) throw error;
    const next = rows[2]![1][1];
    return { due: rows[0]![1], busy: rows[1]![1], ...(next === undefined ? {} : { nextDueAt: Number(next) }) };
  }

  /** The earliest due time after `now` (ms), if any DAG has one. */
  async nextDueAfter(now: number): Promise<number | undefined> {
    const [, score] = await this.redis.zrangebyscore(this.store.dueKey, `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return score === undefined ? undefined : Number(score);
  }

  /** Makes DAGs due at `at` (ms; 0 = at once): a new or changed DAG, or every DAG when a scheduler starts. */
  async markDue(dagIds: readonly string[], at = 0): Promise<void> {
    for (let first = 0; first < dagIds.length; first += MARK_CHUNK) {
      const chunk = dagIds.slice(first, first + MARK_CHUNK);
      await this.redis.zadd(this.store.dueKey, ...chunk.flatMap((id) => [at, id]));
    }
  }

  /** Moves a DAG's due time to `at` (ms) unless it is already later. */
  async postpone(dagId: string, at: number): Promise<void> {
    await this.redis.zadd(this.store.dueKey, 'GT', at, dagId);
  }

  /** Drops DAGs from the due set (taken out of the deployment). */
  async forget(dagIds: readonly string[]): Promise<void> {
    if (dagIds.length > 0) await this.redis.zrem(this.store.dueKey, ...dagIds);
  }

  /** Whether the DAG is paused, its active and queued run counts and its last scheduled interval. */
  async read(dagId: string, pausedOnCreation: boolean): Promise<DagSchedulingState> {
    return (await this.readMany([{ dagId, pausedOnCreation }]))[0]!;
  }

  /** `read` for many DAGs in one round trip (five commands each). */
  async readMany(dags: readonly { dagId: string; pausedOnCreation: boolean }[]): Promise<DagSchedulingState[]> {
    if (dags.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { dagId } of dags) {
      pipeline
        .hget(this.store.dagKey(dagId), 'paused')
        .scard(this.store.activeKey(dagId))
        .zcard(this.store.queuedKey(dagId))
        .zscore(this.store.key('last-scheduled'), dagId)
        .zscore(this.store.key('last-scheduled-end'), dagId);
    }
    const rows = (await pipeline.exec()) as [Error | null, unknown][];
    for (const [error] of rows) if (error) throw error;
    return dags.map(({ pausedOnCreation }, i) => {
      const [paused, active, queued, start, end] = rows.slice(i * 5, i * 5 + 5).map(([, value]) => value) as [
        string | null,
        number,
        number,
        string | null,
        string | null,
      ];
      return {
        paused: paused === null ? pausedOnCreation : paused === '1',
        active,
        queued,
        ...(start === null ? {} : { lastStart: new Date(Number(start)) }),
        ...(end === null ? {} : { lastEnd: new Date(Number(end)) }),
      };
    });
  }

  /**
   * The running runs of many DAGs with their task instances, in two round trips whatever their
   * number: the active sets, then each run's record and task instances.
   */
  async activeRuns(dagIds: readonly string[]): Promise<ActiveRun[]> {
    if (dagIds.length === 0) return [];
    const idsPipeline = this.redis.pipeline();
    for (const dagId of dagIds) idsPipeline.smembers(this.store.activeKey(dagId));
    const idRows = (await idsPipeline.exec()) as [Error | null, string[]][];
    const wanted: { dagId: string; runId: string }[] = [];
    dagIds.forEach((dagId, i) => {
      const [error, runIds] = idRows[i]!;
      if (error) throw error;
      for (const runId of runIds) wanted.push({ dagId, runId });
    });
    if (wanted.length === 0) return [];
    const runsPipeline = this.redis.pipeline();
    for (const { dagId, runId } of wanted) {
      runsPipeline.hget(this.store.runKey(dagId, runId), 'record').hgetall(this.store.tiKey(dagId, runId));
    }
    const rows = (await runsPipeline.exec()) as [Error | null, unknown][];
    return wanted.flatMap(({ dagId }, i) => {
      const [[recordError, raw], [tiError, flat]] = [rows[2 * i]!, rows[2 * i + 1]!];
      if (recordError) throw recordError;
      if (tiError) throw tiError;
      if (typeof raw !== 'string') return [];
      const snapshot = Object.fromEntries(
        Object.entries(flat as Record<string, string>).map(([taskId, ti]) => [
          taskId,
          JSON.parse(ti) as TaskInstanceRecord,
        ]),
      );
      return [{ dagId, run: decodeRunRecord(raw), snapshot }];
    });
  }

  /**
   * After a pass handled the DAG: records when it is next due (undefined: never; a paused DAG is
   * dropped whatever is passed), and whether it is still busy. True if it has queued or running runs.
   */
  async settle(dagId: string, pausedOnCreation: boolean, nextDueAt: number | undefined): Promise<boolean> {
    const busy = await this.redis.runwaySettleDag(
      this.store.dagKey(dagId),
      this.store.dueKey,
      this.store.activeKey(dagId),
      this.store.queuedKey(dagId),
      this.store.busyKey,
      dagId,
      pausedOnCreation ? '1' : '0',
      nextDueAt === undefined ? '' : String(nextDueAt),
    );
    return busy === 1;
  }
}
