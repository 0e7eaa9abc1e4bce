/**
 * Creating the runs of many due DAGs at once: at a five-minute boundary every DAG is due, and a
 * DAG handled on its own cost about eleven round trips (read, create, record, count, start, read
 * the run, read its tasks, schedule the roots, queue them, settle). Here a batch of DAGs costs one
 * pipelined read, one script and one bulk queue add per queue, whatever its size.
 *
 * The script keeps the guarantees of the one-DAG path: a run is created only if its deterministic
 * id is absent, started only while the DAG has fewer than `maxActiveRuns` running and no older
 * queued run, and its root task instances are scheduled in the same atomic step as the start, from
 * `none`. Anything it does not decide (an older queued run, roots a trigger rule skips) is left to
 * the engine's one-run path, which the caller runs for the DAGs it names.
 */
import { decideTransitions } from '../core/run-advance.ts';
import { deadlineDueAt } from '../core/deadline.ts';
import { dueIntervals, lastInterval, nextRunDueAt, scheduledRunId, type DataInterval } from '../core/data-interval.ts';
import type { DagRunRecord } from '../core/model.ts';
import type { LoadedDag } from '../loader/dag-registry.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { Engine } from './engine.ts';
import { ScheduleIndex } from './schedule-index.ts';
import { encodeRunRecord } from './run-record-json.ts';

// KEYS: change counter, busy DAGs, due set, last scheduled start, last scheduled end, run counts
// by state (the metrics' counters, kept as the run-store scripts keep them); then for each
// DAG its settings, runs, queued index and active set, and for each of its runs the run and its
// task instances. ARGV: the DAGs (json: id, paused when unset, max, next due time or '', task ids,
// root task ids, runs), startedAt (ISO), now (ms), a fresh task instance (json).
const CREATE_AND_START = `
local dags = cjson.decode(ARGV[1])
local scheduled = cjson.encode({state = 'scheduled', try = 0, generation = 0, queuedAt = tonumber(ARGV[3])})
local k = 7
local out = {}
for _, d in ipairs(dags) do
  local dagKey, runsKey, queuedKey, activeKey = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  k = k + 4
  local runKeys = {}
  for i = 1, #d.runs do runKeys[i] = {KEYS[k], KEYS[k + 1]}; k = k + 2 end
  local result = {created = {}, started = {}, paused = false}
  local paused = redis.call('HGET', dagKey, 'paused')
  if not paused then paused = d.paused end
  if paused == '1' then
    redis.call('ZREM', KEYS[3], d.id)
    result.paused = true
  else
    local mine = {}
    for i, r in ipairs(d.runs) do
      if redis.call('EXISTS', runKeys[i][1]) == 0 then
        redis.call('HSET', runKeys[i][1], 'record', r.record, 'state', 'queued', 'terminal', 0, 'total', #d.tasks)
        redis.call('ZADD', runsKey, r.at, r.id)
        redis.call('ZADD', queuedKey, r.at, r.id)
        for _, task in ipairs(d.tasks) do redis.call('HSET', runKeys[i][2], task, ARGV[4]) end
        mine[r.id] = i
        redis.call('HINCRBY', KEYS[6], d.id .. '|queued', 1)
        result.created[#result.created + 1] = r.id
      end
      redis.call('ZADD', KEYS[4], 'GT', r.start, d.id)
      redis.call('ZADD', KEYS[5], 'GT', r['end'], d.id)
    end
    while #d.roots > 0 and redis.call('SCARD', activeKey) < d.max do
      local oldest = redis.call('ZRANGE', queuedKey, 0, 0)[1]
      if not oldest or not mine[oldest] then break end
      local i = mine[oldest]
      mine[oldest] = nil
      local record = cjson.decode(d.runs[i].record)
      record.state = 'running'
      record.startedAt = ARGV[2]
      redis.call('HSET', runKeys[i][1], 'record', cjson.encode(record), 'state', 'running')
      redis.call('SADD', activeKey, oldest)
      redis.call('ZREM', queuedKey, oldest)
      for _, task in ipairs(d.roots) do redis.call('HSET', runKeys[i][2], task, scheduled) end
      redis.call('HINCRBY', KEYS[6], d.id .. '|queued', -1)
      redis.call('HINCRBY', KEYS[6], d.id .. '|running', 1)
      result.started[#result.started + 1] = oldest
    end
    if d.next == '' then redis.call('ZREM', KEYS[3], d.id) else redis.call('ZADD', KEYS[3], d.next, d.id) end
  end
  result.queued = redis.call('ZCARD', queuedKey)
  result.active = redis.call('SCARD', activeKey)
  if result.queued + result.active > 0 then
    redis.call('SADD', KEYS[2], d.id)
  else
    redis.call('SREM', KEYS[2], d.id)
  end
  out[#out + 1] = result
end
redis.call('INCR', KEYS[1])
return cjson.encode(out)`;

/** What a batch did for one DAG. */
export interface DueDagOutcome {
  dagId: string;
  paused: boolean;
  /** The intervals of the runs this batch created (not those another scheduler created first). */
  created: DataInterval[];
  /** Running runs before the batch: the caller reconciles them. */
  activeBefore: number;
  /** The DAG still has queued or running runs. */
  busy: boolean;
  /** When its next run is due (ms, the scheduler's clock); undefined: never. */
  nextDueAt: number | undefined;
}

interface ScriptResult {
  created: string[] | Record<string, never>;
  started: string[] | Record<string, never>;
  paused: boolean;
  queued: number;
  active: number;
}

/** A root task's queue job to add: the run is started and the task instance scheduled. */
export type RootJob = Parameters<Engine['enqueueAcrossRuns']>[0][number];

type Scripted = RedisClient & Record<'runwayCreateDueRuns', (...args: (string | number)[]) => Promise<unknown>>;

/** DAGs per script: a script blocks Redis while it runs, so a boundary of 2,000 DAGs is cut up. */
export const DUE_BATCH = 64;

export class DueRuns {
  private readonly redis: Scripted;
  private readonly index: ScheduleIndex;

  constructor(private readonly engine: Engine) {
    const scripted = engine.redis as Scripted;
    if (typeof scripted.runwayCreateDueRuns !== 'function') {
      engine.redis.defineCommand('runwayCreateDueRuns', { lua: CREATE_AND_START });
    }
    this.redis = scripted;
    this.index = new ScheduleIndex(engine.redis, engine.store);
  }

  /**
   * Creates the due runs of `dags` (at most `DUE_BATCH` of them), starts them when they may, with
   * their root task instances scheduled, and records each DAG's next due time. Returns the root
   * tasks' queue jobs for the caller to add (a job lost to a crash before it is added is added again
   * by reconciliation, as for any scheduled task).
   */
  async createAndStart(dags: readonly LoadedDag[], now: Date): Promise<{ outcomes: DueDagOutcome[]; jobs: RootJob[] }> {
    const { store } = this.engine;
    const states = await this.index.readMany(
      dags.map((loaded) => ({ dagId: loaded.summary.dagId, pausedOnCreation: loaded.summary.pausedOnCreation })),
    );
    const createdAt = new Date().toISOString();
    const keys = [
      store.key('changes'),
      store.busyKey,
      store.dueKey,
      store.key('last-scheduled'),
      store.key('last-scheduled-end'),
      store.runCountsKey,
    ];
    const plans = dags.map((loaded, i) => {
      const state = states[i]!;
      const dagId = loaded.summary.dagId;
      let last = lastInterval(loaded.schedule, state.lastStart, state.lastEnd);
      const room = loaded.summary.maxActiveRuns - state.active - state.queued;
      const intervals = state.paused || room <= 0 ? [] : dueIntervals(loaded.schedule, last, now, room);
      last = intervals.at(-1) ?? last;
      const nextDueAt = nextRunDueAt(loaded.schedule, last, now)?.getTime();
      const first = decideTransitions(loaded.graph, {});
      // Roots a trigger rule skips or fails cascade further, and a mapped root expands into its
      // indexes: the engine's advance does both.
      const plain = [...first.keys()].every((id) => loaded.taskSummaries.get(id)?.maxMapLength === undefined);
      const roots = plain && [...first.values()].every((t) => t === 'scheduled') ? [...first.keys()] : [];
      const runs = intervals.map((interval) => {
        const record: DagRunRecord = {
          dagId,
          runId: scheduledRunId(interval.start),
          state: 'queued',
          runType: 'scheduled',
          logicalDate: interval.start.toISOString(),
          dataIntervalStart: interval.start.toISOString(),
          dataIntervalEnd: interval.end.toISOString(),
          conf: {},
          createdAt,
        };
        return { interval, record };
      });
      keys.push(store.dagKey(dagId), store.runsKey(dagId), store.queuedKey(dagId), store.activeKey(dagId));
      for (const { record } of runs) keys.push(store.runKey(dagId, record.runId), store.tiKey(dagId, record.runId));
      return {
        loaded,
        runs,
        roots,
        nextDueAt,
        arg: {
          id: dagId,
          paused: loaded.summary.pausedOnCreation ? '1' : '0',
          max: loaded.summary.maxActiveRuns,
          next: nextDueAt === undefined ? '' : String(nextDueAt),
          tasks: loaded.graph.map((t) => t.id),
          roots,
          runs: runs.map(({ interval, record }) => ({
            id: record.runId,
            record: encodeRunRecord(record),
            at: String(interval.start.getTime()),
            start: String(interval.start.getTime()),
            end: String(interval.end.getTime()),
          })),
        },
      };
    });
    const startedAt = new Date().toISOString();
    const raw = await this.redis.runwayCreateDueRuns(
      keys.length,
      ...keys,
      JSON.stringify(plans.map((p) => p.arg)),
      startedAt,
      Date.now(),
      JSON.stringify({ state: 'none', try: 0, generation: 0 }),
    );
    const results = JSON.parse(raw as string) as ScriptResult[];
    const jobs: RootJob[] = [];
    const slowPath: Promise<unknown>[] = [];
    const outcomes = plans.map((plan, i) => {
      const result = results[i]!;
      const created = new Set(asList(result.created));
      for (const runId of asList(result.started)) {
        const { record } = plan.runs.find((r) => r.record.runId === runId)!;
        const run: DagRunRecord = { ...record, state: 'running', startedAt };
        for (const taskId of plan.roots) jobs.push({ loaded: plan.loaded, run, taskId, ti: { generation: 0, try: 0 } });
      }
      // Left to the one-run path: a queued run older than those created here, or roots not all scheduled.
      if (result.queued > 0 && result.active < plan.loaded.summary.maxActiveRuns)
        slowPath.push(this.engine.startQueuedRuns(plan.loaded));
      return {
        dagId: plan.arg.id,
        paused: result.paused,
        created: plan.runs.filter((r) => created.has(r.record.runId)).map((r) => r.interval),
        activeBefore: states[i]!.active,
        busy: result.queued + result.active > 0,
        nextDueAt: plan.nextDueAt,
      };
    });
    // A run created here is watched for its deadline as one the engine creates is.
    for (const [i, plan] of plans.entries()) {
      const deadline = plan.loaded.summary.deadline;
      if (!deadline) continue;
      const created = new Set(asList(results[i]!.created));
      for (const { record } of plan.runs.filter((r) => created.has(r.record.runId)))
        await this.engine.deadlines.watch(record.dagId, record.runId, deadlineDueAt(deadline, record));
    }
    await Promise.all(slowPath);
    return { outcomes, jobs };
  }
}

/** cjson encodes an empty array as an empty object. */
function asList(value: string[] | Record<string, never>): string[] {
  return Array.isArray(value) ? value : [];
}
