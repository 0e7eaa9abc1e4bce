/**
 * What bounds the Redis memory a run leaves behind: the count of runs kept per DAG, the caps on
 * outputs and logs, and BullMQ's completed jobs and event stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { QUEUE_EVENTS_KEPT } from '../runner/state/engine.ts';
import { MAX_OUTPUT_BYTES } from '../runner/core/output-cap.ts';

let runway: TestRunway;
afterEach(async () => runway?.close());

const day = (n: number) => new Date(Date.UTC(2026, 2, n));

/** Triggers one run per day and waits for each to finish. */
async function finishedRuns(dagId: string, days: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 1; n <= days; n++) {
    const run = await runway.trigger(dagId, {}, day(n));
    expect((await runway.waitForRun(dagId, run.runId)).state).toBe('success');
    ids.push(run.runId);
  }
  return ids;
}

describe('runs kept per DAG', () => {
  it("keeps exactly a DAG's keepRuns latest runs, deleting the older ones with their logs", async () => {
    const counted = dag({ ...manualDag, id: 'data_lake__counted', keepRuns: 3 }).task('work', {}, async (ctx) =>
      ctx.log.info('working'),
    );
    runway = testRunway([counted]);
    runway.worker();
    const ids = await finishedRuns('data_lake__counted', 5);
    const scheduler = new Scheduler(runway.engine, { retentionRuns: 100 });
    expect(await scheduler.applyRetention('data_lake__counted')).toBe(2);
    const kept = (await runway.engine.store.listRuns('data_lake__counted', 100)).map((r) => r.runId);
    expect(kept).toEqual(ids.slice(2).reverse());
    expect(await runway.engine.store.logs('data_lake__counted', ids[0]!, 'work', 1)).toEqual([]);
    expect(await runway.engine.store.snapshot('data_lake__counted', ids[1]!)).toEqual({});
    expect(await runway.engine.store.logs('data_lake__counted', ids[2]!, 'work', 1)).toHaveLength(1);
    expect(await scheduler.applyRetention('data_lake__counted')).toBe(0);
  });

  it("keeps the scheduler's retentionRuns for a DAG without keepRuns, and never an unfinished run", async () => {
    const plain = dag({ ...manualDag, id: 'data_lake__plain' }).task('work', {}, async () => 1);
    runway = testRunway([plain]);
    runway.worker();
    const ids = await finishedRuns('data_lake__plain', 3);
    // A run older than every kept one, still queued: retention must not delete it.
    const loaded = runway.engine.loaded('data_lake__plain');
    const old = day(0);
    await runway.engine.createRun(loaded, {
      runId: 'manual__queued',
      runType: 'manual',
      start: old,
      end: old,
      conf: {},
    });
    const scheduler = new Scheduler(runway.engine, { retentionRuns: 2 });
    expect(await scheduler.applyRetention('data_lake__plain')).toBe(1);
    const kept = (await runway.engine.store.listRuns('data_lake__plain', 100)).map((r) => r.runId);
    expect(kept).toEqual([ids[2], ids[1], 'manual__queued']);
  });

  it('refuses a keepRuns that is not a positive whole number, naming the field', () => {
    expect(() => dag({ ...manualDag, id: 'data_lake__bad_keep', keepRuns: 0 })).toThrow(/keepRuns/);
  });
});

describe('outputs and logs', () => {
  it('keeps an output past the cap as a marker saying it was cut, which downstream tasks receive', async () => {
    const seen: unknown[] = [];
    const big = dag({ ...manualDag, id: 'data_lake__big_output' })
      .task('extract', {}, async () => ({ rows: 'x'.repeat(MAX_OUTPUT_BYTES) }))
      .task('small', {}, async () => ({ rows: 3 }))
      .task('load', { upstream: ['extract'] }, async (ctx) => void seen.push(ctx.upstream.extract));
    runway = testRunway([big]);
    runway.worker();
    const run = await runway.trigger('data_lake__big_output', {}, day(1));
    expect((await runway.waitForRun('data_lake__big_output', run.runId)).state).toBe('success');
    const outputs = await runway.engine.store.outputs('data_lake__big_output', run.runId, ['extract', 'small']);
    expect(outputs.small).toEqual({ rows: 3 });
    const cut = outputs.extract as { runwayOutputCut: string; head: string };
    expect(cut.runwayOutputCut).toMatch(/^output cut: its JSON is 65547 bytes, over the 65536-byte cap/);
    expect(cut.head).toMatch(/^\{"rows":"xxx/);
    expect(cut.head.length).toBe(1_024);
    expect(seen).toEqual([cut]);
  });

  it("keeps a try's last log lines, the first kept line saying that earlier ones were cut", async () => {
    const chatty = dag({ ...manualDag, id: 'data_lake__chatty' }).task('work', {}, async (ctx) => {
      for (let i = 1; i <= 2_500; i++) ctx.log.info(`line ${i}`);
    });
    runway = testRunway([chatty]);
    runway.worker();
    const run = await runway.trigger('data_lake__chatty', {}, day(1));
    expect((await runway.waitForRun('data_lake__chatty', run.runId)).state).toBe('success');
    const lines = await runway.engine.store.logs('data_lake__chatty', run.runId, 'work', 1);
    expect(lines).toHaveLength(2_000);
    expect(lines[0]).toBe('… (earlier lines cut: a try keeps its last 2000 log lines)');
    expect(lines[1]).toMatch(/line 502$/);
    expect(lines[1_999]).toMatch(/line 2500$/);
  });
});

describe("BullMQ's share", () => {
  it('removes completed jobs and keeps the event stream near its cap however many tasks ran', async () => {
    const width = 600;
    let wide = dag({ ...manualDag, id: 'data_lake__wide' });
    for (let i = 0; i < width; i++) wide = wide.task(`t${i}`, {}, async () => i) as never;
    runway = testRunway([wide]);
    runway.worker({ concurrency: 16 });
    const run = await runway.trigger('data_lake__wide', {}, day(1));
    expect((await runway.waitForRun('data_lake__wide', run.runId, 60_000)).state).toBe('success');
    // The run ends inside the last job, just before BullMQ completes (and removes) that job.
    const jobs = `${runway.prefix}:tasks-default:data_lake__wide|*`;
    await until('every job to be removed', async () =>
      (await runway.redis.keys(jobs)).length === 0 ? true : undefined,
    );
    const events = `${runway.prefix}:tasks-default:events`;
    const info = (await runway.redis.xinfo('STREAM', events)) as unknown[];
    const field = (name: string) => Number(info[info.indexOf(name) + 1]);
    // Each job adds several events (added, waiting, active, completed, ...): far more than the cap.
    expect(field('entries-added')).toBeGreaterThan(2 * QUEUE_EVENTS_KEPT);
    // XTRIM with `~` trims whole stream nodes (100 entries each by default), so it may keep a node more.
    expect(field('length')).toBeLessThanOrEqual(QUEUE_EVENTS_KEPT + 100);
    expect(await runway.redis.zcard(`${runway.prefix}:tasks-default:completed`)).toBe(0);
  });
});
