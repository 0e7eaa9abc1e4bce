/**
 * The consumer half of the asset demo: scheduled on the `landed-events/` asset, it runs within
 * milliseconds of each event and reads, from the event's extra, which partition became complete.
 */
import { dag } from 'runway';
import type { QuiescenceEventExtra } from 'runway/operators';
import { landedEvents } from './_lib/demo-assets.ts';

const BUCKET = 'runway-demo';
/** The partition an event says went quiet, as a key prefix of the bucket. */
const prefixOf = (extra: QuiescenceEventExtra | null) => extra?.source?.replace(`s3://${BUCKET}/`, '');

export default dag({
  id: 'demo__events_report',
  description: 'Runs when a landed-events partition goes quiet: counts its events by type and writes a report to S3.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: [landedEvents],
  timezone: 'UTC',
  startDate: '2026-11-01',
}).task('count_by_type', {}, async (ctx) => {
  // The SDK is imported when the task runs: importing this file (validate, `dags list`) stays light.
  const { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const reports = [];
  for (const event of ctx.assets.of(landedEvents)) {
    const prefix = prefixOf(event.extra);
    if (!prefix) continue;
    const byType: Record<string, number> = {};
    const listing = await ctx.aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    for (const object of listing.Contents ?? []) {
      const body = await ctx.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key! }));
      for (const line of (await body.Body!.transformToString()).split('\n')) {
        const { type } = JSON.parse(line) as { type: string };
        byType[type] = (byType[type] ?? 0) + 1;
      }
    }
    const key = `reports/${prefix.replace('landed-events/', '')}by_type.json`;
    await ctx.aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(byType) }));
    ctx.log.info(`${prefix} (${event.extra?.count} objects, from ${event.sourceDagId}): ${JSON.stringify(byType)}`);
    reports.push({ partition: prefix, byType });
  }
  return reports;
});
