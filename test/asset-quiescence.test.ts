import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dag, s3PrefixAsset } from 'runway';
import { streamQuiescence, type QuiescenceEventExtra } from '../operators/index.ts';
import { testAwsClients } from './helpers/aws-clients.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';
import { until } from './helpers/services.ts';

let s3: LocalS3;
let runway: TestRunway;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('lake-raw');
});
afterEach(async () => runway?.close());
afterAll(async () => s3?.close());

const rawEvents = s3PrefixAsset<QuiescenceEventExtra>({ bucket: 'lake-raw', prefix: 'events/' });

describe('the quiescence sensor with outlets', () => {
  it('records an asset event saying which partition went quiet, and the consumer runs on it', async () => {
    const producer = dag({ ...manualDag, id: 'data_lake__firehose' }).task(
      'wait_for_events',
      { outlets: [rawEvents] },
      streamQuiescence({
        source: { s3: (run) => `s3://lake-raw/events/dt=${run.ds}/`, timeOrderedKeys: true },
        window: '300ms',
        poll: { strategy: 'fixed', every: '100ms' },
        timeout: '1m',
      }),
    );
    const consumer = dag({ ...manualDag, id: 'data_lake__nightly', schedule: [rawEvents] }).task(
      'transform',
      {},
      async (ctx) => ctx.assets.of(rawEvents).map((event) => event.extra),
    );
    for (let i = 0; i < 3; i++) {
      await s3.client.send(
        new PutObjectCommand({ Bucket: 'lake-raw', Key: `events/dt=2026-03-01/part-${i}.json`, Body: '{"n":1}' }),
      );
    }
    runway = testRunway([producer, consumer]);
    runway.worker({ aws: testAwsClients({ s3: s3.client }) });
    const run = await runway.trigger('data_lake__firehose', {}, new Date('2026-03-01T00:00:00Z'));
    expect((await runway.waitForRun('data_lake__firehose', run.runId)).state).toBe('success');
    const [consumed] = await until('the consumer run', async () => {
      const runs = await runway.engine.store.listRuns('data_lake__nightly');
      return runs.length > 0 && runs.every((r) => r.state === 'success') ? runs : undefined;
    });
    expect(await runway.engine.store.outputs('data_lake__nightly', consumed!.runId, ['transform'])).toEqual({
      transform: [
        {
          source: 's3://lake-raw/events/dt=2026-03-01/',
          count: 3,
          bytes: 21,
          newestKey: 'events/dt=2026-03-01/part-2.json',
        },
      ],
    });
  });
});
