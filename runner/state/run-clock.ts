/**
 * A clear restarts its run's clock, as Airflow's clear resets a run's start date. The run store's
 * finish script does so for a finished run it reopens; this does it for a run still running,
 * which may be one past its `dagRunTimeout` whose teardowns still run: its timeout mark goes, or
 * the tasks cleared would be skipped again for the old timeout.
 */
import type { RedisClient } from '../redis/connect.ts';
import type { RunStore } from './run-store.ts';

// KEYS: run, change counter. ARGV: now (ISO). 1 if the run was running and its clock restarted.
const RESTART_RUN_CLOCK = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local record = cjson.decode(redis.call('HGET', KEYS[1], 'record'))
record.startedAt = ARGV[1]
record.timedOutAt = nil
redis.call('HSET', KEYS[1], 'record', cjson.encode(record))
redis.call('INCR', KEYS[2])
return 1`;

/** Restarts a running run's `dagRunTimeout` clock and drops its timeout mark; false if it is not running. */
export async function restartRunClock(
  redis: RedisClient,
  store: RunStore,
  dagId: string,
  runId: string,
  now = new Date(),
): Promise<boolean> {
  const restarted = await redis.eval(
    RESTART_RUN_CLOCK,
    2,
    store.runKey(dagId, runId),
    store.key('changes'),
    now.toISOString(),
  );
  return restarted === 1;
}
