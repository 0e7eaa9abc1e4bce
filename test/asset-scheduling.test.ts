import { afterEach, describe, expect, it } from 'vitest';
import { allOf, anyOf, asset, dag, type Asset, type AssetEvent } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';
import { AssetTrigger } from '../runner/services/asset-trigger.ts';
import type { DagRunRecord } from '../runner/core/model.ts';

let runway: TestRunway;
afterEach(async () => runway?.close());

const rawEvents = asset<{ partition: string; rows: number }>('s3://lake-raw/events/');
const rawClicks = asset('s3://lake-raw/clicks/');
const base = { ...manualDag, tags: ['data-lake'] };

/** A producer that updates `outlets` and says which partition it wrote. */
function producer(id: string, outlets: readonly Asset<unknown>[] = [rawEvents]) {
  return dag({ ...base, id }).task('land', { outlets }, async (ctx) => {
    for (const outlet of outlets) {
      if (outlet.uri === rawEvents.uri) ctx.assets.setExtra(rawEvents, { partition: ctx.ds, rows: 120 });
    }
    return null;
  });
}

/** A consumer whose one task hands on the triggering events it saw. */
function consumer(id: string, schedule: Parameters<typeof dag>[0]['schedule']) {
  return dag({ ...base, id, schedule }).task('transform', {}, async (ctx) => ({
    all: ctx.assets.triggeringEvents.map((e) => ({ uri: e.uri, source: e.sourceDagId, extra: e.extra })),
    partitions: ctx.assets.of(rawEvents).map((e) => e.extra?.partition ?? null),
  }));
}

async function runsOf(dagId: string): Promise<DagRunRecord[]> {
  return runway.engine.store.listRuns(dagId, 100);
}

async function finishedRuns(dagId: string, count: number): Promise<DagRunRecord[]> {
  return until(`${count} finished run(s) of ${dagId}`, async () => {
    const runs = (await runsOf(dagId)).filter((r) => r.state === 'success' || r.state === 'failed');
    return runs.length >= count ? runs : undefined;
  });
}

async function transformOutput(dagId: string, runId: string) {
  return (await runway.engine.store.outputs(dagId, runId, ['transform'])).transform as {
    all: { uri: string; source: string; extra: unknown }[];
    partitions: (string | null)[];
  };
}

describe('asset-scheduled DAGs', () => {
  it('run on the event of the producing task, which the worker itself triggers, with the events typed in the context', async () => {
    runway = testRunway([producer('data_lake__land_events'), consumer('data_lake__transform', [rawEvents])]);
    runway.worker(); // no scheduler: the producing task's own job creates the consumer's run
    const made = await runway.trigger('data_lake__land_events', {}, new Date('2026-03-01T00:00:00Z'));
    expect((await runway.waitForRun('data_lake__land_events', made.runId)).state).toBe('success');
    const [run] = await finishedRuns('data_lake__transform', 1);
    expect(run!.state).toBe('success');
    expect(run!.runType).toBe('asset_triggered');
    expect(run!.runId).toMatch(/^asset_triggered__\d{4}-\d\d-\d\dT[\d:.]+Z_\d+$/);
    const output = await transformOutput('data_lake__transform', run!.runId);
    expect(output.all).toEqual([
      { uri: rawEvents.uri, source: 'data_lake__land_events', extra: { partition: '2026-03-01', rows: 120 } },
    ]);
    expect(output.partitions).toEqual(['2026-03-01']);
    const [event] = await new AssetTrigger(runway.engine).events.recentEvents(rawEvents.uri);
    expect(event).toMatchObject({ sourceRunId: made.runId, sourceTaskId: 'land' });
    expect(run!.logicalDate).toBe(event!.at);
  });

  it('records no event for a task that fails or is skipped', async () => {
    const failing = dag({ ...base, id: 'data_lake__fails' }).task('land', { outlets: [rawEvents] }, async () => {
      throw new Error('the bucket is gone');
    });
    runway = testRunway([failing, consumer('data_lake__transform', [rawEvents])]);
    runway.worker();
    const made = await runway.trigger('data_lake__fails');
    expect((await runway.waitForRun('data_lake__fails', made.runId)).state).toBe('failed');
    expect(await new AssetTrigger(runway.engine).events.recentEvents(rawEvents.uri)).toEqual([]);
    expect(await new AssetTrigger(runway.engine).checkAll()).toBe(0);
    expect(await runsOf('data_lake__transform')).toEqual([]);
  });

  it('several producers, one consumer on all of them: one run once each has an event, with every event', async () => {
    runway = testRunway([
      producer('data_lake__land_events'),
      producer('data_lake__land_clicks', [rawClicks]),
      consumer('data_lake__join', allOf(rawEvents, rawClicks)),
    ]);
    runway.worker();
    for (const day of ['2026-03-01', '2026-03-02']) {
      const r = await runway.trigger('data_lake__land_events', {}, new Date(`${day}T00:00:00Z`));
      await runway.waitForRun('data_lake__land_events', r.runId);
    }
    // Two events of one asset: the condition needs the other one too.
    expect(await new AssetTrigger(runway.engine).checkAll()).toBe(0);
    expect(await runsOf('data_lake__join')).toEqual([]);
    const clicks = await runway.trigger('data_lake__land_clicks');
    await runway.waitForRun('data_lake__land_clicks', clicks.runId);
    const [run] = await finishedRuns('data_lake__join', 1);
    const output = await transformOutput('data_lake__join', run!.runId);
    expect(output.all.map((e) => e.uri)).toEqual([rawEvents.uri, rawEvents.uri, rawClicks.uri]);
    expect(output.partitions).toEqual(['2026-03-01', '2026-03-02']);
    expect(run!.dataIntervalStart < run!.dataIntervalEnd).toBe(true);
    // Consumed: nothing more to run on.
    expect(await new AssetTrigger(runway.engine).checkAll()).toBe(0);
    expect(await runsOf('data_lake__join')).toHaveLength(1);
  });

  it('one producer, several consumers: each consumer runs once; anyOf runs on either asset', async () => {
    runway = testRunway([
      producer('data_lake__land_events'),
      producer('data_lake__land_clicks', [rawClicks]),
      consumer('data_lake__first', [rawEvents]),
      consumer('data_lake__second', [rawEvents]),
      consumer('data_lake__either', anyOf(rawEvents, rawClicks)),
    ]);
    runway.worker();
    const r = await runway.trigger('data_lake__land_events');
    await runway.waitForRun('data_lake__land_events', r.runId);
    for (const id of ['data_lake__first', 'data_lake__second', 'data_lake__either']) {
      expect((await finishedRuns(id, 1)).map((run) => run.state)).toEqual(['success']);
    }
    const clicks = await runway.trigger('data_lake__land_clicks');
    await runway.waitForRun('data_lake__land_clicks', clicks.runId);
    const either = await finishedRuns('data_lake__either', 2);
    const outputs = await Promise.all(either.map((run) => transformOutput('data_lake__either', run.runId)));
    expect(outputs.map((o) => o.all.map((e) => e.uri)).sort()).toEqual([[rawClicks.uri], [rawEvents.uri]]);
    expect(await new AssetTrigger(runway.engine).checkAll()).toBe(0);
    expect(await runsOf('data_lake__first')).toHaveLength(1);
  });

  it('a paused consumer keeps its events and runs once on all of them when unpaused', async () => {
    runway = testRunway([producer('data_lake__land_events'), consumer('data_lake__transform', [rawEvents])]);
    await runway.engine.store.setPaused('data_lake__transform', true);
    runway.worker();
    for (const day of ['2026-03-01', '2026-03-02', '2026-03-03']) {
      const r = await runway.trigger('data_lake__land_events', {}, new Date(`${day}T00:00:00Z`));
      await runway.waitForRun('data_lake__land_events', r.runId);
    }
    expect(await runsOf('data_lake__transform')).toEqual([]);
    await runway.engine.store.setPaused('data_lake__transform', false);
    runway.scheduler().start();
    const [run] = await finishedRuns('data_lake__transform', 1);
    expect((await transformOutput('data_lake__transform', run!.runId)).partitions).toEqual([
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
    ]);
  });

  it('fails the producing task, naming the asset, when its extra is over 4 kB, and records no event', async () => {
    const greedy = dag({ ...base, id: 'data_lake__greedy' }).task('land', { outlets: [rawEvents] }, async (ctx) => {
      ctx.assets.setExtra(rawEvents, { partition: 'x'.repeat(10_000), rows: 1 });
    });
    runway = testRunway([greedy]);
    runway.worker();
    const made = await runway.trigger('data_lake__greedy');
    expect((await runway.waitForRun('data_lake__greedy', made.runId)).state).toBe('failed');
    const ti = (await runway.engine.store.snapshot('data_lake__greedy', made.runId)).land!;
    expect(ti.error).toMatch(/the extra of asset s3:\/\/lake-raw\/events\/ is \d+ bytes of JSON; at most 4096/);
    expect(await new AssetTrigger(runway.engine).events.recentEvents(rawEvents.uri)).toEqual([]);
  });

  it('records a try’s events once, however often its success is reported again', async () => {
    runway = testRunway([consumer('data_lake__transform', [rawEvents])]);
    const trigger = new AssetTrigger(runway.engine);
    const attempt = { dagId: 'data_lake__p', runId: 'r1', taskId: 'land', generation: 0, tryNumber: 1 };
    const created = await Promise.all(Array.from({ length: 5 }, () => trigger.produced(attempt, [rawEvents.uri])));
    expect(created.reduce((a, b) => a + b, 0)).toBe(1);
    const events: AssetEvent[] = await trigger.events.recentEvents(rawEvents.uri);
    expect(events).toHaveLength(1);
    expect(await runsOf('data_lake__transform')).toHaveLength(1);
  });

  it('records the events of a try whose worker died after its success, when its job runs again', async () => {
    runway = testRunway([producer('data_lake__land_events'), consumer('data_lake__transform', [rawEvents])]);
    const loaded = runway.engine.loaded('data_lake__land_events');
    const now = new Date();
    const runId = 'manual__crashed';
    await runway.engine.createRun(loaded, { runId, runType: 'manual', start: now, end: now });
    await runway.engine.store.startRun('data_lake__land_events', runId, 16);
    // What a worker killed right after recording the success leaves: the instance done, no event.
    const outcome = await runway.engine.store.transition('data_lake__land_events', runId, [
      { task: 'land', from: ['none'], set: { state: 'success', try: 1, startedAt: Date.now(), endedAt: Date.now() } },
    ]);
    expect(outcome.results).toEqual(['ok']);
    const run = (await runway.engine.store.getRun('data_lake__land_events', runId))!;
    await runway.engine.enqueue(loaded, run, 'land', { state: 'success', try: 1, generation: 0 });
    runway.worker();
    const [consumed] = await finishedRuns('data_lake__transform', 1);
    expect((await transformOutput('data_lake__transform', consumed!.runId)).all).toEqual([
      { uri: rawEvents.uri, source: 'data_lake__land_events', extra: null },
    ]);
    const events = await new AssetTrigger(runway.engine).events.recentEvents(rawEvents.uri);
    expect(events.map((e) => e.sourceRunId)).toEqual([runId]);
  });
});
