import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { streamQuiescence } from '../operators/index.ts';
import { observe, pollStrategies, type QuiescenceState } from '../operators/stream/quiescence.ts';
import { observeS3Prefix } from '../operators/stream/s3-observer.ts';
import { testAwsClients } from './helpers/aws-clients.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

const rule = { windowMs: 10_000 };
const obs = (count: number, extra: object = {}) => ({ count, bytes: count * 100, fingerprint: `f${count}`, ...extra });

describe('observe (pure)', () => {
  it('is quiet once nothing changed for the window, and a change restarts the wait', () => {
    let v = observe(undefined, obs(3), 0, rule);
    expect(v.kind).toBe('waiting');
    v = observe(v.state, obs(3), 9_999, rule);
    expect(v.kind).toBe('waiting');
    v = observe(v.state, obs(4), 9_999, rule);
    expect([v.kind, v.state.lastChangeAt, v.state.unchanged]).toEqual(['waiting', 9_999, 0]);
    v = observe(v.state, obs(4), 19_999, rule);
    expect(v.kind).toBe('quiet');
  });

  it("knows at the first poll how long the source has been quiet, from the newest object's time", () => {
    expect(observe(undefined, obs(5, { newestAt: 1_000 }), 20_000, rule).kind).toBe('quiet');
    expect(observe(undefined, obs(5, { newestAt: 15_000 }), 20_000, rule).kind).toBe('waiting');
  });

  it('sees an overwrite in place, and allows or fails on deletions', () => {
    const first = observe(undefined, obs(2, { fingerprint: 'a', newestAt: 0 }), 0, rule).state;
    const overwritten = observe(first, obs(2, { fingerprint: 'b', newestAt: 5_000 }), 6_000, rule);
    expect([overwritten.kind, overwritten.state.lastChangeAt]).toEqual(['waiting', 5_000]);
    const deleted = observe(first, obs(1, { newestAt: 0 }), 6_000, rule);
    expect([deleted.kind, deleted.state.lastChangeAt]).toEqual(['waiting', 6_000]);
    expect(observe(first, obs(1), 6_000, { ...rule, deletes: 'fail' })).toMatchObject({
      kind: 'deleted',
      reason: 'objects disappeared: 2 -> 1',
    });
  });

  it('waits for at least minObjects, or exactly the expected count', () => {
    expect(observe(undefined, obs(0), 50_000, rule)).toMatchObject({
      kind: 'waiting',
      reason: '0 objects, waiting for at least 1',
    });
    expect(observe(undefined, obs(3, { newestAt: 0 }), 50_000, { ...rule, expectedCount: 4 })).toMatchObject({
      kind: 'waiting',
      reason: '3 of 4 expected objects',
    });
  });

  it('schedules the next look: fixed, divided, decaying, and adaptive at last change + window', () => {
    const state = (unchanged: number, lastChangeAt = 0): QuiescenceState => ({
      last: obs(1),
      lastChangeAt,
      unchanged,
      polls: unchanged + 1,
    });
    expect(pollStrategies.fixed(30_000)(state(3), 0)).toBe(30_000);
    expect(pollStrategies.divided(30_000)(state(3), 0)).toBe(10_000);
    expect(pollStrategies.decaying(30_000)(state(2), 0)).toBe(Math.round(30_000 * Math.exp(-2)));
    const adaptive = pollStrategies.adaptive(60_000, { minMs: 1_000, maxMs: 120_000, marginMs: 2_000 });
    expect(adaptive(state(0, 10_000), 30_000)).toBe(42_000);
    expect(adaptive(state(0, 0), 200_000)).toBe(1_000);
    expect(adaptive(state(0, 0), -500_000)).toBe(120_000);
  });
});

let s3: LocalS3;
let runway: TestRunway;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('lake-raw');
});
afterAll(async () => s3?.close());
afterEach(async () => runway?.close());

const put = (key: string, body = 'x') =>
  s3.client.send(new PutObjectCommand({ Bucket: 'lake-raw', Key: key, Body: body }));

describe('observing an S3 prefix', () => {
  it('lists only keys after the last one seen when keys are time-ordered, and everything every K polls', async () => {
    for (let i = 0; i < 5; i++) await put(`inc/dt=1/part-${i}`);
    const calls: { StartAfter?: string }[] = [];
    const spy = {
      send: (command: { input: { StartAfter?: string } }) => {
        calls.push({ ...(command.input.StartAfter ? { StartAfter: command.input.StartAfter } : {}) });
        return (s3.client as S3Client).send(command as never);
      },
    } as Pick<S3Client, 'send'>;
    const options = { timeOrderedKeys: true, fullListEvery: 3 };
    const first = await observeS3Prefix(spy, 's3://lake-raw/inc/', undefined, options);
    expect(first.observation.count).toBe(5);
    await put('inc/dt=1/part-5');
    await put('inc/dt=1/part-6');
    const second = await observeS3Prefix(spy, 's3://lake-raw/inc/', first.cursor, options);
    expect([second.observation.count, second.observation.newestKey]).toEqual([7, 'inc/dt=1/part-6']);
    expect(calls).toEqual([{}, { StartAfter: 'inc/dt=1/part-4' }]);
    // An overwrite in place is invisible to an incremental poll, and seen by the next full list.
    await put('inc/dt=1/part-0', 'rewritten');
    const third = await observeS3Prefix(spy, 's3://lake-raw/inc/', second.cursor, options);
    expect(third.observation.fingerprint).toBe(second.observation.fingerprint);
    const fourth = await observeS3Prefix(spy, 's3://lake-raw/inc/', third.cursor, options);
    expect(calls.at(-1)).toEqual({});
    expect(fourth.observation.count).toBe(7);
    expect(fourth.observation.fingerprint).not.toBe(second.observation.fingerprint);
  });
});

describe('streamQuiescence under a real worker', () => {
  it('lets the downstream task start only after the last burst a producer writes', async () => {
    const window = 1_500;
    let downstreamStartedAt = 0;
    let lastWriteAt = 0;
    const d = dag({ ...manualDag, id: 'data_lake__quiet' })
      .task(
        'wait_for_events',
        {},
        streamQuiescence({
          source: { s3: 's3://lake-raw/events/dt=2026-03-01/', timeOrderedKeys: true },
          window: `${window}ms`,
          poll: { strategy: 'adaptive', min: '50ms', max: '1s' },
          timeout: '1m',
        }),
      )
      .task('transform', { upstream: ['wait_for_events'] }, async (ctx) => {
        downstreamStartedAt = Date.now();
        return ctx.upstream.wait_for_events.count;
      });
    runway = testRunway([d]);
    runway.worker({ aws: testAwsClients({ s3: s3.client }) });
    const producer = (async () => {
      let n = 0;
      for (const burst of [4, 3, 5]) {
        for (let i = 0; i < burst; i++)
          await put(`events/dt=2026-03-01/firehose-${String(n++).padStart(4, '0')}`, `{"n":${n}}`);
        lastWriteAt = Date.now();
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    const run = await runway.trigger('data_lake__quiet');
    await producer;
    expect((await runway.waitForRun('data_lake__quiet', run.runId, 30_000)).state).toBe('success');
    expect(downstreamStartedAt - lastWriteAt).toBeGreaterThanOrEqual(window);
    expect(await runway.engine.store.outputs('data_lake__quiet', run.runId, ['transform'])).toEqual({ transform: 12 });
  });
});

describe('streamQuiescence with a manifest', () => {
  it('stays waiting, although quiet, until every object the manifest lists exists', async () => {
    await put(
      'batch/manifest',
      JSON.stringify({ entries: [{ url: 's3://lake-raw/batch/a.json' }, { url: 's3://lake-raw/batch/b.json' }] }),
    );
    await put('batch/a.json', '{}');
    let finishedAt = 0;
    const d = dag({ ...manualDag, id: 'data_lake__manifest' })
      .task(
        'wait',
        {},
        streamQuiescence({
          // Quiet from the first look: only the manifest can hold it back.
          source: { observe: async () => ({ count: 2, bytes: 4, newestAt: 0 }) },
          window: '1s',
          manifest: 's3://lake-raw/batch/manifest',
          poll: { strategy: 'fixed', every: '100ms' },
          timeout: '1m',
        }),
      )
      .task('after', { upstream: ['wait'] }, async () => void (finishedAt = Date.now()));
    runway = testRunway([d]);
    runway.worker({ aws: testAwsClients({ s3: s3.client }) });
    const run = await runway.trigger('data_lake__manifest');
    await new Promise((r) => setTimeout(r, 600));
    expect(finishedAt).toBe(0);
    const writtenAt = Date.now();
    await put('batch/b.json', '{}');
    expect((await runway.waitForRun('data_lake__manifest', run.runId, 15_000)).state).toBe('success');
    expect(finishedAt).toBeGreaterThanOrEqual(writtenAt);
    expect((await runway.engine.store.logs('data_lake__manifest', run.runId, 'wait', 1)).join('\n')).toContain(
      'quiet, but the manifest lists 1 object(s) not there yet (first s3://lake-raw/batch/b.json)',
    );
  });
});
