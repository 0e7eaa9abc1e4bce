/**
 * DAG runs and task instances in Redis. Every state change is a compare-and-set in a Lua script,
 * so several schedulers and workers can act on one run without two of them scheduling, starting
 * or finishing the same thing. Keys share one hash tag (`{runway}` by default) so that the scripts
 * also run on Redis Cluster.
 */
import type { RedisClient } from '../redis/connect.ts';
import type { DagRunRecord, DagRunState, TaskInstanceRecord } from '../core/model.ts';
import type { TaskInstanceState } from '../core/trigger-rule.ts';
import { capOutputJson, MAX_OUTPUT_BYTES } from '../core/output-cap.ts';
import { decodeRunRecord, encodeRunRecord } from './run-record-json.ts';

/** Exported for scripts that create a run as one step of a larger change (`asset-events.ts`). */
export const CREATE_RUN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'state', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if ARGV[2] == 'queued' then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4]) end
local tasks = cjson.decode(ARGV[5])
for _, task in ipairs(tasks) do redis.call('HSET', KEYS[3], task, ARGV[6]) end
redis.call('HSET', KEYS[1], 'terminal', 0, 'total', #tasks)
redis.call('INCR', KEYS[5])
redis.call('SADD', KEYS[6], ARGV[7])
redis.call('HINCRBY', KEYS[7], ARGV[7] .. '|' .. ARGV[2], 1)
return 1`;

// KEYS: run, active set, queued index, change counter, run counts. ARGV: runId, maxActiveRuns, startedAt, dagId
const START_RUN = `
if redis.call('HGET', KEYS[1], 'state') ~= 'queued' then return 0 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
local record = cjson.decode(redis.call('HGET', KEYS[1], 'record'))
record.state = 'running'
record.startedAt = ARGV[3]
redis.call('HSET', KEYS[1], 'record', cjson.encode(record), 'state', 'running')
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('INCR', KEYS[4])
redis.call('HINCRBY', KEYS[5], ARGV[4] .. '|queued', -1)
redis.call('HINCRBY', KEYS[5], ARGV[4] .. '|running', 1)
return 1`;

// KEYS: run, active set, change counter, queued index, busy DAGs, run counts.
// ARGV: runId, new state, endedAt, allowed current states (json), dagId, now (ISO).
// Returns the state written ('' if the run was not in an allowed state), the run's timeout mark
// ('' if none): a run marked timed out ends failed, whatever its tasks say; and how many runs of
// the DAG are queued, so that a caller ending a run reads nothing more when none waits. Reopening a finished
// run starts its clock again and drops the mark, as Airflow's clear resets a run's start date.
const FINISH_RUN = `
local current = redis.call('HGET', KEYS[1], 'state')
local allowed = false
for _, s in ipairs(cjson.decode(ARGV[4])) do if s == current then allowed = true end end
if not allowed then return {'', ''} end
local record = cjson.decode(redis.call('HGET', KEYS[1], 'record'))
local state = ARGV[2]
if state == 'success' and record.timedOutAt then state = 'failed' end
if state == 'running' and (current == 'success' or current == 'failed') then
  record.startedAt = ARGV[6]
  record.timedOutAt = nil
end
record.state = state
if ARGV[3] ~= '' then record.endedAt = ARGV[3] else record.endedAt = nil end
redis.call('HSET', KEYS[1], 'record', cjson.encode(record), 'state', state)
redis.call('HINCRBY', KEYS[6], ARGV[5] .. '|' .. current, -1)
redis.call('HINCRBY', KEYS[6], ARGV[5] .. '|' .. state, 1)
if state == 'running' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
if state ~= 'queued' then redis.call('ZREM', KEYS[4], ARGV[1]) end
if state == 'running' or state == 'queued' then
  redis.call('SADD', KEYS[5], ARGV[5])
elseif redis.call('SCARD', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  redis.call('SREM', KEYS[5], ARGV[5])
end
redis.call('INCR', KEYS[3])
return {state, record.timedOutAt or '', redis.call('ZCARD', KEYS[4])}`;

// KEYS: run, change counter. ARGV: timedOutAt (ISO). Marks a running run timed out, once: 1 if
// this call marked it, 2 if it was marked already, 0 if it is not running.
const TIME_OUT_RUN = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local record = cjson.decode(redis.call('HGET', KEYS[1], 'record'))
if record.timedOutAt then return 2 end
record.timedOutAt = ARGV[1]
redis.call('HSET', KEYS[1], 'record', cjson.encode(record))
redis.call('INCR', KEYS[2])
return 1`;

// KEYS: run, task instances, outputs, run index, active set, queued index, run counts; then the
// run's log keys. ARGV: runId, dagId. Deletes a run with all it owns, and counts it out.
const DELETE_RUN = `
local state = redis.call('HGET', KEYS[1], 'state')
if state then redis.call('HINCRBY', KEYS[7], ARGV[2] .. '|' .. state, -1) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
for i = 8, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return state and 1 or 0`;

// KEYS: run index, run counts. ARGV: prefix, dagId. Counts the DAG's runs by state from the runs
// themselves: counts kept before an upgrade, or by an older process during one, come right.
const RECOUNT_RUNS = `
local counts = { queued = 0, running = 0, success = 0, failed = 0 }
for _, runId in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local state = redis.call('HGET', ARGV[1] .. ':run:' .. ARGV[2] .. ':' .. runId, 'state')
  if state then counts[state] = (counts[state] or 0) + 1 end
end
for state, n in pairs(counts) do redis.call('HSET', KEYS[2], ARGV[2] .. '|' .. state, n) end
return 1`;

// KEYS: ti hash, output hash, run, change counter. ARGV: changes (json), now (ms), required run state ('' = any),
// task ids whose states to return (json array; '' = all), task ids whose outputs to return (json
// array; '' = none: a claim reads its upstream outputs with it). Keeps the run's count of terminal instances.
// change: { task, from: [states], try?: n, set: {...}, output?: json string,
//           acquire?: [{key, limit, member}], release?: [{key, member}], leaseMs?: n,
//           withFirst?: only if the first change applied, ifRun?: only if the run is in this state }
const TRANSITION = `
local now = tonumber(ARGV[2])
local terminal = { success = true, failed = true, skipped = true, upstream_failed = true }
local function states()
  if ARGV[4] == '' then return redis.call('HGETALL', KEYS[1]) end
  local ids = cjson.decode(ARGV[4])
  local out = {}
  -- HMGET in chunks: unpack() cannot spread more than a few thousand values.
  for first = 1, #ids, 1000 do
    local chunk = {}
    for i = first, math.min(first + 999, #ids) do chunk[#chunk + 1] = ids[i] end
    local values = redis.call('HMGET', KEYS[1], unpack(chunk))
    for i, id in ipairs(chunk) do
      if values[i] then out[#out + 1] = id; out[#out + 1] = values[i] end
    end
  end
  return out
end
local function counters()
  local c = redis.call('HMGET', KEYS[3], 'terminal', 'total')
  return {tonumber(c[1]) or 0, tonumber(c[2]) or 0}
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], 'state') ~= ARGV[3] then
  return {'run_not_' .. ARGV[3], states(), counters()}
end
local changes = cjson.decode(ARGV[1])
local applied = {}
local allEnded = {}
for i, c in ipairs(changes) do
  local raw = redis.call('HGET', KEYS[1], c.task)
  local ok = false
  local cur
  if raw then
    cur = cjson.decode(raw)
    for _, s in ipairs(c.from) do if cur.state == s then ok = true end end
    if ok and c.try ~= nil and cur.try ~= c.try then ok = false end
    if ok and c.generation ~= nil and cur.generation ~= c.generation then ok = false end
    if ok and c.withFirst and applied[1] ~= 'ok' then ok = false end
    if ok and c.ifRun and redis.call('HGET', KEYS[3], 'state') ~= c.ifRun then ok = false end
  end
  if ok and c.acquire then
    for _, slot in ipairs(c.acquire) do
      redis.call('ZREMRANGEBYSCORE', slot.key, '-inf', now)
      if not redis.call('ZSCORE', slot.key, slot.member) and redis.call('ZCARD', slot.key) >= slot.limit then
        ok = false
      end
    end
    if ok then
      for _, slot in ipairs(c.acquire) do redis.call('ZADD', slot.key, now + c.leaseMs, slot.member) end
    else
      applied[i] = 'no_slot'
    end
  end
  if ok then
    local was = terminal[cur.state] == true
    for k, v in pairs(c.set) do cur[k] = v end
    local now_terminal = terminal[cur.state] == true
    if was ~= now_terminal then
      redis.call('HINCRBY', KEYS[3], 'terminal', now_terminal and 1 or -1)
      -- A mapped task's index (\`load[3]\`): its task counts its terminal indexes (mapped-instances.ts).
      local mapped = string.match(c.task, '^(.+)%[%d+%]$')
      if mapped then
        local ended = redis.call('HINCRBY', KEYS[3], 'mapped-terminal:' .. mapped, now_terminal and 1 or -1)
        -- The change that ends its last index says so, and its caller settles the task: no read per index.
        local parentRaw = now_terminal and redis.call('HGET', KEYS[1], mapped)
        local length = parentRaw and tonumber(cjson.decode(parentRaw).mapLength)
        if length and ended >= length then allEnded[#allEnded + 1] = mapped end
      end
    end
    if c.unset then for _, k in ipairs(c.unset) do cur[k] = nil end end
    redis.call('HSET', KEYS[1], c.task, cjson.encode(cur))
    if c.output then redis.call('HSET', KEYS[2], c.task, c.output) end
    if c.release then for _, slot in ipairs(c.release) do redis.call('ZREM', slot.key, slot.member) end end
    applied[i] = 'ok'
  elseif not applied[i] then
    applied[i] = 'conflict'
  end
end
for _, result in pairs(applied) do
  if result == 'ok' then redis.call('INCR', KEYS[4]) break end
end
local outputs = {}
if ARGV[5] ~= '' then
  local ids = cjson.decode(ARGV[5])
  if #ids > 0 then outputs = redis.call('HMGET', KEYS[2], unpack(ids)) end
end
return {cjson.encode(applied), states(), counters(), allEnded, outputs}`;

export interface SlotClaim {
  key: string;
  limit: number;
  member: string;
}

// KEYS: log list, change counter. ARGV: max lines, marker, lines... The oldest lines go first and
// the first line kept becomes the marker, so a reader sees that the log was cut and where.
const APPEND_LOG = `
local length = redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
local max = tonumber(ARGV[1])
if length > max then
  redis.call('LTRIM', KEYS[1], -max, -1)
  redis.call('LSET', KEYS[1], 0, ARGV[2])
end
redis.call('INCR', KEYS[2])
return length`;

export interface TaskTransition {
  task: string;
  from: readonly TaskInstanceState[];
  /** Only if the instance is on this try. */
  try?: number;
  generation?: number;
  set: Partial<TaskInstanceRecord>;
  unset?: (keyof TaskInstanceRecord)[];
  /** The task's output, stored with the transition. */
  output?: unknown;
  /** Slots (pool, DAG concurrency) taken with the transition, all or none. */
  acquire?: SlotClaim[];
  leaseMs?: number;
  release?: { key: string; member: string }[];
  /** Only if the first change of the call applied: a downstream task scheduled with its upstream's outcome. */
  withFirst?: boolean;
  /** Only if the run is in this state (the call's other changes apply whatever it is). */
  ifRun?: DagRunState;
}

export type TransitionResult = 'ok' | 'conflict' | 'no_slot';

export interface TransitionOutcome {
  /** Set when the run was not in the required state; nothing was changed. */
  runNotInState?: string;
  results: TransitionResult[];
  /** States of the task instances asked for with `watch` (all of them without). */
  snapshot: Record<string, TaskInstanceRecord>;
  /** Task instances of the run in a terminal state, and how many it has. */
  terminal: number;
  total: number;
  /** Mapped tasks whose last index to end ended with this change: the caller settles them. */
  allIndexesEnded: string[];
  /** The outputs asked for with `outputs` (null for a task without one), read after the changes. */
  outputs: Record<string, unknown>;
}

export interface TransitionOptions {
  /** Change nothing unless the run is in this state (the outcome says so). */
  requireRunState?: DagRunState;
  /** Task instances whose states to return; all of them when left out. */
  watch?: readonly string[];
}

export interface RunStoreOptions {
  /** Key prefix; keep the braces so every key hashes to one Redis Cluster slot. @defaultValue '{runway}' */
  prefix?: string;
  /** Log lines kept per try (the latest; the first kept line then says lines were cut). @defaultValue 2_000 */
  maxLogLines?: number;
  /** Bytes of a task output's JSON kept; a larger output is kept as a marker (see `capOutputJson`). @defaultValue 64 KiB */
  maxOutputBytes?: number;
}

/** Characters of a log line kept; the rest is cut, with a note at the end of the line. */
export const MAX_LOG_LINE_CHARS = 4_000;

type Scripted = RedisClient &
  Record<
    | 'runwayCreateRun'
    | 'runwayStartRun'
    | 'runwayFinishRun'
    | 'runwayTimeOutRun'
    | 'runwayTransition'
    | 'runwayAppendLog'
    | 'runwayDeleteRun'
    | 'runwayRecountRuns',
    (...args: (string | number)[]) => Promise<unknown>
  >;

export class RunStore {
  readonly prefix: string;
  private readonly redis: Scripted;
  private readonly maxLogLines: number;
  private readonly maxOutputBytes: number;

  constructor(redis: RedisClient, options: RunStoreOptions = {}) {
    this.prefix = options.prefix ?? '{runway}';
    this.maxLogLines = options.maxLogLines ?? 2_000;
    this.maxOutputBytes = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const scripted = redis as Scripted;
    if (typeof scripted.runwayAppendLog !== 'function')
      redis.defineCommand('runwayAppendLog', { numberOfKeys: 2, lua: APPEND_LOG });
    if (typeof scripted.runwayTransition !== 'function') {
      redis.defineCommand('runwayCreateRun', { numberOfKeys: 7, lua: CREATE_RUN });
      redis.defineCommand('runwayStartRun', { numberOfKeys: 5, lua: START_RUN });
      redis.defineCommand('runwayFinishRun', { numberOfKeys: 6, lua: FINISH_RUN });
      redis.defineCommand('runwayTimeOutRun', { numberOfKeys: 2, lua: TIME_OUT_RUN });
      // The number of keys comes first in each call: a run has one log key per try.
      redis.defineCommand('runwayDeleteRun', { lua: DELETE_RUN });
      redis.defineCommand('runwayRecountRuns', { numberOfKeys: 2, lua: RECOUNT_RUNS });
      redis.defineCommand('runwayTransition', { numberOfKeys: 4, lua: TRANSITION });
    }
    this.redis = scripted;
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  readonly runKey = (dagId: string, runId: string) => this.key('run', dagId, runId);
  readonly tiKey = (dagId: string, runId: string) => this.key('ti', dagId, runId);
  readonly outKey = (dagId: string, runId: string) => this.key('out', dagId, runId);
  readonly runsKey = (dagId: string) => this.key('runs', dagId);
  /** The DAG's running runs (a set of run ids). */
  readonly activeKey = (dagId: string) => this.key('active', dagId);
  /** The DAG's queued runs (run ids scored by logical date). */
  readonly queuedKey = (dagId: string) => this.key('queued', dagId);
  /** A DAG's settings a person changes at run time (`paused`). */
  readonly dagKey = (dagId: string) => this.key('dag', dagId);
  /** DAGs with a queued or running run: what a scheduler pass reconciles (kept by the run scripts). */
  get busyKey() {
    return this.key('busy-dags');
  }
  /** Each DAG's next due time (ms, scheduler clock): what a scheduler pass reads (see `ScheduleIndex`). */
  get dueKey() {
    return this.key('due-dags');
  }
  /** How many runs each DAG has in each state (`<dagId>|<state>` → count), kept by the run scripts: what `/metrics` reads. */
  get runCountsKey() {
    return this.key('run-counts');
  }
  slotKey = (kind: 'pool' | 'dag', name: string) => this.key('slots', kind, name);
  /** Bumped by every change a person would see (runs, task instances, log lines, pauses, pools, retention). */
  private get changesKey() {
    return this.key('changes');
  }

  /** A number that moves with every change `changesKey` counts: open pages refresh on it. */
  async changeCount(): Promise<string> {
    return (await this.redis.get(this.changesKey)) ?? '0';
  }

  /** Moves the change count for what changes outside runs: the DAGs a folder defines, say. */
  async noteChange(): Promise<void> {
    await this.redis.incr(this.changesKey);
  }

  /** Creates the run and its task instances unless a run with that id exists; true if created. */
  async createRun(run: DagRunRecord, taskIds: readonly string[]): Promise<boolean> {
    const { keys, args } = this.createRunCall(run, taskIds);
    const created = await this.redis.runwayCreateRun(...keys, ...args);
    return created === 1;
  }

  /** The keys and arguments of `CREATE_RUN` for this run, for scripts that embed it. */
  createRunCall(run: DagRunRecord, taskIds: readonly string[]): { keys: string[]; args: (string | number)[] } {
    const initial: TaskInstanceRecord = { state: 'none', try: 0, generation: 0 };
    return {
      keys: [
        this.runKey(run.dagId, run.runId),
        this.runsKey(run.dagId),
        this.tiKey(run.dagId, run.runId),
        this.queuedKey(run.dagId),
        this.changesKey,
        this.busyKey,
        this.runCountsKey,
      ],
      args: [
        encodeRunRecord(run),
        run.state,
        Date.parse(run.logicalDate),
        run.runId,
        JSON.stringify(taskIds),
        JSON.stringify(initial),
        run.dagId,
      ],
    };
  }

  async getRun(dagId: string, runId: string): Promise<DagRunRecord | undefined> {
    const raw = await this.redis.hget(this.runKey(dagId, runId), 'record');
    return raw ? decodeRunRecord(raw) : undefined;
  }

  /** Runs of a DAG, newest logical date first. */
  async listRuns(dagId: string, limit = 25): Promise<DagRunRecord[]> {
    const ids = await this.redis.zrevrange(this.runsKey(dagId), '0', String(limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.runKey(dagId, id), 'record');
    const rows = (await pipeline.exec()) ?? [];
    return rows.flatMap(([, raw]) => (typeof raw === 'string' ? [decodeRunRecord(raw)] : []));
  }

  /** How many runs each DAG has in each state, from the counts the run scripts keep: one read. */
  async runCounts(): Promise<Map<string, Record<string, number>>> {
    const counts = new Map<string, Record<string, number>>();
    for (const [field, value] of Object.entries(await this.redis.hgetall(this.runCountsKey))) {
      const cut = field.lastIndexOf('|');
      const dagId = field.slice(0, cut);
      counts.set(dagId, { ...counts.get(dagId), [field.slice(cut + 1)]: Number(value) });
    }
    return counts;
  }

  /** Sets the DAG's run counts from its runs, in one script (the retention loop calls it hourly). */
  async recountRuns(dagId: string): Promise<void> {
    await this.redis.runwayRecountRuns(this.runsKey(dagId), this.runCountsKey, this.prefix, dagId);
  }

  /** Runs in a state, oldest logical date first (queued runs start in that order). */
  async runsInState(dagId: string, state: DagRunState, limit = 1_000): Promise<DagRunRecord[]> {
    const ids = await this.redis.zrange(this.runsKey(dagId), '0', '-1');
    const out: DagRunRecord[] = [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.runKey(dagId, id), 'state', 'record');
    for (const [, value] of (await pipeline.exec()) ?? []) {
      const [s, raw] = value as [string | null, string | null];
      if (s === state && raw) out.push(decodeRunRecord(raw));
      if (out.length >= limit) break;
    }
    return out;
  }

  async activeRunCount(dagId: string): Promise<number> {
    return this.redis.scard(this.activeKey(dagId));
  }

  async activeRunIds(dagId: string): Promise<string[]> {
    return this.redis.smembers(this.activeKey(dagId));
  }

  /** Queued runs, oldest logical date first. */
  async queuedRunIds(dagId: string, limit: number): Promise<string[]> {
    return limit <= 0 ? [] : this.redis.zrange(this.queuedKey(dagId), '0', String(limit - 1));
  }

  async queuedRunCount(dagId: string): Promise<number> {
    return this.redis.zcard(this.queuedKey(dagId));
  }

  /** Run ids with this logical date (a backfill must not duplicate a scheduled run). */
  async runIdsAt(dagId: string, logicalDate: Date): Promise<string[]> {
    const score = String(logicalDate.getTime());
    return this.redis.zrangebyscore(this.runsKey(dagId), score, score);
  }

  /** Logical date of the newest scheduled run; only ever moves forward, whoever writes it. */
  async lastScheduled(dagId: string): Promise<Date | undefined> {
    return (await this.lastScheduledInterval(dagId)).start;
  }

  /**
   * Logical date and interval end of the newest scheduled run. The end is kept so that a changed
   * schedule continues from where the last interval ended; runs scheduled before it was kept have
   * only the logical date.
   */
  async lastScheduledInterval(dagId: string): Promise<{ start?: Date; end?: Date }> {
    const [start, end] = await Promise.all([
      this.redis.zscore(this.key('last-scheduled'), dagId),
      this.redis.zscore(this.key('last-scheduled-end'), dagId),
    ]);
    return {
      ...(start === null ? {} : { start: new Date(Number(start)) }),
      ...(end === null ? {} : { end: new Date(Number(end)) }),
    };
  }

  async recordScheduled(dagId: string, interval: { start: Date; end: Date }): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.key('last-scheduled'), 'GT', String(interval.start.getTime()), dagId)
      .zadd(this.key('last-scheduled-end'), 'GT', String(interval.end.getTime()), dagId)
      .incr(this.changesKey)
      .exec();
  }

  async startRun(dagId: string, runId: string, maxActiveRuns: number): Promise<boolean> {
    const started = await this.redis.runwayStartRun(
      this.runKey(dagId, runId),
      this.activeKey(dagId),
      this.queuedKey(dagId),
      this.changesKey,
      this.runCountsKey,
      runId,
      maxActiveRuns,
      new Date().toISOString(),
      dagId,
    );
    return started === 1;
  }

  /**
   * Moves a run to `state` if it is in one of `from`: for the one caller that did, the state
   * written (`failed` for `success` on a run marked timed out) and the mark; else false.
   */
  async setRunState(
    dagId: string,
    runId: string,
    state: DagRunState,
    from: readonly DagRunState[],
  ): Promise<{ state: DagRunState; timedOutAt?: string; queued: number } | false> {
    const now = new Date().toISOString();
    const endedAt = state === 'success' || state === 'failed' ? now : '';
    const [written, timedOutAt, queued] = (await this.redis.runwayFinishRun(
      this.runKey(dagId, runId),
      this.activeKey(dagId),
      this.changesKey,
      this.queuedKey(dagId),
      this.busyKey,
      this.runCountsKey,
      runId,
      state,
      endedAt,
      JSON.stringify(from),
      dagId,
      now,
    )) as [string, string, number];
    if (written === '') return false;
    return { state: written as DagRunState, ...(timedOutAt ? { timedOutAt } : {}), queued };
  }

  /**
   * Marks a running run as past its `dagRunTimeout` (`timedOutAt`), so that it ends `failed`;
   * true for the one caller that marked it.
   */
  async markTimedOut(dagId: string, runId: string, at: Date): Promise<boolean> {
    return (await this.redis.runwayTimeOutRun(this.runKey(dagId, runId), this.changesKey, at.toISOString())) === 1;
  }

  async transition(
    dagId: string,
    runId: string,
    changes: readonly TaskTransition[],
    options: { requireRunState?: DagRunState; watch?: readonly string[]; outputs?: readonly string[] } = {},
  ): Promise<TransitionOutcome> {
    const payload = changes.map((c) => ({
      ...c,
      output: c.output === undefined ? undefined : capOutputJson(JSON.stringify(c.output), this.maxOutputBytes),
      unset: c.unset && c.unset.length > 0 ? c.unset : undefined,
      acquire: c.acquire && c.acquire.length > 0 ? c.acquire : undefined,
      release: c.release && c.release.length > 0 ? c.release : undefined,
    }));
    const [status, flat, [terminal, total], allIndexesEnded = [], rawOutputs = []] = (await this.redis.runwayTransition(
      this.tiKey(dagId, runId),
      this.outKey(dagId, runId),
      this.runKey(dagId, runId),
      this.changesKey,
      JSON.stringify(payload),
      Date.now(),
      options.requireRunState ?? '',
      options.watch ? JSON.stringify(options.watch) : '',
      options.outputs && options.outputs.length > 0 ? JSON.stringify(options.outputs) : '',
    )) as [string, string[], [number, number], string[]?, (string | null)[]?];
    const snapshot = parseSnapshot(flat);
    const outputs: Record<string, unknown> = {};
    options.outputs?.forEach((id, i) => (outputs[id] = rawOutputs[i] == null ? null : JSON.parse(rawOutputs[i]!)));
    if (status.startsWith('run_not_')) {
      return {
        runNotInState: status,
        results: changes.map(() => 'conflict'),
        snapshot,
        terminal,
        total,
        allIndexesEnded,
        outputs,
      };
    }
    // cjson encodes an empty array as {}; there are no results then.
    const results = changes.length === 0 ? [] : (JSON.parse(status) as TransitionResult[]);
    return { results, snapshot, terminal, total, allIndexesEnded, outputs };
  }

  /** The states of some task instances, in one read. */
  async states(dagId: string, runId: string, taskIds: readonly string[]): Promise<Record<string, TaskInstanceRecord>> {
    if (taskIds.length === 0) return {};
    const values = await this.redis.hmget(this.tiKey(dagId, runId), ...taskIds);
    const out: Record<string, TaskInstanceRecord> = {};
    taskIds.forEach((id, i) => {
      if (values[i] != null) out[id] = JSON.parse(values[i]!) as TaskInstanceRecord;
    });
    return out;
  }

  /** Terminal task instances of a run, and how many it has. */
  async progress(dagId: string, runId: string): Promise<{ terminal: number; total: number }> {
    const [terminal, total] = await this.redis.hmget(this.runKey(dagId, runId), 'terminal', 'total');
    return { terminal: Number(terminal ?? 0), total: Number(total ?? 0) };
  }

  async snapshot(dagId: string, runId: string): Promise<Record<string, TaskInstanceRecord>> {
    const flat = await this.redis.hgetall(this.tiKey(dagId, runId));
    return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, JSON.parse(v) as TaskInstanceRecord]));
  }

  async outputs(dagId: string, runId: string, taskIds: readonly string[]): Promise<Record<string, unknown>> {
    if (taskIds.length === 0) return {};
    const values = await this.redis.hmget(this.outKey(dagId, runId), ...taskIds);
    return Object.fromEntries(taskIds.map((id, i) => [id, values[i] == null ? null : JSON.parse(values[i]!)]));
  }

  async clearOutputs(dagId: string, runId: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length > 0) await this.redis.hdel(this.outKey(dagId, runId), ...taskIds);
  }

  /** Extends a running task's slot leases so they outlive the task, not its worker. */
  async renewSlots(claims: readonly SlotClaim[], leaseMs: number): Promise<void> {
    if (claims.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const claim of claims) pipeline.zadd(claim.key, 'XX', Date.now() + leaseMs, claim.member);
    await pipeline.exec();
  }

  private logKey = (dagId: string, runId: string, taskId: string, tryNumber: number) =>
    this.key('log', dagId, runId, taskId, String(tryNumber));

  async appendLogs(dagId: string, runId: string, taskId: string, tryNumber: number, lines: readonly string[]) {
    if (lines.length === 0) return;
    const cut = (l: string) =>
      l.length > MAX_LOG_LINE_CHARS
        ? `${l.slice(0, MAX_LOG_LINE_CHARS)}… (line cut at ${MAX_LOG_LINE_CHARS} characters)`
        : l;
    // In slices: Lua's unpack() cannot spread more than a few thousand values.
    for (let first = 0; first < lines.length; first += 1_000) {
      await this.redis.runwayAppendLog(
        this.logKey(dagId, runId, taskId, tryNumber),
        this.changesKey,
        this.maxLogLines,
        `… (earlier lines cut: a try keeps its last ${this.maxLogLines} log lines)`,
        ...lines.slice(first, first + 1_000).map(cut),
      );
    }
  }

  async logs(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<string[]> {
    return this.redis.lrange(this.logKey(dagId, runId, taskId, tryNumber), 0, -1);
  }

  async isPaused(dagId: string, pausedOnCreation = false): Promise<boolean> {
    const value = await this.redis.hget(this.dagKey(dagId), 'paused');
    return value === null ? pausedOnCreation : value === '1';
  }

  /** Unpausing makes the DAG due at once, so the next scheduler pass looks at it. */
  async setPaused(dagId: string, paused: boolean): Promise<void> {
    const multi = this.redis.multi().hset(this.dagKey(dagId), 'paused', paused ? '1' : '0');
    if (!paused) multi.zadd(this.dueKey, '0', dagId);
    await multi.incr(this.changesKey).exec();
  }

  async poolSlots(name: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.key('pools'), name);
    return value === null ? undefined : Number(value);
  }

  async pools(): Promise<Record<string, number>> {
    const all = await this.redis.hgetall(this.key('pools'));
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(v)]));
  }

  async setPool(name: string, slots: number): Promise<void> {
    await this.redis.multi().hset(this.key('pools'), name, String(slots)).incr(this.changesKey).exec();
  }

  async poolUsage(name: string): Promise<number> {
    const key = this.slotKey('pool', name);
    await this.redis.zremrangebyscore(key, '-inf', Date.now());
    return this.redis.zcard(key);
  }

  /**
   * Deletes finished runs that ended before `before`, with their task instances, outputs and logs.
   * History ages from a run's end, not its logical date: a catch-up or backfill of intervals older
   * than the retention is kept for the whole retention after it ran. (A run finished before ends were
   * recorded ages from its creation.)
   */
  async deleteRunsBefore(dagId: string, before: Date): Promise<number> {
    return this.deleteRuns(dagId, await this.runsEndedBefore(dagId, before.getTime()));
  }

  /**
   * Deletes the DAG's finished runs other than its `keep` latest (by logical date), with their task
   * instances, outputs and logs. A queued or running run is never deleted, however old.
   */
  async deleteRunsBeyond(dagId: string, keep: number): Promise<number> {
    const older = await this.redis.zrevrange(this.runsKey(dagId), String(keep), '-1');
    if (older.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of older) pipeline.hget(this.runKey(dagId, id), 'state');
    const rows = (await pipeline.exec()) ?? [];
    const finished = older.filter((_, i) => rows[i]?.[1] === 'success' || rows[i]?.[1] === 'failed');
    return this.deleteRuns(dagId, finished);
  }

  private async deleteRuns(dagId: string, runIds: readonly string[]): Promise<number> {
    for (const runId of runIds) {
      // Each try's log key follows from its task instance's try count: no scan of the keyspace.
      const logKeys = Object.entries(await this.snapshot(dagId, runId)).flatMap(([taskId, ti]) =>
        Array.from({ length: ti.try }, (_, i) => this.logKey(dagId, runId, taskId, i + 1)),
      );
      await this.redis.runwayDeleteRun(
        7 + logKeys.length,
        this.runKey(dagId, runId),
        this.tiKey(dagId, runId),
        this.outKey(dagId, runId),
        this.runsKey(dagId),
        this.activeKey(dagId),
        this.queuedKey(dagId),
        this.runCountsKey,
        ...logKeys,
        runId,
        dagId,
      );
    }
    if (runIds.length > 0) await this.redis.incr(this.changesKey);
    return runIds.length;
  }

  /** Finished runs of the DAG whose end (or, for runs without one, creation) is before `before` (ms). */
  private async runsEndedBefore(dagId: string, before: number): Promise<string[]> {
    // A run ends after its logical date (unless triggered for a future one; the count retention
    // bounds those), so only runs with an older logical date are read: an hourly retention pass then
    // reads the runs about to go, not the 1,000 each DAG keeps.
    const ids = await this.redis.zrangebyscore(this.runsKey(dagId), '-inf', `(${before}`);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.runKey(dagId, id), 'state', 'record');
    const rows = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => {
      const [state, raw] = (rows[i]?.[1] ?? [null, null]) as [string | null, string | null];
      if ((state !== 'success' && state !== 'failed') || !raw) return false;
      const run = decodeRunRecord(raw);
      return Date.parse(run.endedAt ?? run.createdAt) < before;
    });
  }
}

function parseSnapshot(flat: readonly string[]): Record<string, TaskInstanceRecord> {
  const snapshot: Record<string, TaskInstanceRecord> = {};
  for (let i = 0; i < flat.length; i += 2) snapshot[flat[i]!] = JSON.parse(flat[i + 1]!) as TaskInstanceRecord;
  return snapshot;
}
