/**
 * The producer half of the asset demo: deliveries land in a partition of the local S3, and the
 * quiescence sensor, once they stop, records an event of the `landed-events/` asset saying which
 * partition is complete. `demo__events_report` runs on that event, not on a clock.
 */
import { dag, type RunInfo } from 'runway';
import { streamQuiescence } from 'runway/operators';
import { landedEvents } from './_lib/demo-assets.ts';

const BUCKET = 'runway-demo';
const partition = (run: RunInfo) =>
  `landed-events/dt=${run.ds}/slot=${run.logicalDate.toISOString().slice(11, 16).replace(':', '')}/`;

export default dag({
  id: 'demo__events_landing',
  description: 'Lands event deliveries in the local S3; when they stop, records an event of the landed-events asset.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: '*/10 * * * *',
  timezone: 'UTC',
  startDate: '2026-11-01',
  catchup: false,
})
  .task('deliver', { doc: 'Stands in for Kinesis Firehose: 2 bursts of 5 objects, 1 s apart' }, async (ctx) => {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3'); // at run time: imports of this file stay light
    for (let burst = 0; burst < 2; burst++) {
      for (let i = 0; i < 5; i++) {
        const body = ['page_view', 'add_to_cart', 'purchase'].map((type) => JSON.stringify({ type })).join('\n');
        const key = `${partition(ctx)}delivery-${Date.now()}-${burst}-${i}.json`;
        await ctx.aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })
  .task(
    'wait_until_quiet',
    { doc: 'Quiet once nothing new landed for 3 s; its success is the asset event', outlets: [landedEvents] },
    streamQuiescence({
      source: { s3: (run) => `s3://${BUCKET}/${partition(run)}`, timeOrderedKeys: true },
      window: '3s',
      poll: { strategy: 'adaptive', min: '1s', max: '3s' },
      timeout: '10m',
    }),
  );
