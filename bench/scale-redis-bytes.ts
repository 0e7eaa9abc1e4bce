/**
 * bench/scale's Redis columns: what one finished run costs in Redis, read with `MEMORY USAGE` on the
 * keys the run owns (its record, task instances, outputs, each try's log) plus its entry in the
 * DAG's run index, and what that makes for 2,000 five-minute DAGs at the default retention.
 * BullMQ's event stream is counted apart: it is capped per queue, not per run.
 */
import type { RedisClient } from '../runner/redis/connect.ts';
import type { Engine } from '../runner/state/engine.ts';
import { DEFAULT_KEEP_RUNS, DEFAULT_RETENTION_DAYS } from '../runner/core/retention.ts';

export interface RunBytes {
  /** Mean bytes of the keys one finished run owns, and its share of the run index. */
  perRun: number;
  /** Bytes of BullMQ's event stream of the default queue, once runs have gone through it. */
  eventStream: number;
  /** Redis bytes for 2,000 five-minute DAGs holding the default retention's runs. */
  projected2000: number;
}

/** Runs kept of a five-minute DAG at the default retention: the count bound is reached first. */
export const RUNS_KEPT_PER_FIVE_MINUTE_DAG = Math.min(DEFAULT_KEEP_RUNS, DEFAULT_RETENTION_DAYS * 288);

export async function runBytes(
  redis: RedisClient,
  engine: Engine,
  dagIds: readonly string[],
  runId: string,
): Promise<RunBytes> {
  const sample = dagIds.slice(0, 200);
  const usage = async (key: string) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  let total = 0;
  for (const dagId of sample) {
    const tries = await engine.store.snapshot(dagId, runId);
    const keys = [
      engine.store.key('run', dagId, runId),
      engine.store.key('ti', dagId, runId),
      engine.store.key('out', dagId, runId),
      ...Object.entries(tries).flatMap(([taskId, ti]) =>
        Array.from({ length: ti.try }, (_, i) => engine.store.key('log', dagId, runId, taskId, String(i + 1))),
      ),
    ];
    for (const key of keys) total += await usage(key);
  }
  const perRun = total / sample.length + (await indexEntryBytes(redis, runId));
  const eventStream = await usage(`${engine.prefix}:tasks-default:events`);
  return { perRun, eventStream, projected2000: perRun * 2_000 * RUNS_KEPT_PER_FIVE_MINUTE_DAG + eventStream };
}

/**
 * A run's entry in its DAG's run index when the index holds the retention's runs: a sorted set that
 * large is a skiplist, costlier per entry than the small one the benchmark's single run sits in.
 */
async function indexEntryBytes(redis: RedisClient, runId: string): Promise<number> {
  const key = `{bench-index}:${runId}`;
  const members = Array.from({ length: RUNS_KEPT_PER_FIVE_MINUTE_DAG }, (_, i) => [i, `${runId.slice(0, -4)}${i}`]);
  await redis.zadd(key, ...members.flat());
  const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  await redis.del(key);
  return bytes / members.length;
}

/** The rows bench/scale prints for Redis memory. */
export function redisRows(
  results: readonly { runBytes: RunBytes }[],
  row: (label: string, values: string[], target?: string) => void,
): void {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
  row(
    'Redis bytes per finished run',
    results.map((r) => kb(r.runBytes.perRun)),
  );
  row(
    '  BullMQ event stream (capped)',
    results.map((r) => kb(r.runBytes.eventStream)),
  );
  row(
    `  2,000 DAGs x ${RUNS_KEPT_PER_FIVE_MINUTE_DAG} runs kept`,
    results.map((r) => `${(r.runBytes.projected2000 / 1024 ** 3).toFixed(2)} GiB`),
    '<= 4 GB',
  );
}
