import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { Engine } from '../runner/state/engine.ts';
import { DagRegistry, prepareDag, type AnyDag } from '../runner/loader/dag-registry.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { backfillDag } from '../runner/state/operations.ts';
import { redisUrl, testRunway, type TestRunway } from './helpers/runway.ts';

const hourly = (id: string, extra: object = {}) =>
  dag({
    id,
    description: 'Hourly DAG for scheduler tests with an injected clock.',
    owner: 'data-platform',
    tags: ['data-lake'],
    schedule: '0 * * * *',
    timezone: 'UTC',
    startDate: '2026-01-01T00:00:00Z',
    catchup: true,
    maxActiveRuns: 3,
    ...extra,
  }).task('work', {}, async (ctx) => ctx.ds);

let runway: TestRunway;
const extra: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of extra.splice(0)) await close();
  await runway?.close();
});

describe('scheduler', () => {
  it('three schedulers on one Redis create each scheduled run exactly once, oldest first', async () => {
    runway = testRunway([hourly('data_lake__hourly')]);
    runway.worker({ concurrency: 4 });
    const now = () => new Date('2026-01-01T10:30:00Z');
    const schedulers = [0, 1, 2].map(() => {
      const redis = connectRedis(redisUrl());
      const engine = new Engine({ redis, registry: runway.engine.registry, prefix: runway.prefix, env: {} });
      extra.push(async () => {
        await engine.close();
        redis.disconnect();
      });
      return new Scheduler(engine, { now });
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      await Promise.all(schedulers.map((s) => s.tick()));
      const runs = await runway.engine.store.listRuns('data_lake__hourly', 100);
      expect(runs.filter((r) => r.state === 'running').length).toBeLessThanOrEqual(3);
      if (runs.length === 10 && runs.every((r) => r.state === 'success')) break;
      if (Date.now() > deadline) throw new Error(`runs: ${runs.map((r) => `${r.runId}=${r.state}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    const runs = await runway.engine.store.listRuns('data_lake__hourly', 100);
    expect(runs.map((r) => r.runId).reverse()).toEqual(
      Array.from({ length: 10 }, (_, h) => `scheduled__2026-01-01T${String(h).padStart(2, '0')}:00:00.000Z`),
    );
    expect(
      await runway.engine.store.outputs('data_lake__hourly', 'scheduled__2026-01-01T09:00:00.000Z', ['work']),
    ).toEqual({ work: '2026-01-01' });
  });

  it('creates no run for a paused DAG until it is unpaused', async () => {
    runway = testRunway([hourly('data_lake__paused', { pausedOnCreation: true })]);
    const scheduler = new Scheduler(runway.engine, { now: () => new Date('2026-01-01T02:30:00Z') });
    await scheduler.tick();
    expect(await runway.engine.store.listRuns('data_lake__paused')).toEqual([]);
    await runway.engine.store.setPaused('data_lake__paused', false);
    await scheduler.tick();
    expect((await runway.engine.store.listRuns('data_lake__paused')).map((r) => r.runId).sort()).toEqual([
      'scheduled__2026-01-01T00:00:00.000Z',
      'scheduled__2026-01-01T01:00:00.000Z',
    ]);
  });

  it('fails a run that outlives its dagRunTimeout', async () => {
    const slow = dag({
      id: 'data_lake__run_timeout',
      description: 'A run whose only task takes longer than the run may.',
      owner: 'data-platform',
      tags: ['data-lake'],
      schedule: null,
      timezone: 'UTC',
      startDate: '2026-01-01',
      dagRunTimeout: '300ms',
    }).task('sleep', {}, async () => new Promise((r) => setTimeout(r, 1_500)));
    runway = testRunway([slow]);
    runway.worker();
    const run = await runway.trigger('data_lake__run_timeout');
    const scheduler = runway.scheduler({ tickMs: 50 });
    scheduler.start();
    expect((await runway.waitForRun('data_lake__run_timeout', run.runId)).state).toBe('failed');
  });
});

describe('passes run back to back', () => {
  it('skip a DAG a full pass found quiet, until quietMs of real time has passed', async () => {
    runway = testRunway([hourly('data_lake__quiet', { schedule: null })]);
    const loaded = runway.engine.loaded('data_lake__quiet');
    const queued = async (runId: string) => {
      const at = new Date('2026-01-01T05:00:00Z');
      await runway.engine.createRun(loaded, { runId, runType: 'manual', start: at, end: at });
      return async () => (await runway.engine.store.getRun('data_lake__quiet', runId))!.state;
    };
    const now = () => new Date('2026-01-01T10:30:00Z');
    const patient = new Scheduler(runway.engine, { now, quietMs: 3_600_000 });
    await patient.tick();
    const first = await queued('manual__first');
    await patient.tick();
    expect(await first()).toBe('queued');

    const prompt = new Scheduler(runway.engine, { now, quietMs: 1 });
    await prompt.tick();
    expect(await first()).toBe('running');
    await runway.engine.store.setRunState('data_lake__quiet', 'manual__first', 'success', ['running']);
    await prompt.tick();
    const second = await queued('manual__second');
    const deadline = Date.now() + 10_000;
    while ((await second()) === 'queued' && Date.now() < deadline) await prompt.tick();
    expect(await second()).toBe('running');
  });
});

describe('a DAG changed after it has runs', () => {
  /** The scheduler of a new deployment of `changed` on the same Redis as `runway`. */
  function redeployed(changed: AnyDag, now: string): { scheduler: Scheduler; engine: Engine } {
    const engine = new Engine({
      redis: runway.redis,
      registry: new DagRegistry([prepareDag(changed)]),
      prefix: runway.prefix,
      env: {},
    });
    extra.push(() => engine.close());
    return { scheduler: new Scheduler(engine, { now: () => new Date(now) }), engine };
  }
  const runIds = async (dagId: string) =>
    (await runway.engine.store.listRuns(dagId, 100)).map((r) => r.runId.replace('scheduled__2026-01-0', '')).sort();

  it('honours a start date moved later: no run before the new start date', async () => {
    runway = testRunway([hourly('data_lake__moved', { maxActiveRuns: 30 })]);
    await new Scheduler(runway.engine, { now: () => new Date('2026-01-01T03:30:00Z') }).tick();
    expect(await runIds('data_lake__moved')).toEqual(['1T00:00:00.000Z', '1T01:00:00.000Z', '1T02:00:00.000Z']);
    const later = hourly('data_lake__moved', { maxActiveRuns: 30, startDate: '2026-01-01T10:00:00Z' });
    await redeployed(later, '2026-01-01T12:30:00Z').scheduler.tick();
    expect(await runIds('data_lake__moved')).toEqual([
      '1T00:00:00.000Z',
      '1T01:00:00.000Z',
      '1T02:00:00.000Z',
      '1T10:00:00.000Z',
      '1T11:00:00.000Z',
    ]);
  });

  it('continues a schedule changed from daily to hourly from the end of the last day, not its start', async () => {
    runway = testRunway([hourly('data_lake__rescheduled', { maxActiveRuns: 30, schedule: '0 0 * * *' })]);
    await new Scheduler(runway.engine, { now: () => new Date('2026-01-03T00:30:00Z') }).tick();
    expect(await runIds('data_lake__rescheduled')).toEqual(['1T00:00:00.000Z', '2T00:00:00.000Z']);
    const hourlyNow = hourly('data_lake__rescheduled', { maxActiveRuns: 30 });
    await redeployed(hourlyNow, '2026-01-03T03:30:00Z').scheduler.tick();
    // Jan 2 was covered by the daily run [Jan 2, Jan 3): the hourly runs start at Jan 3 00:00.
    expect(await runIds('data_lake__rescheduled')).toEqual([
      '1T00:00:00.000Z',
      '2T00:00:00.000Z',
      '3T00:00:00.000Z',
      '3T01:00:00.000Z',
      '3T02:00:00.000Z',
    ]);
  });
});

describe('retention', () => {
  const daily = (id: string) =>
    dag({
      id,
      description: 'Runs of this DAG age out after the retention period.',
      owner: 'data-platform',
      tags: ['data-lake'],
      schedule: '0 0 * * *',
      timezone: 'UTC',
      startDate: '2024-01-01',
    }).task('work', {}, async (ctx) => ctx.log.info('working'));
  const days = (n: number) => n * 86_400_000;

  it('deletes runs that ended more than the retention period ago, with their task instances and logs', async () => {
    runway = testRunway([daily('data_lake__retained')]);
    runway.worker();
    const run = await runway.waitForRun(
      'data_lake__retained',
      (await runway.trigger('data_lake__retained', {}, new Date('2026-03-01T00:00:00Z'))).runId,
    );
    expect(await runway.engine.store.logs('data_lake__retained', run.runId, 'work', 1)).toHaveLength(1);
    const endedAt = Date.parse(run.endedAt!);
    const before = new Scheduler(runway.engine, { now: () => new Date(endedAt + days(30) - 1_000), retentionDays: 30 });
    expect(await before.applyRetention('data_lake__retained')).toBe(0);
    const after = new Scheduler(runway.engine, { now: () => new Date(endedAt + days(30) + 1_000), retentionDays: 30 });
    expect(await after.applyRetention('data_lake__retained')).toBe(1);
    expect(await runway.engine.store.listRuns('data_lake__retained')).toEqual([]);
    expect(await runway.engine.store.snapshot('data_lake__retained', run.runId)).toEqual({});
    expect(await runway.engine.store.logs('data_lake__retained', run.runId, 'work', 1)).toEqual([]);
  });

  it('keeps a backfill of a year-old interval for the whole retention after it ran', async () => {
    runway = testRunway([daily('data_lake__backfilled')]);
    runway.worker();
    const yearAgo = new Date(Math.floor((Date.now() - days(365)) / days(1)) * days(1));
    const { created } = await backfillDag(runway.engine, 'data_lake__backfilled', yearAgo, yearAgo);
    expect(created).toEqual([`backfill__${yearAgo.toISOString()}`]);
    const run = await runway.waitForRun('data_lake__backfilled', created[0]!);
    expect(run.state).toBe('success');
    const scheduler = new Scheduler(runway.engine, { retentionDays: 30 });
    expect(await scheduler.applyRetention('data_lake__backfilled')).toBe(0);
    expect((await runway.engine.store.listRuns('data_lake__backfilled')).map((r) => r.runId)).toEqual(created);
    expect(await runway.engine.store.logs('data_lake__backfilled', run.runId, 'work', 1)).toHaveLength(1);
  });
});
