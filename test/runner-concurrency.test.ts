import { afterEach, describe, expect, it } from 'vitest';
import { dag, type Sensor } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

const base = manualDag;

/**
 * A two-task DAG whose tasks write `name.first` and `name.later` to `order` as they run. `later`
 * is `always`, so it is queued with the run's first task, as a backlog would have it.
 */
function recordedChain(id: string, order: string[], name = id) {
  return dag({ ...base, id })
    .task('first', {}, async () => void order.push(`${name}.first`))
    .task('later', { upstream: ['first'], triggerRule: 'always' }, async () => void order.push(`${name}.later`));
}

let runway: TestRunway;
afterEach(async () => runway?.close());

describe('concurrency', () => {
  it('fans 50 upstream tasks into one on 4 workers, starting it exactly once', async () => {
    let joins = 0;
    let d = dag({ ...base, id: 'data_lake__fan_in', maxActiveTasks: 64 }) as ReturnType<typeof dag>;
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      ids.push(`part_${i}`);
      d = d.task(`part_${i}`, {}, async () => i) as never;
    }
    d = d.task('join', { upstream: ids as never[] }, async () => {
      joins++;
    }) as never;
    runway = testRunway([d]);
    for (let w = 0; w < 4; w++) runway.worker({ concurrency: 8 });
    const run = await runway.trigger('data_lake__fan_in');
    expect((await runway.waitForRun('data_lake__fan_in', run.runId, 30_000)).state).toBe('success');
    expect(joins).toBe(1);
    const states = await runway.engine.store.snapshot('data_lake__fan_in', run.runId);
    expect(Object.values(states).every((ti) => ti.state === 'success' && ti.try === 1)).toBe(true);
  });

  it('queues a fan-out wider than one enqueue slice (250 roots) with every task run exactly once', async () => {
    const runs = new Map<string, number>();
    let d = dag({ ...base, id: 'data_lake__wide_fan_out', maxActiveTasks: 300 }) as ReturnType<typeof dag>;
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      const id = `part_${i}`;
      ids.push(id);
      d = d.task(id, {}, async () => void runs.set(id, (runs.get(id) ?? 0) + 1)) as never;
    }
    d = d.task(
      'join',
      { upstream: ids as never[] },
      async () => void runs.set('join', (runs.get('join') ?? 0) + 1),
    ) as never;
    runway = testRunway([d]);
    runway.worker({ concurrency: 16 });
    runway.worker({ concurrency: 16 });
    const run = await runway.trigger('data_lake__wide_fan_out');
    expect((await runway.waitForRun('data_lake__wide_fan_out', run.runId, 30_000)).state).toBe('success');
    expect(runs.size).toBe(251);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('parks a waiting sensor as a delayed job: it holds no worker slot, and keeps its state', async () => {
    const pokes: { n: number; state: unknown }[] = [];
    const waitForFile: Sensor<{ found: string }, { seen: number }> = {
      kind: 'test-sensor',
      config: {},
      sensor: { timeoutMs: 60_000, softFail: false },
      async poke(ctx) {
        pokes.push({ n: ctx.pokeNumber, state: ctx.state });
        const seen = (ctx.state?.seen ?? 0) + 1;
        return seen < 3
          ? { done: false, pokeAgainInMs: 150, state: { seen } }
          : { done: true, value: { found: 'x.csv' } };
      },
    };
    let otherRanWhileSensorWaited = false;
    const d = dag({ ...base, id: 'data_lake__sensor' })
      .task('wait_for_file', {}, waitForFile)
      .task('busy', {}, async () => {
        // With one worker slot, this only runs while the sensor waits if the sensor freed it.
        otherRanWhileSensorWaited = pokes.length > 0 && pokes.length < 3;
      })
      .task('load', { upstream: ['wait_for_file'] }, async (ctx) => ctx.upstream.wait_for_file.found);
    runway = testRunway([d]);
    runway.worker({ concurrency: 1 });
    const run = await runway.trigger('data_lake__sensor');
    expect((await runway.waitForRun('data_lake__sensor', run.runId)).state).toBe('success');
    expect(pokes).toEqual([
      { n: 1, state: undefined },
      { n: 2, state: { seen: 1 } },
      { n: 3, state: { seen: 2 } },
    ]);
    expect(otherRanWhileSensorWaited).toBe(true);
    expect(await runway.engine.store.outputs('data_lake__sensor', run.runId, ['load'])).toEqual({ load: 'x.csv' });
  });

  it('times a sensor out from its first poke, failing it, or skipping it with softFail', async () => {
    const never = (softFail: boolean): Sensor<null, null> => ({
      kind: 'never',
      config: {},
      sensor: { timeoutMs: 300, softFail },
      poke: async () => ({ done: false, pokeAgainInMs: 100, state: null }),
    });
    const d = dag({ ...base, id: 'data_lake__sensor_timeout' })
      .task('hard', {}, never(false))
      .task('soft', {}, never(true));
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__sensor_timeout');
    expect((await runway.waitForRun('data_lake__sensor_timeout', run.runId)).state).toBe('failed');
    const states = await runway.engine.store.snapshot('data_lake__sensor_timeout', run.runId);
    expect(states.hard).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/^sensor timed out after \d+ ms/),
    });
    expect(states.soft).toMatchObject({ state: 'skipped', error: expect.stringMatching(/soft fail$/) });
  });

  it('caps tasks of a pool across DAGs at its slot count', async () => {
    let running = 0;
    let peak = 0;
    const statement = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 60));
      running--;
    };
    const make = (id: string) => {
      let d = dag({ ...base, id }) as ReturnType<typeof dag>;
      for (let i = 0; i < 6; i++) d = d.task(`q${i}`, { pool: 'redshift' }, statement) as never;
      return d;
    };
    runway = testRunway([make('redshift_demo__a'), make('redshift_demo__b')]);
    await runway.engine.store.setPool('redshift', 3);
    runway.worker({ concurrency: 12 });
    const a = await runway.trigger('redshift_demo__a');
    const b = await runway.trigger('redshift_demo__b');
    expect((await runway.waitForRun('redshift_demo__a', a.runId, 30_000)).state).toBe('success');
    expect((await runway.waitForRun('redshift_demo__b', b.runId, 30_000)).state).toBe('success');
    expect(peak).toBe(3);
  });
});

describe('sensor state across a worker restart', () => {
  it('keeps the state of a waiting sensor when its worker stops between pokes', async () => {
    const states: unknown[] = [];
    const counter: Sensor<number, { n: number }> = {
      kind: 'counter',
      config: {},
      sensor: { timeoutMs: 60_000, softFail: false },
      async poke(ctx) {
        states.push(ctx.state);
        const n = (ctx.state?.n ?? 0) + 1;
        return n < 3 ? { done: false, pokeAgainInMs: 400, state: { n } } : { done: true, value: n };
      },
    };
    runway = testRunway([dag({ ...base, id: 'data_lake__restart' }).task('count', {}, counter)]);
    const first = runway.worker();
    const run = await runway.trigger('data_lake__restart');
    while (states.length < 1) await new Promise((r) => setTimeout(r, 10));
    await first.close(1_000);
    runway.worker();
    expect((await runway.waitForRun('data_lake__restart', run.runId)).state).toBe('success');
    expect(states).toEqual([undefined, { n: 1 }, { n: 2 }]);
  });
});

describe('max active tasks and priority', () => {
  it('runs at most maxActiveTasks of one DAG at once', async () => {
    let running = 0;
    let peak = 0;
    // The first task waits for a second to start beside it (on a busy machine two short tasks need not
    // overlap by themselves); after that each holds its slot 40 ms, time for a third to break in if the
    // cap let it.
    let twoRan!: () => void;
    const twoRunning = new Promise<void>((resolve) => (twoRan = resolve));
    let d = dag({ ...base, id: 'data_lake__capped', maxActiveTasks: 2 }) as ReturnType<typeof dag>;
    for (let i = 0; i < 8; i++) {
      d = d.task(`t${i}`, {}, async () => {
        peak = Math.max(peak, ++running);
        if (running === 2) twoRan();
        await twoRunning;
        await new Promise((r) => setTimeout(r, 40));
        running--;
      }) as never;
    }
    runway = testRunway([d]);
    runway.worker({ concurrency: 8 });
    const run = await runway.trigger('data_lake__capped');
    expect((await runway.waitForRun('data_lake__capped', run.runId)).state).toBe('success');
    expect(peak).toBe(2);
  });

  it('takes waiting tasks with a higher priority first', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d = dag({ ...base, id: 'data_lake__priorities' })
      .task('blocker', {}, async () => gate)
      .task('low', { upstream: ['blocker'], triggerRule: 'always', priority: -5 }, async () => void order.push('low'))
      .task('normal', { upstream: ['blocker'], triggerRule: 'always' }, async () => void order.push('normal'))
      .task(
        'urgent',
        { upstream: ['blocker'], triggerRule: 'always', priority: 10 },
        async () => void order.push('urgent'),
      );
    runway = testRunway([d]);
    const run = await runway.trigger('data_lake__priorities');
    // Every task is queued before the one-slot worker starts, so only priority decides the order.
    runway.worker({ concurrency: 1 });
    await new Promise((r) => setTimeout(r, 200));
    release();
    expect((await runway.waitForRun('data_lake__priorities', run.runId)).state).toBe('success');
    expect(order).toEqual(['urgent', 'normal', 'low']);
  });

  it("starts every run's first task before any run's later tasks", async () => {
    // 2,000 DAGs due at one boundary: first in, first out would run the first runs' second tasks
    // between the last runs' first ones, so those start seconds late.
    const order: string[] = [];
    runway = testRunway([recordedChain('data_lake__one', order), recordedChain('data_lake__two', order)]);
    const one = await runway.trigger('data_lake__one');
    const two = await runway.trigger('data_lake__two');
    // Everything is queued before the one-slot worker starts: data_lake__one's later task before
    // data_lake__two's first.
    runway.worker({ concurrency: 1 });
    expect((await runway.waitForRun('data_lake__one', one.runId)).state).toBe('success');
    expect((await runway.waitForRun('data_lake__two', two.runId)).state).toBe('success');
    expect(order).toEqual([
      'data_lake__one.first',
      'data_lake__two.first',
      'data_lake__one.later',
      'data_lake__two.later',
    ]);
  });

  it('puts a first task back from a slot wait behind the later tasks queued meanwhile', async () => {
    // First tasks go ahead of later ones; one that keeps coming back for a slot must not, or a DAG
    // of a thousand first tasks in a full pool would hold every other run's later tasks.
    const order: string[] = [];
    const pooled = dag({ ...base, id: 'data_lake__pooled' }).task(
      'load',
      { pool: 'warehouse' },
      async () => void order.push('pooled.load'),
    );
    runway = testRunway([pooled, recordedChain('data_lake__chain', order, 'chain')]);
    const queue = runway.engine.queue('default');
    await runway.engine.store.setPool('warehouse', 0);
    const waiting = await runway.trigger('data_lake__pooled');
    const refusing = runway.worker({ concurrency: 1 });
    await until('the pooled task to wait for a slot', async () =>
      (await queue.getDelayedCount()) === 1 ? true : undefined,
    );
    await refusing.close(5_000);
    // Queued while it waits: the chain's first task, and its later one (`always`: at once).
    const chainRun = await runway.trigger('data_lake__chain');
    await runway.engine.store.setPool('warehouse', 1);
    const [delayed] = await queue.getDelayed();
    await delayed!.promote();
    runway.worker({ concurrency: 1 });
    expect((await runway.waitForRun('data_lake__pooled', waiting.runId)).state).toBe('success');
    expect((await runway.waitForRun('data_lake__chain', chainRun.runId)).state).toBe('success');
    expect(order).toEqual(['chain.first', 'chain.later', 'pooled.load']);
  });
});
