/**
 * What the DAG list shows of each DAG's state, for one page of DAGs in one Redis round trip: the
 * last interval scheduled, whether a person paused it, and its latest runs' states. At 2,000 DAGs a
 * read per DAG and per run made the list take a second; a page costs one script call.
 */
import type { RedisClient } from '../redis/connect.ts';
import type { DagRunState } from '../core/model.ts';
import type { RunStore } from './run-store.ts';

// Keys follow RunStore's layout: <prefix>:dag:<id>, <prefix>:runs:<id>, <prefix>:run:<id>:<runId>,
// all under one hash tag. KEYS: last-scheduled, last-scheduled-end. ARGV: prefix, runs per DAG, DAG ids...
const READ_PAGE = `
local out = {}
local latest = tonumber(ARGV[2])
for i = 3, #ARGV do
  local dagId = ARGV[i]
  local runs = {}
  local ids = redis.call('ZREVRANGE', ARGV[1] .. ':runs:' .. dagId, 0, latest - 1)
  for _, runId in ipairs(ids) do
    runs[#runs + 1] = runId
    runs[#runs + 1] = redis.call('HGET', ARGV[1] .. ':run:' .. dagId .. ':' .. runId, 'state') or ''
  end
  out[#out + 1] = {
    redis.call('ZSCORE', KEYS[1], dagId) or '',
    redis.call('ZSCORE', KEYS[2], dagId) or '',
    redis.call('HGET', ARGV[1] .. ':dag:' .. dagId, 'paused') or '',
    runs,
  }
end
return out`;

export interface DagPageState {
  lastScheduled: { start?: Date; end?: Date };
  /** Set by a person; undefined when nobody did (the DAG's `pausedOnCreation` decides). */
  paused: boolean | undefined;
  /** The latest runs, newest logical date first. */
  recentRuns: { runId: string; state: DagRunState }[];
}

type Scripted = RedisClient & { runwayReadDagPage(...args: (string | number)[]): Promise<unknown> };

export async function readDagPage(
  redis: RedisClient,
  store: RunStore,
  dagIds: readonly string[],
  recent: number,
): Promise<Map<string, DagPageState>> {
  const scripted = redis as Scripted;
  if (typeof scripted.runwayReadDagPage !== 'function') {
    redis.defineCommand('runwayReadDagPage', { numberOfKeys: 2, lua: READ_PAGE });
  }
  const page = new Map<string, DagPageState>();
  if (dagIds.length === 0) return page;
  const rows = (await scripted.runwayReadDagPage(
    store.key('last-scheduled'),
    store.key('last-scheduled-end'),
    store.prefix,
    recent,
    ...dagIds,
  )) as [string, string, string, string[]][];
  dagIds.forEach((dagId, i) => {
    const [start, end, paused, runs] = rows[i]!;
    const recentRuns: DagPageState['recentRuns'] = [];
    for (let r = 0; r < runs.length; r += 2) {
      if (runs[r + 1]) recentRuns.push({ runId: runs[r]!, state: runs[r + 1] as DagRunState });
    }
    page.set(dagId, {
      lastScheduled: {
        ...(start ? { start: new Date(Number(start)) } : {}),
        ...(end ? { end: new Date(Number(end)) } : {}),
      },
      paused: paused === '' ? undefined : paused === '1',
      recentRuns,
    });
  });
  return page;
}
