/**
 * The instances of mapped tasks in Redis. A mapped task keeps its own entry in the run's task
 * instance hash (`load`): `running` once expanded, with `mapLength`, then the state of the whole
 * once every index is done. Its indexes are entries beside it (`load[0]`, `load[1]`, …), each
 * changed by the same compare-and-set script as any task instance, so claims, slots, retries,
 * logs and reconciliation work per index unchanged. The run hash counts each mapped task's
 * terminal indexes (`mapped-terminal:<task>`), so the transition that ends the last one says so
 * (`allIndexesEnded`) without anyone reading the others.
 */
import type { LoadedDag } from '../loader/dag-registry.ts';
import type { DagRunRecord, TaskInstanceRecord } from '../core/model.ts';
import { downstreamOf } from '../core/run-advance.ts';
import { aggregateState, decideExpansion, instanceKey, parseInstanceKey } from '../core/task-mapping.ts';
import { isTerminal } from '../core/trigger-rule.ts';
import { inSlices } from '../core/fan-out-slices.ts';
import type { Engine } from './engine.ts';

/**
 * Expands a mapped task that is still `none` in a running run, in one step: the task becomes
 * `running` with its `mapLength`, each index `scheduled` (made, or reset after a clear), and the
 * indexes past a shorter new list go, with their outputs and logs. The run's instance count
 * follows. Returns the indexes' generations (`fresh` when every index is new: generation and try
 * 0), or nothing if the task was not `none` any more.
 *
 * KEYS: ti hash, run hash, output hash, change counter.
 * ARGV: task id, length, now (ms), log key prefix (`<prefix>:log:<dag>:<run>:`).
 */
const EXPAND = `
if redis.call('HGET', KEYS[2], 'state') ~= 'running' then return false end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local parent = cjson.decode(raw)
if parent.state ~= 'none' then return false end
local n = tonumber(ARGV[2])
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
  return reply
end
-- Never expanded in this run: no index exists yet, so the records go in a few bulk writes, not a
-- read and a write each (HSET in chunks: unpack() cannot spread more than a few thousand values).
if not parent.mapLength and redis.call('HEXISTS', KEYS[1], ARGV[1] .. '[0]') == 0 then
  for first = 0, n - 1, 500 do
    local fields = {}
    for i = first, math.min(first + 499, n - 1) do
      fields[#fields + 1] = ARGV[1] .. '[' .. i .. ']'
      fields[#fields + 1] = fresh
    end
    redis.call('HSET', KEYS[1], unpack(fields))
  end
  redis.call('HINCRBY', KEYS[2], 'total', n)
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

type Scripted = Engine['redis'] & { runwayExpand(...args: (string | number)[]): Promise<string | null> };

function scripted(engine: Engine): Scripted {
  const redis = engine.redis as Scripted;
  if (typeof redis.runwayExpand !== 'function') redis.defineCommand('runwayExpand', { numberOfKeys: 4, lua: EXPAND });
  return redis;
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
  const expansion = decideExpansion({ taskId, mapping }, await mapSource(engine, loaded, run, taskId));
  if (expansion.kind !== 'expand') {
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
  const { store } = engine;
  const reply = await scripted(engine).runwayExpand(
    store.tiKey(run.dagId, run.runId),
    store.runKey(run.dagId, run.runId),
    store.outKey(run.dagId, run.runId),
    store.key('changes'),
    taskId,
    expansion.items.length,
    Date.now(),
    `${store.key('log', run.dagId, run.runId)}:`,
  );
  if (!reply) return false;
  const fresh = { generation: 0, try: 0 };
  const generations = reply === 'fresh' ? undefined : (JSON.parse(reply) as [number, number][]);
  const instances = expansion.items.map((value, i) => ({
    taskId: instanceKey(taskId, i),
    ti: generations ? { generation: generations[i]![0], try: generations[i]![1] } : fresh,
    item: { value },
  }));
  // As any wide fan-out: the first indexes run while the rest are being queued.
  await inSlices(instances, (slice) => engine.enqueueMany(loaded, run, slice));
  return false;
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
