/**
 * `/metrics` counts runs by DAG and state from counts the run scripts keep as runs change: they
 * match the runs in Redis after runs succeed, fail, wait queued, are cleared and are deleted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dag, failNow } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { metricsRegistry, registerStateGauges } from '../runner/services/metrics.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { clearTasks } from '../runner/state/operations.ts';

let runway: TestRunway;
afterEach(async () => runway?.close());

const day = (n: number) => new Date(Date.UTC(2026, 2, n));

/** `runway_dag_runs` as scraped: `{ dagId: { state: count } }`. */
async function scraped(): Promise<Record<string, Record<string, number>>> {
  const text = await metricsRegistry.getSingleMetricAsString('runway_dag_runs');
  const out: Record<string, Record<string, number>> = {};
  for (const [, dagId, state, value] of text.matchAll(
    /^runway_dag_runs\{dag_id="([^"]+)",state="([^"]+)"\} (\d+)$/gm,
  )) {
    out[dagId!] = { ...out[dagId!], [state!]: Number(value) };
  }
  return out;
}

/** The same, counted from the runs themselves. */
async function inRedis(dagIds: readonly string[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const dagId of dagIds) {
    const counts: Record<string, number> = { queued: 0, running: 0, success: 0, failed: 0 };
    for (const run of await runway.engine.store.listRuns(dagId, 100)) counts[run.state]!++;
    out[dagId] = counts;
  }
  return out;
}

describe('run counts for /metrics', () => {
  it('match the runs after they succeed, fail, wait, are cleared and are deleted', async () => {
    let failing = true;
    const good = dag({ ...manualDag, id: 'data_lake__counts_good', keepRuns: 1 }).task('work', {}, async () => 1);
    const bad = dag({ ...manualDag, id: 'data_lake__counts_bad' }).task('work', {}, async () => {
      if (failing) throw failNow('the source is empty');
      return 1;
    });
    runway = testRunway([good, bad]);
    registerStateGauges(runway.engine);
    runway.worker();
    for (const n of [1, 2, 3]) {
      const run = await runway.trigger('data_lake__counts_good', {}, day(n));
      await runway.waitForRun('data_lake__counts_good', run.runId);
    }
    const failed: string[] = [];
    for (const n of [1, 2]) {
      const run = await runway.trigger('data_lake__counts_bad', {}, day(n));
      expect((await runway.waitForRun('data_lake__counts_bad', run.runId)).state).toBe('failed');
      failed.push(run.runId);
    }
    expect(await scraped()).toEqual({
      data_lake__counts_good: { queued: 0, running: 0, success: 3, failed: 0 },
      data_lake__counts_bad: { queued: 0, running: 0, success: 0, failed: 2 },
    });

    failing = false;
    await clearTasks(runway.engine, 'data_lake__counts_bad', failed[0]!, {});
    expect((await runway.waitForRun('data_lake__counts_bad', failed[0]!)).state).toBe('success');
    expect(await new Scheduler(runway.engine).applyRetention('data_lake__counts_good')).toBe(2);
    expect(await scraped()).toEqual({
      data_lake__counts_good: { queued: 0, running: 0, success: 1, failed: 0 },
      data_lake__counts_bad: { queued: 0, running: 0, success: 1, failed: 1 },
    });

    // Created and not started (nothing starts queued runs here): queued.
    const loaded = runway.engine.loaded('data_lake__counts_bad');
    await runway.engine.createRun(loaded, {
      runId: 'manual__waiting',
      runType: 'manual',
      start: day(9),
      end: day(9),
      conf: {},
    });
    expect((await scraped()).data_lake__counts_bad).toEqual({ queued: 1, running: 0, success: 1, failed: 1 });
    expect(await scraped()).toEqual(await inRedis(['data_lake__counts_good', 'data_lake__counts_bad']));
  });

  it('come right at the next retention pass when they were kept wrong (before an upgrade, say)', async () => {
    const plain = dag({ ...manualDag, id: 'data_lake__recounted' }).task('work', {}, async () => 1);
    runway = testRunway([plain]);
    registerStateGauges(runway.engine);
    runway.worker();
    for (const n of [1, 2]) {
      const run = await runway.trigger('data_lake__recounted', {}, day(n));
      await runway.waitForRun('data_lake__recounted', run.runId);
    }
    await runway.redis.hset(runway.engine.store.runCountsKey, 'data_lake__recounted|success', 40);
    await runway.redis.hdel(runway.engine.store.runCountsKey, 'data_lake__recounted|failed');
    expect((await scraped()).data_lake__recounted!.success).toBe(40);
    await new Scheduler(runway.engine).applyRetention('data_lake__recounted');
    expect(await scraped()).toEqual({ data_lake__recounted: { queued: 0, running: 0, success: 2, failed: 0 } });
  });
});
