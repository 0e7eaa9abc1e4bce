/**
 * Asset events in Redis. Each asset keeps its newest events (a sorted set scored by a global
 * sequence) and its newest id; each consuming DAG keeps, per asset, the id of the newest event it
 * has consumed. A consumer's condition holds when its assets' newest ids are past its cursors; the
 * run it gets is created, and the cursors moved, in one script, compare-and-set on the cursors: of
 * several schedulers and workers seeing one condition hold, exactly one creates the run.
 *
 * Keys (under the run store's prefix, so one hash tag and one Redis Cluster slot):
 * `asset:seq` (the sequence), `asset:latest` (hash URI -> newest id: also the list of known
 * assets), `asset:events:<uri>` (sorted set), `asset:cursor:<dagId>` (hash URI -> consumed id),
 * `asset:emitted:<dag>|<run>|<task>|<generation>|<try>` (a try's events are recorded once),
 * and the field `assetEvents` of an asset-triggered run's hash (its triggering events).
 */
import type { RedisClient } from '../redis/connect.ts';
import type { AssetEvent } from '../core/asset.ts';
import type { DagRunRecord } from '../core/model.ts';
import { CREATE_RUN, type RunStore } from './run-store.ts';

/** Events kept per asset: `runway assets events` shows them; a consumer gets at most these. */
export const EVENTS_KEPT = 1_000;
/** How long a try's "events recorded" mark lives: longer than any retry of a lost job. */
const EMITTED_TTL_S = 7 * 86_400;

// KEYS: sequence, latest hash, emitted mark, changes counter, then one events set per event.
// ARGV: events kept, mark ttl (s), then per event its URI and its JSON without `id` (it starts with '{').
// Returns the new ids, or an empty list when this try's events were recorded already.
const RECORD = `
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return {} end
local kept = tonumber(ARGV[1])
local ids = {}
for i = 5, #KEYS do
  local uri = ARGV[3 + (i - 5) * 2]
  local body = ARGV[4 + (i - 5) * 2]
  local id = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[i], id, '{"id":' .. id .. ',' .. string.sub(body, 2))
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(kept + 1))
  redis.call('HSET', KEYS[2], uri, id)
  ids[#ids + 1] = id
end
redis.call('INCR', KEYS[4])
return ids`;

// CREATE_RUN as a function: its KEYS and ARGV are this function's parameters.
// KEYS: CREATE_RUN's keys, then the consumer's cursor hash. ARGV: the number of CREATE_RUN keys and
// arguments, CREATE_RUN's arguments, the triggering events (a JSON array), then per asset its URI,
// the cursor the caller read and the id to move it to. Returns 1 if the run was created.
const CONSUME = `
local function create_run(KEYS, ARGV)
${CREATE_RUN}
end
local nkeys, nargs = tonumber(ARGV[1]), tonumber(ARGV[2])
local cursor = KEYS[nkeys + 1]
local first = 3 + nargs + 1
for i = first, #ARGV, 3 do
  local current = redis.call('HGET', cursor, ARGV[i]) or '0'
  if current ~= ARGV[i + 1] then return 0 end
end
local create_keys, create_args = {}, {}
for i = 1, nkeys do create_keys[i] = KEYS[i] end
for i = 1, nargs do create_args[i] = ARGV[2 + i] end
if create_run(create_keys, create_args) ~= 1 then return 0 end
redis.call('HSET', KEYS[1], 'assetEvents', ARGV[3 + nargs])
for i = first, #ARGV, 3 do redis.call('HSET', cursor, ARGV[i], ARGV[i + 2]) end
return 1`;

type Scripted = RedisClient &
  Record<'runwayRecordAssetEvents' | 'runwayConsumeAssetEvents', (...args: (string | number)[]) => Promise<unknown>>;

/** What a task's success records for one outlet. */
export interface AssetEventInput {
  uri: string;
  sourceDagId: string;
  sourceRunId: string;
  sourceTaskId: string;
  /** The extra as JSON text (checked by `extraJson`), or undefined for none. */
  extraJson?: string;
}

/** One consumer's view of its assets: what it consumed, and what is there. */
export interface ConsumerState {
  paused: string | null;
  /** Per URI: the newest consumed id (0: none yet) and the newest recorded id (0: none). */
  assets: Map<string, { consumed: number; latest: number }>;
}

/** An asset-triggered run to create: the record, and per asset the cursor move it consumes. */
export interface Consumption {
  run: DagRunRecord;
  taskIds: readonly string[];
  events: readonly AssetEvent[];
  moves: readonly { uri: string; from: number; to: number }[];
}

export class AssetEventStore {
  private readonly redis: Scripted;

  constructor(
    redis: RedisClient,
    private readonly store: RunStore,
  ) {
    const scripted = redis as Scripted;
    if (typeof scripted.runwayConsumeAssetEvents !== 'function') {
      redis.defineCommand('runwayRecordAssetEvents', { lua: RECORD });
      redis.defineCommand('runwayConsumeAssetEvents', { lua: CONSUME });
    }
    this.redis = scripted;
  }

  private get latestKey() {
    return this.store.key('asset', 'latest');
  }
  private eventsKey = (uri: string) => this.store.key('asset', 'events', uri);
  private cursorKey = (dagId: string) => this.store.key('asset', 'cursor', dagId);

  /**
   * Records one try's events, once: a second call for the same try (a job run again after its
   * worker died) records nothing. Returns the new events' ids, empty when recorded already.
   */
  async record(
    attempt: { dagId: string; runId: string; taskId: string; generation: number; tryNumber: number },
    events: readonly AssetEventInput[],
    at: Date = new Date(),
  ): Promise<number[]> {
    if (events.length === 0) return [];
    const mark = this.store.key(
      'asset',
      'emitted',
      [attempt.dagId, attempt.runId, attempt.taskId, attempt.generation, attempt.tryNumber].join('|'),
    );
    const keys = [
      this.store.key('asset', 'seq'),
      this.latestKey,
      mark,
      this.store.key('changes'),
      ...events.map((e) => this.eventsKey(e.uri)),
    ];
    const args = events.flatMap((e) => [
      e.uri,
      // Built as text: the extra is already JSON, and re-encoding it in Lua would turn [] into {}.
      `{"uri":${JSON.stringify(e.uri)},"at":${JSON.stringify(at.toISOString())},"sourceDagId":${JSON.stringify(e.sourceDagId)},` +
        `"sourceRunId":${JSON.stringify(e.sourceRunId)},"sourceTaskId":${JSON.stringify(e.sourceTaskId)},"extra":${e.extraJson ?? 'null'}}`,
    ]);
    const ids = (await this.redis.runwayRecordAssetEvents(
      keys.length,
      ...keys,
      EVENTS_KEPT,
      EMITTED_TTL_S,
      ...args,
    )) as number[];
    return ids.map(Number);
  }

  /** A consumer's cursors and its assets' newest ids, and whether it is paused: one round trip. */
  async consumerState(dagId: string, uris: readonly string[]): Promise<ConsumerState> {
    const rows = (await this.redis
      .pipeline()
      .hget(this.store.dagKey(dagId), 'paused')
      .hmget(this.cursorKey(dagId), ...uris)
      .hmget(this.latestKey, ...uris)
      .exec()) as [Error | null, unknown][];
    for (const [error] of rows) if (error) throw error;
    const consumed = rows[1]![1] as (string | null)[];
    const latest = rows[2]![1] as (string | null)[];
    return {
      paused: rows[0]![1] as string | null,
      assets: new Map(
        uris.map((uri, i) => [uri, { consumed: Number(consumed[i] ?? 0), latest: Number(latest[i] ?? 0) }]),
      ),
    };
  }

  /** Events of `uri` with ids in (after, upTo], oldest first, at most the newest `limit`. */
  async eventsBetween(uri: string, after: number, upTo: number, limit = EVENTS_KEPT): Promise<AssetEvent[]> {
    const newestFirst = await this.redis.zrevrangebyscore(
      this.eventsKey(uri),
      String(upTo),
      `(${after}`,
      'LIMIT',
      0,
      limit,
    );
    return newestFirst.reverse().map((json) => JSON.parse(json) as AssetEvent);
  }

  /** The newest events of an asset, newest first. */
  async recentEvents(uri: string, limit = 25): Promise<AssetEvent[]> {
    const rows = await this.redis.zrevrange(this.eventsKey(uri), 0, limit - 1);
    return rows.map((json) => JSON.parse(json) as AssetEvent);
  }

  /** Every asset that has had an event, with its newest event id. */
  async knownAssets(): Promise<Map<string, number>> {
    const all = await this.redis.hgetall(this.latestKey);
    return new Map(Object.entries(all).map(([uri, id]) => [uri, Number(id)]));
  }

  /**
   * Creates the run and moves the consumer's cursors, if no one moved them since they were read;
   * true for the one caller that did.
   */
  async consume(consumption: Consumption): Promise<boolean> {
    const { keys, args } = this.store.createRunCall(consumption.run, consumption.taskIds);
    const created = await this.redis.runwayConsumeAssetEvents(
      keys.length + 1,
      ...keys,
      this.cursorKey(consumption.run.dagId),
      keys.length,
      args.length,
      ...args,
      JSON.stringify(consumption.events),
      ...consumption.moves.flatMap((m) => [m.uri, String(m.from), String(m.to)]),
    );
    return created === 1;
  }

  /** The events that triggered a run; empty for a run that assets did not trigger. */
  async runEvents(dagId: string, runId: string): Promise<AssetEvent[]> {
    const raw = await this.redis.hget(this.store.runKey(dagId, runId), 'assetEvents');
    return raw ? (JSON.parse(raw) as AssetEvent[]) : [];
  }
}
