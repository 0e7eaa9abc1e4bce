/**
 * A clear restarts its run's clock, as Airflow's clear resets the start date of a finished run.
 * The run store's finish script does so for a finished run it reopens; this does it for a run past
 * its `dagRunTimeout` whose teardowns still run (in Airflow that run would be finished already):
 * its timeout mark goes, or the tasks cleared would be skipped again for the old timeout. A running
 * run that has not timed out keeps its clock, as in Airflow.
 */
import type { RedisClient } from '../redis/connect.ts';
import type { RunStore } from './run-store.ts';

// KEYS: run, change counter. ARGV: now (ISO). 1 if the run was running past its timeout and its clock restarted.
const RESTART_RUN_CLOCK = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local record = cjson.decode(redis.call('HGET', KEYS[1], 'record'))
if record.timedOutAt == nil then return 0 end
record.startedAt = ARGV[1]
record.timedOutAt = nil
redis.call('HSET', KEYS[1], 'record', cjson.encode(record))
redis.call('INCR', KEYS[2])
return 1`;

/** Restarts the `dagRunTimeout` clock of a running run marked timed out and drops the mark; false for any other run. */
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
