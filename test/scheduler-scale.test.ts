/**
 * A scheduler pass costs what is due, not what exists. The idle-pass test counts the commands
 * Redis executed (INFO commandstats, Lua's inner calls included) on a redis-server of its own, so
 * that no other test's traffic is counted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dag } from 'runway';
import { Engine } from '../runner/state/engine.ts';
import { DagRegistry, prepareDag } from '../runner/loader/dag-registry.ts';
import { connectRedis, type RedisClient } from '../runner/redis/connect.ts';
import { startRedisServer, type RedisServer } from '../runner/redis/redis-server.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { engineKeepingLog, redisUrl, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

const everyFiveMinutes = (id: string, extra: object = {}) =>
  dag({
    id,
    description: 'A five-minute DAG among many, for counting what a scheduler pass costs.',
    owner: 'data-platform',
    tags: ['data-lake'],
    schedule: '*/5 * * * *',
    timezone: 'UTC',
    startDate: '2026-01-01T00:00:00Z',
    catchup: false,
    ...extra,
  })
    .task('extract', {}, async () => 1)
    .task('load', { upstream: ['extract'] }, async () => 2);

let server: RedisServer;
let observer: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  observer = connectRedis(server.url);
});
afterAll(async () => {
  observer?.disconnect();
  await server?.stop();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanups.splice(0)) await close();
});

/** Commands the server executed since the last reset, leaving out the observer's own. */
async function commandsSinceReset(): Promise<Record<string, number>> {
  const info = await observer.info('commandstats');
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(info|config)/.test(match[1]!)) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/**
 * `count` five-minute DAGs whose 10:00 runs were created and have finished; then, at 10:03 (the
 * 10:05 run not due yet), the Redis commands of one pass.
 */
async function idlePassCommands(count: number): Promise<Record<string, number>> {
  const dags = Array.from({ length: count }, (_, i) => everyFiveMinutes(`data_lake__scale_${i}`));
  const redis = connectRedis(server.url);
  const engine = new Engine({
    redis,
    registry: new DagRegistry(dags.map((d) => prepareDag(d))),
    prefix: `{scale-${randomUUID().slice(0, 8)}}`,
    env: {},
  });
  cleanups.push(async () => {
    await engine.close();
    redis.disconnect();
  });
  let now = new Date('2026-01-01T10:00:30Z');
  // quietMs 0: no pass skips a DAG from memory; what is counted is what Redis is asked.
  const scheduler = new Scheduler(engine, { now: () => now, quietMs: 0 });
  expect(await scheduler.tick()).toBe(count);
  for (const { summary } of engine.registry.list()) {
    const [run] = await engine.store.listRuns(summary.dagId, 1);
    await engine.store.setRunState(summary.dagId, run!.runId, 'success', ['queued', 'running']);
  }
  now = new Date('2026-01-01T10:03:00Z');
  await scheduler.tick();
  await observer.config('RESETSTAT');
  expect(await scheduler.tick()).toBe(0);
  return commandsSinceReset();
}

describe('a scheduler pass with nothing due', () => {
  it('makes the same few Redis calls with 10 DAGs as with 500', async () => {
    const few = await idlePassCommands(10);
    const many = await idlePassCommands(500);
    expect(many).toEqual(few);
    // ZRANGEBYSCORE of the due set (what is due, and the next due time) and SMEMBERS of the busy
    // DAGs, in one round trip.
    expect(many).toEqual({ zrangebyscore: 2, smembers: 1 });
  });
});

describe('what puts a DAG in front of a pass', () => {
  let runway: TestRunway;
  afterEach(async () => {
    await runway?.close();
  });
  const runIds = async (dagId: string) => (await runway.engine.store.listRuns(dagId, 100)).map((r) => r.runId).sort();
  /** A real clock shifted to read `at` now. */
  const clockFrom = (at: string) => {
    const offset = Date.parse(at) - Date.now();
    return () => new Date(Date.now() + offset);
  };
  /** Starts the scheduler and waits until it has created the DAG's 10:00 run. */
  const startUntilTenOClockRun = async (scheduler: Scheduler, dagId: string) => {
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    await until(
      `${dagId}'s 10:00 run`,
      async () => ((await runIds(dagId)).includes('scheduled__2026-01-01T10:00:00.000Z') ? true : undefined),
      300_000,
    );
  };

  it('a DAG added to or changed in the registry is handled by the next pass', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__moved', { startDate: '2026-02-01T00:00:00Z' })]);
    let now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(runway.engine, { now: () => now, quietMs: 0 });
    await scheduler.tick();
    // Not due before its start date: a February score, out of reach of the next passes.
    expect(await runway.redis.zscore(runway.engine.store.dueKey, 'data_lake__moved')).toBe(
      String(Date.parse('2026-02-01T00:05:00Z')),
    );

    runway.engine.registry.put(prepareDag(everyFiveMinutes('data_lake__added')));
    runway.engine.registry.put(prepareDag(everyFiveMinutes('data_lake__moved')));
    now = new Date('2026-01-01T10:01:00Z');
    expect(await scheduler.tick()).toBe(2);
    expect(await runIds('data_lake__added')).toEqual(['scheduled__2026-01-01T09:55:00.000Z']);
    expect(await runIds('data_lake__moved')).toEqual(['scheduled__2026-01-01T09:55:00.000Z']);
  });

  it('a running scheduler passes when the next DAG falls due, not a tick later', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__on_time')]);
    // A real clock shifted to 1.5 s before 10:05, and a ten-minute tick: only a pass started for
    // the due time can create the 10:00 run within the wait below.
    const now = clockFrom('2026-01-01T10:04:58.500Z');
    const scheduler = new Scheduler(runway.engine, { now, tickMs: 600_000, quietMs: 0 });
    await startUntilTenOClockRun(scheduler, 'data_lake__on_time');
    expect(await runIds('data_lake__on_time')).toEqual([
      'scheduled__2026-01-01T09:55:00.000Z',
      'scheduled__2026-01-01T10:00:00.000Z',
    ]);
  });

  it('a due time just over a tick away is waited for, not met by a pass just before it', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__near')]);
    // 1.45 s before 10:05 with a 1 s tick: a pass at the tick would come 0.45 s early, find nothing
    // due, and with many running runs to reconcile hold up the pass at 10:05.
    const now = clockFrom('2026-01-01T10:04:58.550Z');
    const scheduler = new Scheduler(runway.engine, { now, tickMs: 1_000, quietMs: 0 });
    const passes: number[] = [];
    const tick = scheduler.tick.bind(scheduler);
    scheduler.tick = () => {
      passes.push(now().getTime());
      return tick();
    };
    await startUntilTenOClockRun(scheduler, 'data_lake__near');
    const early = passes.slice(1).filter((at) => at < Date.parse('2026-01-01T10:05:00Z'));
    expect(early.map((at) => new Date(at).toISOString())).toEqual([]);
  });

  it('a DAG that falls due while a pass runs gets the next pass at once, not a tick later', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__straddled')]);
    // The first pass reads what is due at 10:04:59.990 and creates the 09:55 run; the clock then
    // reads 10:05:00.100, so the 10:00 run fell due during that pass. The tick is ten minutes.
    let now = new Date('2026-01-01T10:04:59.990Z');
    // Its scripts are defined when the scheduler is made.
    const scheduler = new Scheduler(runway.engine, { now: () => now, tickMs: 600_000, quietMs: 0 });
    const redis = runway.redis as typeof runway.redis & {
      runwayCreateDueRuns: (...args: unknown[]) => Promise<unknown>;
    };
    const create = redis.runwayCreateDueRuns.bind(redis);
    vi.spyOn(redis, 'runwayCreateDueRuns').mockImplementation(async (...args: unknown[]) => {
      const created = await create(...args);
      now = new Date('2026-01-01T10:05:00.100Z');
      return created;
    });
    await startUntilTenOClockRun(scheduler, 'data_lake__straddled');
    expect(await runIds('data_lake__straddled')).toEqual([
      'scheduled__2026-01-01T09:55:00.000Z',
      'scheduled__2026-01-01T10:00:00.000Z',
    ]);
  });

  it('a pass that cannot read the next due time says so, and the one after passes in a tick', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__unsure')]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    let now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(engine, { now: () => now, quietMs: 0 });
    // The pass's own reads go through pipelines; the lone read of the next due time is refused.
    vi.spyOn(runway.redis, 'zrangebyscore').mockRejectedValueOnce(
      new Error("READONLY You can't write against a read only replica."),
    );
    expect(await scheduler.tick()).toBe(1);
    expect(errors).toEqual([
      expect.stringMatching(/^scheduler: reading the next due time: READONLY .* \(next pass in a tick\)$/),
    ]);
    now = new Date('2026-01-01T10:05:30Z');
    expect(await scheduler.tick()).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('a retired DAG leaves the due set; its running run is still reconciled', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__leaving', { dagRunTimeout: '1ms' })]);
    let now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(runway.engine, { now: () => now, quietMs: 0 });
    await scheduler.tick();
    runway.engine.registry.retire('data_lake__leaving');
    now = new Date('2026-01-01T10:20:30Z');
    await scheduler.tick();
    expect(await runway.redis.zscore(runway.engine.store.dueKey, 'data_lake__leaving')).toBeNull();
    // The run outlived its 1 ms timeout: reconciling it fails it, and the DAG is no longer busy.
    const [run] = await runway.engine.store.listRuns('data_lake__leaving');
    expect(run?.state).toBe('failed');
    expect(await runway.redis.smembers(runway.engine.store.busyKey)).toEqual([]);
    expect(await runIds('data_lake__leaving')).toEqual(['scheduled__2026-01-01T09:55:00.000Z']);
  });

  it('a due DAG this scheduler does not load is left to others, and looked at again a minute later', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__here')]);
    const now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(runway.engine, { now: () => now, quietMs: 0 });
    await runway.redis.zadd(runway.engine.store.dueKey, '0', 'data_lake__elsewhere');
    await scheduler.tick();
    expect(await runway.redis.zscore(runway.engine.store.dueKey, 'data_lake__elsewhere')).toBe(
      String(now.getTime() + 60_000),
    );
    expect(await runway.engine.store.listRuns('data_lake__elsewhere')).toEqual([]);
  });

  it('a pass that cannot read the due set logs, creates nothing, and the next one catches up', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__blocked')]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    const now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(engine, { now: () => now, quietMs: 0 });
    // A key of the wrong type makes every command on the due set fail, as an outage would.
    await runway.redis.set(engine.store.dueKey, 'not a sorted set');
    expect(await scheduler.tick()).toBe(0);
    expect(errors).toEqual([expect.stringMatching(/^scheduler: recording the DAGs' due times: WRONGTYPE/)]);
    await runway.redis.del(engine.store.dueKey);
    // The DAGs the failed pass could not mark due are marked by the next one.
    expect(await scheduler.tick()).toBe(1);
    await engine.close();
  });

  it('a run triggered by hand is started by the next pass though the DAG is not due', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__manual', { schedule: null })]);
    const scheduler = new Scheduler(runway.engine, { quietMs: 0 });
    await scheduler.tick();
    expect(await runway.redis.zrange(runway.engine.store.dueKey, '0', '-1')).toEqual([]);
    const at = new Date('2026-01-01T05:00:00Z');
    const loaded = runway.engine.loaded('data_lake__manual');
    await runway.engine.createRun(loaded, { runId: 'manual__one', runType: 'manual', start: at, end: at });
    expect(await runway.redis.smembers(runway.engine.store.busyKey)).toEqual(['data_lake__manual']);
    await scheduler.tick();
    expect((await runway.engine.store.getRun('data_lake__manual', 'manual__one'))?.state).toBe('running');
  });

  it('a paused DAG leaves the due set, and unpausing brings it back at once', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__pausing')]);
    const now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(runway.engine, { now: () => now, quietMs: 0 });
    await runway.engine.store.setPaused('data_lake__pausing', true);
    await scheduler.tick();
    expect(await runway.redis.zscore(runway.engine.store.dueKey, 'data_lake__pausing')).toBeNull();
    await runway.engine.store.setPaused('data_lake__pausing', false);
    expect(await runway.redis.zscore(runway.engine.store.dueKey, 'data_lake__pausing')).toBe('0');
    expect(await scheduler.tick()).toBe(1);
  });
});

describe('a boundary where many DAGs are due', () => {
  let runway: TestRunway;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await runway?.close();
  });

  it('two schedulers passing at once create, start and queue each DAG run once', async () => {
    const count = 150;
    runway = testRunway(Array.from({ length: count }, (_, i) => everyFiveMinutes(`data_lake__boundary_${i}`)));
    const now = () => new Date('2026-01-01T10:00:30Z');
    const schedulers = [0, 1].map(() => {
      const redis = connectRedis(redisUrl());
      const engine = new Engine({ redis, registry: runway.engine.registry, prefix: runway.prefix, env: {} });
      closers.push(async () => {
        await engine.close();
        redis.disconnect();
      });
      return new Scheduler(engine, { now, quietMs: 0 });
    });
    const created = await Promise.all(schedulers.map((s) => s.tick()));
    expect(created[0]! + created[1]!).toBe(count);
    for (const { summary } of runway.engine.registry.list()) {
      const runs = await runway.engine.store.listRuns(summary.dagId, 10);
      expect(runs.map((r) => [r.runId, r.state])).toEqual([['scheduled__2026-01-01T09:55:00.000Z', 'running']]);
      const snapshot = await runway.engine.store.snapshot(summary.dagId, runs[0]!.runId);
      expect([snapshot.extract?.state, snapshot.load?.state]).toEqual(['scheduled', 'none']);
    }
    // One queue job per run's root task: a second queueing of the same task would be a second job id.
    expect(await runway.engine.queue('default').getJobCountByTypes('waiting', 'prioritized')).toBe(count);
  });

  it('root tasks Redis refuses to queue are logged, and added again by reconciliation', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__unqueued')]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    closers.push(() => engine.close());
    const scheduler = new Scheduler(engine, {
      now: () => new Date('2026-01-01T10:00:30Z'),
      quietMs: 0,
      reconcileAfterMs: 0,
    });
    const queue = engine.queue('default');
    // The queue's job counter of the wrong type makes adding a job fail, as a refusal would.
    const idKey = `${runway.prefix}:${queue.name}:id`;
    await runway.redis.set(idKey, 'not a number');
    expect(await scheduler.tick()).toBe(1);
    expect(errors).toEqual([
      expect.stringMatching(/^scheduler: queueing the first tasks of new runs: .*\(added again by reconciliation\)$/),
    ]);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(0);
    await runway.redis.del(idKey);
    await scheduler.tick();
    expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(1);
  });

  it('a batch Redis refuses is logged with its DAGs, and the next pass creates their runs', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__refused')]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    closers.push(() => engine.close());
    const scheduler = new Scheduler(engine, { now: () => new Date('2026-01-01T10:00:30Z'), quietMs: 0 });
    // A queued index of the wrong type makes the batch's script fail, as a refusal would.
    await runway.redis.set(engine.store.queuedKey('data_lake__refused'), 'not a sorted set');
    expect(await scheduler.tick()).toBe(0);
    expect(errors).toEqual([
      expect.stringMatching(/^scheduler: creating the due runs of 1 DAG\(s\) \(data_lake__refused\): .*WRONGTYPE/),
    ]);
    expect(await engine.store.listRuns('data_lake__refused')).toEqual([]);
    await runway.redis.del(engine.store.queuedKey('data_lake__refused'));
    expect(await scheduler.tick()).toBe(1);
  });
});

describe('reconciling running runs in batches', () => {
  let runway: TestRunway;
  afterEach(async () => {
    await runway?.close();
  });

  /** A retired DAG with one running run, and a scheduler whose errors are kept. */
  async function retiredWithRunningRun(dagId: string, extra: object = {}) {
    runway = testRunway([everyFiveMinutes(dagId, extra)]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    const scheduler = new Scheduler(engine, { now: () => new Date('2026-01-01T10:00:30Z'), quietMs: 0 });
    expect(await scheduler.tick()).toBe(1);
    engine.registry.retire(dagId);
    const [run] = await engine.store.listRuns(dagId);
    expect(run?.state).toBe('running');
    return { engine, scheduler, errors, run: run! };
  }

  it('a pass that cannot read the running runs says which DAGs, and the next pass reconciles them', async () => {
    const { engine, scheduler, errors, run } = await retiredWithRunningRun('data_lake__unreadable', {
      dagRunTimeout: '1ms',
    });
    const tiKey = engine.store.key('ti', run.dagId, run.runId);
    const instances = await runway.redis.hgetall(tiKey);
    // A key of the wrong type makes the read of the run's task instances fail, as a refusal would.
    await runway.redis.del(tiKey);
    await runway.redis.set(tiKey, 'not a hash');
    await scheduler.tick();
    expect(errors).toEqual([
      expect.stringMatching(
        /^scheduler: reading the running runs of 1 DAG\(s\) \(data_lake__unreadable, …\): WRONGTYPE/,
      ),
    ]);
    expect((await engine.store.getRun(run.dagId, run.runId))?.state).toBe('running');
    await runway.redis.del(tiKey);
    await runway.redis.hset(tiKey, instances);
    await scheduler.tick();
    expect((await engine.store.getRun(run.dagId, run.runId))?.state).toBe('failed');
    await engine.close();
  });

  it('a run whose repair Redis refuses is logged with its id, and the pass goes on', async () => {
    const { engine, scheduler, errors, run } = await retiredWithRunningRun('data_lake__refusing', {
      dagRunTimeout: '1ms',
    });
    // Failing the timed-out run writes its queued index: of the wrong type, that write is refused.
    await runway.redis.set(engine.store.queuedKey(run.dagId), 'not a sorted set');
    await scheduler.tick();
    expect(errors).toEqual([
      expect.stringMatching(
        /^scheduler: reconciling data_lake__refusing scheduled__2026-01-01T09:55:00.000Z: .*WRONGTYPE/,
      ),
    ]);
    await runway.redis.del(engine.store.queuedKey(run.dagId));
    await scheduler.tick();
    expect((await engine.store.getRun(run.dagId, run.runId))?.state).toBe('failed');
    await engine.close();
  });
});

describe('busy DAGs that are not due', () => {
  let runway: TestRunway;
  afterEach(async () => {
    await runway?.close();
  });

  /** `count` DAGs whose 10:00 runs are running; then, at 10:03, the Redis commands of one pass. */
  async function busyPassCommands(count: number): Promise<Record<string, number>> {
    const dags = Array.from({ length: count }, (_, i) => everyFiveMinutes(`data_lake__busy_${i}`));
    const redis = connectRedis(server.url);
    const engine = new Engine({
      redis,
      registry: new DagRegistry(dags.map((d) => prepareDag(d))),
      prefix: `{busy-${randomUUID().slice(0, 8)}}`,
      env: {},
    });
    cleanups.push(async () => {
      await engine.close();
      redis.disconnect();
    });
    let now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(engine, { now: () => now, quietMs: 0 });
    expect(await scheduler.tick()).toBe(count);
    now = new Date('2026-01-01T10:03:00Z');
    await observer.config('RESETSTAT');
    expect(await scheduler.tick()).toBe(0);
    return commandsSinceReset();
  }

  it('cost a pass reads only: no script and no schedule write per DAG, whatever their number', async () => {
    // Each busy DAG: its counts (paused, active, queued, last interval) and its running run, read
    // in pipelines; nothing written, since nothing is due and nothing has to be repaired.
    const perDag = (n: number) => ({
      zrangebyscore: 2,
      smembers: 1 + n,
      hget: 2 * n,
      scard: n,
      zcard: n,
      zscore: 2 * n,
      hgetall: n,
    });
    expect(await busyPassCommands(10)).toEqual(perDag(10));
    expect(await busyPassCommands(200)).toEqual(perDag(200));
  });

  it('a pass that cannot read their counts says which DAGs, and the next pass reconciles them', async () => {
    runway = testRunway([everyFiveMinutes('data_lake__uncounted', { dagRunTimeout: '1ms' })]);
    const { engine, lines: errors } = engineKeepingLog(runway);
    let now = new Date('2026-01-01T10:00:30Z');
    const scheduler = new Scheduler(engine, { now: () => now, quietMs: 0 });
    expect(await scheduler.tick()).toBe(1);
    const [run] = await engine.store.listRuns('data_lake__uncounted');
    // Not due before 10:05, busy with its running run; a settings key of the wrong type makes the
    // read of its counts fail, as a refusal would.
    now = new Date('2026-01-01T10:01:00Z');
    await runway.redis.set(engine.store.dagKey('data_lake__uncounted'), 'not a hash');
    await scheduler.tick();
    expect(errors).toEqual([
      expect.stringMatching(/^scheduler: reading the run counts of 1 DAG\(s\) \(data_lake__uncounted, …\): WRONGTYPE/),
    ]);
    expect((await engine.store.getRun(run!.dagId, run!.runId))?.state).toBe('running');
    await runway.redis.del(engine.store.dagKey('data_lake__uncounted'));
    await scheduler.tick();
    // Reconciled: the run outlived its 1 ms timeout.
    expect((await engine.store.getRun(run!.dagId, run!.runId))?.state).toBe('failed');
    await engine.close();
  });
});
