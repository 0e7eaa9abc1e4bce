/**
 * The nightly flow Runway exists for, runnable on any machine with `npm start`: a producer writes
 * event batches to the local S3 in bursts, the way a Firehose delivery stream does; the quiescence
 * sensor waits for the deliveries to stop; a transform aggregates them; S3 sync publishes the result.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dag, type RunInfo } from 'runway';
import { s3Sync, streamQuiescence } from 'runway/operators';

const BUCKET = 'runway-demo';
const slot = (run: RunInfo) => `${run.dsNodash}T${run.logicalDate.toISOString().slice(11, 16).replace(':', '')}`;
const eventsPrefix = (run: RunInfo) => `events/dt=${run.ds}/slot=${slot(run)}/`;
const outputFolder = (run: RunInfo) => `.runway/demo-output/${slot(run)}`;
const EVENT_TYPES = ['page_view', 'add_to_cart', 'purchase'];

export default dag({
  id: 'demo__firehose_local',
  description: 'Local Firehose-like deliveries, waited for by the quiescence sensor, aggregated and published to S3.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: '*/10 * * * *',
  timezone: 'UTC',
  startDate: '2026-11-01',
  catchup: false,
})
  .task('produce_events', { doc: 'Stands in for Kinesis Firehose: 3 bursts of 10 objects, 2 s apart' }, async (ctx) => {
    // Imported when the task runs, not at the top: validate and `dags list` import this file, and the SDK is
    // most of an import's time (Airflow's advice on top-level imports, the same reason).
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    let objects = 0;
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 10; i++) {
        const lines = Array.from({ length: 20 }, (_, n) =>
          JSON.stringify({ type: EVENT_TYPES[(burst + i + n) % 3], amount: (i + n) % 7 }),
        );
        const key = `${eventsPrefix(ctx)}firehose-${Date.now()}-${burst}-${String(i).padStart(2, '0')}.json`;
        await ctx.aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: lines.join('\n') }));
        objects++;
      }
      ctx.log.info(`delivered burst ${burst + 1} of 3`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    return { objects };
  })
  .task(
    'wait_for_events',
    { doc: 'Quiet once nothing new landed for 5 s' },
    streamQuiescence({
      source: { s3: (run) => `s3://${BUCKET}/${eventsPrefix(run)}`, timeOrderedKeys: true },
      window: '5s',
      poll: { strategy: 'adaptive', min: '1s', max: '5s' },
      timeout: '10m',
    }),
  )
  .task('aggregate', { upstream: ['wait_for_events'] }, async (ctx) => {
    const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const totals: Record<string, { events: number; amount: number }> = {};
    const listing = await ctx.aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: eventsPrefix(ctx) }));
    for (const object of listing.Contents ?? []) {
      const body = await ctx.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key! }));
      for (const line of (await body.Body!.transformToString()).split('\n')) {
        const event = JSON.parse(line) as { type: string; amount: number };
        const total = (totals[event.type] ??= { events: 0, amount: 0 });
        total.events++;
        total.amount += event.amount;
      }
    }
    await mkdir(outputFolder(ctx), { recursive: true });
    await writeFile(`${outputFolder(ctx)}/by_type.json`, JSON.stringify(totals, null, 2));
    ctx.log.info(`aggregated ${ctx.upstream.wait_for_events.count} objects: ${JSON.stringify(totals)}`);
    return totals;
  })
  .task(
    'publish',
    { upstream: ['aggregate'] },
    s3Sync({ from: outputFolder, to: (run) => `s3://${BUCKET}/aggregates/slot=${slot(run)}/` }),
  );
