/**
 * The instances of mapped tasks in Redis. A mapped task keeps its own entry in the run's task
 * instance hash (`load`): `running` once expanded, with `mapLength`, then the state of the whole
 * once every index is done. Its indexes are entries beside it (`load[0]`, `load[1]`, …), each
 * changed by the same compare-and-set script as any task instance, so claims, slots, retries,
 * logs and reconciliation work per index unchanged. The run hash counts each mapped task's
 * terminal indexes (`mapped-terminal:<task>`), so the transition that ends the last one says so
 * (`allIndexesEnded`) without anyone reading the others.
 *
 * A first expansion writes the task and its first index, queues that index, then writes and
 * queues the others a slice at a time (each record before its job: a job whose record is missing
 * is taken as done). A worker that dies in between leaves the task `running` with indexes never
 * made: the scheduler's repair settles the task (`settleMappedTask`), which makes them then.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { downstreamOf } from '../core/run-advance.ts';
import {
  aggregateState,
  decideExpansion,
  DEFAULT_MAX_MAP_LENGTH,
  instanceKey,
  type Expansion,
  parseInstanceKey,
} from '../core/task-mapping.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { inSlices } from '../core/fan-out-slices.ts';
import type { Engine } from './engine.ts';

/**
 * Expands a mapped task that is still `none` in a running run, in one step: the task becomes
 * `running` with its `mapLength`, each index `scheduled` (made, or reset after a clear), and the
 * indexes past a shorter new list go, with their outputs and logs. The run's instance count
 * follows. Returns `{verdict, list}`: the indexes' generations, or `fresh` when every index is new
 * (generation and try 0; only the first slice's records are written then, see below); `list` when
 * the list is not one to expand (not a list, empty, too long: the caller says why); `stale` when
 * the task was not `none` any more. `list` is the source task's output as stored, read here rather
 * than before, so that the first index runs one round trip sooner.
 *
 * KEYS: ti hash, run hash, output hash, change counter.
 * ARGV: task id, length (of a literal list; '' to read the source's), now (ms), log key prefix
 * (`<prefix>:log:<dag>:<run>:`), first slice's size, source task id (''), maxMapLength.
 */
const EXPAND = `
if redis.call('HGET', KEYS[2], 'state') ~= 'running' then return {'stale'} end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'stale'} end
local parent = cjson.decode(raw)
if parent.state ~= 'none' then return {'stale'} end
local n = tonumber(ARGV[2])
local list = false
if ARGV[6] ~= '' then
  list = redis.call('HGET', KEYS[3], ARGV[6])
  -- Only a JSON array is counted here ('{}' and '[]' both decode to an empty table in Lua).
  if not list or string.sub(list, 1, 1) ~= '[' then return {'list', list} end
  local decoded, items = pcall(cjson.decode, list)
  if not decoded then return {'list', list} end
  n = #items
  if n == 0 or n > tonumber(ARGV[7]) then return {'list', list} end
end
local now = tonumber(ARGV[3])
local terminal = { success = true, failed = true, skipped = true, upstream_failed = true }
local created, terminalLeft, generations = 0, 0, {}
-- A new index's record is written as text, not through cjson: a 1,000-element list expands in a
-- few milliseconds, and its first index runs that much sooner.
local fresh = '{"state":"scheduled","try":0,"generation":0,"queuedAt":' .. ARGV[3] .. '}'
local function finish(reply)
  parent.state = 'running'
  parent.mapLength = n
  parent.queuedAt = now
  parent.endedAt = nil
  parent.error = nil
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(parent))
  redis.call('HSET', KEYS[2], 'mapped-terminal:' .. ARGV[1], 0)
  redis.call('INCR', KEYS[4])
  return {reply, list}
end
-- Never expanded in this run: no index exists yet. Only the first slice's records are written
-- here, so that its jobs are queued at once; the others are written slice by slice as their jobs
-- are queued (EXPAND_SLICE), and the run counts each record as it is written.
if not parent.mapLength and redis.call('HEXISTS', KEYS[1], ARGV[1] .. '[0]') == 0 then
  local first = math.min(n, tonumber(ARGV[5]))
  local fields = {}
  for i = 0, first - 1 do
    fields[#fields + 1] = ARGV[1] .. '[' .. i .. ']'
    fields[#fields + 1] = fresh
  end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('HINCRBY', KEYS[2], 'total', first)
  return finish('fresh')
end
for i = 0, n - 1 do
  local key = ARGV[1] .. '[' .. i .. ']'
  local childRaw = redis.call('HGET', KEYS[1], key)
  if childRaw then
    local child = cjson.decode(childRaw)
    if terminal[child.state] then terminalLeft = terminalLeft + 1 end
    child.state = 'scheduled'
    child.queuedAt = now
    redis.call('HSET', KEYS[1], key, cjson.encode(child))
    generations[#generations + 1] = { child.generation, child.try }
  else
    redis.call('HSET', KEYS[1], key, fresh)
    generations[#generations + 1] = { 0, 0 }
    created = created + 1
  end
end
local old = tonumber(parent.mapLength) or 0
local removed = 0
for i = n, old - 1 do
  local key = ARGV[1] .. '[' .. i .. ']'
  local childRaw = redis.call('HGET', KEYS[1], key)
  if childRaw then
    local child = cjson.decode(childRaw)
    if terminal[child.state] then terminalLeft = terminalLeft + 1 end
    for t = 1, tonumber(child.try) or 0 do redis.call('DEL', ARGV[4] .. key .. ':' .. t) end
    redis.call('HDEL', KEYS[1], key)
    redis.call('HDEL', KEYS[3], key)
    removed = removed + 1
  end
end
redis.call('HINCRBY', KEYS[2], 'total', created - removed)
if terminalLeft > 0 then redis.call('HINCRBY', KEYS[2], 'terminal', -terminalLeft) end
return finish(cjson.encode(generations))`;

/**
 * Writes the records of these indexes of a mapped task that do not exist yet, as `scheduled`
 * (generation and try 0), while the task is still `running` with this `mapLength` in a running
 * run (an ended run gets no new scheduled index): the rest of a first expansion, or what a worker that died in the middle of one left unwritten. Returns the
 * indexes written; their jobs are the caller's to queue.
 *
 * KEYS: ti hash, run hash, change counter. ARGV: task id, length, now (ms), indexes...
 */
const EXPAND_SLICE = `
if redis.call('HGET', KEYS[2], 'state') ~= 'running' then return {} end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {} end
local parent = cjson.decode(raw)
if parent.state ~= 'running' or tonumber(parent.mapLength) ~= tonumber(ARGV[2]) then return {} end
local fresh = '{"state":"scheduled","try":0,"generation":0,"queuedAt":' .. ARGV[3] .. '}'
local written = {}
for i = 4, #ARGV do
  if redis.call('HSETNX', KEYS[1], ARGV[1] .. '[' .. ARGV[i] .. ']', fresh) == 1 then
    written[#written + 1] = tonumber(ARGV[i])
  end
end
if #written > 0 then
  redis.call('HINCRBY', KEYS[2], 'total', #written)
  redis.call('INCR', KEYS[3])
end
return written`;

/**
 * A first expansion writes and queues its first index alone, then waits a moment before the
 * others: the worker taking index 0 (and claiming it) would otherwise queue behind the next
 * slices' scripts in Redis and, when it is this process, behind their building in the event loop.
 * With 16 at once and no pause, index 0 started ~3 ms later than a plain task's hop would; with 1
 * and 2 ms, as soon (bench/runner case d). The pause costs a 1,000-index run nothing measurable.
 */
const FIRST = 1;
const HEAD_START_MS = 2;
type Scripted = Engine['redis'] & {
  runwayExpand(...args: (string | number)[]): Promise<[string, string | null]>;
  runwayExpandSlice(...args: (string | number)[]): Promise<number[]>;
};

function scripted(engine: Engine): Scripted {
  const redis = engine.redis as Scripted;
  if (typeof redis.runwayExpand !== 'function') {
    redis.defineCommand('runwayExpand', { numberOfKeys: 4, lua: EXPAND });
    redis.defineCommand('runwayExpandSlice', { numberOfKeys: 3, lua: EXPAND_SLICE });
  }
  return redis;
}

/**
 * Writes the missing records of these indexes, a slice at a time, and queues the jobs of those
 * written, with their elements from `items`. The event loop runs what is pending first: a worker
 * in this process claiming an index just queued goes before the next slice.
 */
async function writeAndQueueIndexes(
  engine: Engine,
  loaded: LoadedDag,
  run: DagRunRecord,
  taskId: string,
  mapLength: number,
  items: readonly unknown[],
  indexes: readonly number[],
  headStartMs = 0,
): Promise<void> {
  const { store } = engine;
  const keys = [store.tiKey(run.dagId, run.runId), store.runKey(run.dagId, run.runId), store.key('changes')];
  const fresh = { generation: 0, try: 0 };
  if (headStartMs > 0) await new Promise((resolve) => setTimeout(resolve, headStartMs));
  await inSlices(indexes, async (slice) => {
    const written = await scripted(engine).runwayExpandSlice(...keys, taskId, mapLength, Date.now(), ...slice);
    if (written.length === 0) return;
    await engine.enqueueMany(
      loaded,
      run,
      written.map((i) => ({ taskId: instanceKey(taskId, i), ti: fresh, item: { value: items[i] } })),
    );
  });
}

/** The list a mapped task maps over in this run: its literal list, or its source task's output. */
export async function mapSource(engine: Engine, loaded: LoadedDag, run: DagRunRecord, taskId: string) {
  // Awaited, not required synchronously: a DAG file with top-level await can only be imported so.
  await loaded.load?.();
  const mapping = loaded.tasks.get(taskId)!.mapping!;
  if (typeof mapping.over !== 'string') return mapping.over;
  return (await engine.store.outputs(run.dagId, run.runId, [mapping.over]))[mapping.over];
}

/**
 * Turns a mapped task whose trigger rule is met into its indexes, or skips it (empty list) or
 * fails it (not a list, too long). True when it ended without indexes, so that its downstream
 * tasks are looked at again.
 */
export async function expandMappedTask(
  engine: Engine,
  loaded: LoadedDag,
  run: DagRunRecord,
  taskId: string,
): Promise<boolean> {
  await loaded.load?.();
  const mapping = loaded.tasks.get(taskId)!.mapping!;
  const { store } = engine;
  const expand = (literal: readonly unknown[] | undefined) =>
    scripted(engine).runwayExpand(
      store.tiKey(run.dagId, run.runId),
      store.runKey(run.dagId, run.runId),
      store.outKey(run.dagId, run.runId),
      store.key('changes'),
      taskId,
      literal ? literal.length : '',
      Date.now(),
      `${store.key('log', run.dagId, run.runId)}:`,
      FIRST,
      literal ? '' : (mapping.over as string),
      mapping.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH,
    );
  const literal = typeof mapping.over === 'string' ? undefined : mapping.over;
  let expansion = literal && decideExpansion({ taskId, mapping }, literal);
  if (expansion && expansion.kind !== 'expand') return endWithoutIndexes(engine, run, taskId, expansion);
  // A source task's output is read (and counted) by the script: one round trip fewer.
  const [firstVerdict, list] = await expand(literal);
  let verdict = firstVerdict;
  if (verdict === 'stale') return false;
  expansion ||= decideExpansion({ taskId, mapping }, list == null ? null : (JSON.parse(list) as unknown));
  if (verdict === 'list') {
    if (expansion.kind !== 'expand') return endWithoutIndexes(engine, run, taskId, expansion);
    // A list the script could not count (deeper than cjson's nesting limit): expanded by its length.
    [verdict] = await expand(expansion.items);
    if (verdict === 'stale') return false;
  }
  if (expansion.kind !== 'expand') return false;
  const { items } = expansion;
  if (verdict === 'fresh') {
    // Only the first slice's records are written: its jobs go at once, the others' records and jobs after.
    const fresh = { generation: 0, try: 0 };
    await engine.enqueueMany(
      loaded,
      run,
      items.slice(0, FIRST).map((value, i) => ({ taskId: instanceKey(taskId, i), ti: fresh, item: { value } })),
    );
    const rest = Array.from({ length: Math.max(0, items.length - FIRST) }, (_, i) => FIRST + i);
    await writeAndQueueIndexes(engine, loaded, run, taskId, items.length, items, rest, HEAD_START_MS);
    return false;
  }
  const generations = JSON.parse(verdict!) as [number, number][];
  const instances = items.map((value, i) => ({
    taskId: instanceKey(taskId, i),
    ti: { generation: generations[i]![0], try: generations[i]![1] },
    item: { value },
  }));
  // As any wide fan-out: the first indexes run while the rest are being queued.
  await inSlices(instances, (slice) => engine.enqueueMany(loaded, run, slice));
  return false;
}

/** Skips (empty list) or fails (not a list, too long) a mapped task; true if this call did. */
async function endWithoutIndexes(
  engine: Engine,
  run: DagRunRecord,
  taskId: string,
  expansion: Exclude<Expansion, { kind: 'expand' }>,
): Promise<boolean> {
  const state = expansion.kind === 'skip' ? 'skipped' : 'failed';
  const outcome = await engine.store.transition(
    run.dagId,
    run.runId,
    [{ task: taskId, from: ['none'], set: { state, endedAt: Date.now(), error: expansion.reason } }],
    { requireRunState: 'running', watch: [] },
  );
  if (outcome.results[0] === 'ok') {
    engine.log[state === 'failed' ? 'error' : 'info'](
      `task ${run.dagId} ${run.runId} ${taskId} ${state}: ${expansion.reason}`,
    );
  }
  return outcome.results[0] === 'ok';
}

/** The items of these mapped instances (`load[3]`, …): one read of each source list. */
export async function itemsOf(
  engine: Engine,
  loaded: LoadedDag,
  run: DagRunRecord,
  keys: readonly string[],
): Promise<Map<string, unknown>> {
  const lists = new Map<string, unknown>();
  const items = new Map<string, unknown>();
  for (const key of keys) {
    const { taskId, mapIndex } = parseInstanceKey(key);
    if (mapIndex === undefined || !loaded.tasks.get(taskId)?.mapping) continue;
    if (!lists.has(taskId)) lists.set(taskId, await mapSource(engine, loaded, run, taskId));
    const list = lists.get(taskId);
    items.set(key, Array.isArray(list) ? list[mapIndex] : undefined);
  }
  return items;
}

/**
 * Mapped tasks of the DAG, with the lengths of those expanded in this run (and not cleared since).
 * From `known` states when they hold every mapped task (read with the caller's transition).
 */
export async function mapLengths(
  engine: Engine,
  loaded: LoadedDag,
  run: Pick<DagRunRecord, 'dagId' | 'runId'>,
  known?: Readonly<Record<string, TaskInstanceRecord>>,
): Promise<Map<string, number>> {
  const lengths = new Map<string, number>();
  const mapped = mappedTaskIds(loaded);
  if (mapped.length === 0) return lengths;
  const states =
    known && mapped.every((id) => id in known) ? known : await engine.store.states(run.dagId, run.runId, mapped);
  for (const taskId of mapped) {
    const ti = states[taskId];
    if (ti && ti.state !== 'none' && ti.mapLength !== undefined) lengths.set(taskId, ti.mapLength);
  }
  return lengths;
}

const mappedIds = new WeakMap<LoadedDag, string[]>();
export function mappedTaskIds(loaded: LoadedDag): string[] {
  let ids = mappedIds.get(loaded);
  if (!ids)
    mappedIds.set(loaded, (ids = loaded.summary.tasks.filter((t) => t.maxMapLength !== undefined).map((t) => t.id)));
  return ids;
}

/**
 * Gives a mapped task the state of its indexes (Airflow's overall state) and lets the run move on
 * from it: the aggregate once every index is done, `running` again after one was cleared. Safe to
 * call any number of times; the change is a compare-and-set.
 */
export async function settleMappedTask(
  engine: Engine,
  loaded: LoadedDag,
  run: DagRunRecord,
  taskId: string,
): Promise<void> {
  const { store } = engine;
  const parent = (await store.states(run.dagId, run.runId, [taskId]))[taskId];
  if (!parent || parent.state === 'none' || parent.mapLength === undefined) return;
  const keys = Array.from({ length: parent.mapLength }, (_, i) => instanceKey(taskId, i));
  const children = await store.states(run.dagId, run.runId, keys);
  const unwritten = keys.flatMap((key, i) => (children[key] ? [] : [i]));
  if (unwritten.length > 0 && parent.state === 'running') {
    await writeUnwrittenIndexes(engine, loaded, run, taskId, parent.mapLength, unwritten);
    return;
  }
  const state = aggregateState(keys.map((key) => children[key]?.state ?? 'none'));
  if (state === parent.state) return;
  const done = isTerminal(state);
  const outcome = await store.transition(run.dagId, run.runId, [
    {
      task: taskId,
      from: [parent.state],
      generation: parent.generation,
      set: done ? { state, endedAt: Date.now() } : { state },
      ...(done ? {} : { unset: ['endedAt', 'durationMs'] as (keyof TaskInstanceRecord)[] }),
    },
  ]);
  if (outcome.results[0] !== 'ok') return;
  await engine.advance(loaded, run, { candidates: downstreamOf(loaded.graph, taskId) });
}

/**
 * The indexes a worker that died in the middle of a first expansion left without a record (and
 * job): written and queued now. Their elements come from the list as it is stored now, as for any
 * index whose job is queued again (`itemsOf`). Once they have ended, the last of them settles the
 * task.
 */
async function writeUnwrittenIndexes(
  engine: Engine,
  loaded: LoadedDag,
  run: DagRunRecord,
  taskId: string,
  mapLength: number,
  unwritten: readonly number[],
): Promise<void> {
  engine.log.warn(
    `task ${run.dagId} ${run.runId} ${taskId}: its expansion was cut short (its worker died?); making its last ${unwritten.length} indexes`,
  );
  const list = await mapSource(engine, loaded, run, taskId);
  await writeAndQueueIndexes(engine, loaded, run, taskId, mapLength, Array.isArray(list) ? list : [], unwritten);
}

/**
 * The outputs of a mapped task's indexes, in index order: what a downstream task gets for it.
 * Indexes that left no output (failed, skipped) are left out, as Airflow leaves them out.
 */
export async function mappedOutputs(
  engine: Engine,
  run: Pick<DagRunRecord, 'dagId' | 'runId'>,
  taskId: string,
): Promise<unknown[] | null> {
  const parent = (await engine.store.states(run.dagId, run.runId, [taskId]))[taskId];
  if (parent?.mapLength === undefined || parent.state === 'none') return null;
  const keys = Array.from({ length: parent.mapLength }, (_, i) => instanceKey(taskId, i));
  const values = await engine.redis.hmget(engine.store.outKey(run.dagId, run.runId), ...keys);
  return values.flatMap((value) => (value == null ? [] : [JSON.parse(value) as unknown]));
}

/** States of a mapped task's indexes, in index order (for the CLI and the UI). */
export async function indexStates(
  engine: Engine,
  run: Pick<DagRunRecord, 'dagId' | 'runId'>,
  taskId: string,
): Promise<{ mapIndex: number; ti: TaskInstanceRecord }[]> {
  const parent = (await engine.store.states(run.dagId, run.runId, [taskId]))[taskId];
  if (parent?.mapLength === undefined) return [];
  const keys = Array.from({ length: parent.mapLength }, (_, i) => instanceKey(taskId, i));
  const states = await engine.store.states(run.dagId, run.runId, keys);
  return keys.flatMap((key, mapIndex) => (states[key] ? [{ mapIndex, ti: states[key] }] : []));
}
