/**
 * Nightly event lake: once the day's Firehose deliveries have stopped landing, upsert them into
 * Redshift, unload the daily aggregates to the curated lake and refresh the Glue catalog.
 */
import { dag } from 'runway';
import { glueCrawler, redshiftCopy, redshiftUnload, streamQuiescence } from 'runway/operators';

const warehouse = { workgroupName: 'analytics', database: 'dev' };
const role = 'arn:aws:iam::123456789012:role/redshift-lake';

export default dag({
  id: 'data_lake__events_nightly',
  description:
    'Loads the day of clickstream events Firehose landed in S3 into Redshift and publishes daily aggregates.',
  owner: 'data-platform',
  tags: ['data-lake', 'events'],
  schedule: '0 2 * * *',
  timezone: 'Europe/Paris',
  startDate: '2026-11-01',
  catchup: false,
  maxActiveRuns: 1,
  defaultArgs: { retries: 2, retryDelay: '5m', retryBackoff: 'exponential', maxRetryDelay: '30m' },
  notifications: [{ type: 'slack', webhookUrlEnv: 'SLACK_DATA_PLATFORM_WEBHOOK', on: ['failure'] }],
})
  .task(
    'wait_for_events',
    { doc: 'Until Firehose has stopped delivering the day' },
    streamQuiescence({
      source: { s3: (run) => `s3://lake-raw/events/dt=${run.ds}/`, timeOrderedKeys: true },
      window: '15m',
      minObjects: 1,
      timeout: '6h',
    }),
  )
  .task(
    'load_events',
    { upstream: ['wait_for_events'], pool: 'redshift', executionTimeout: '2h' },
    redshiftCopy({
      target: warehouse,
      table: 'analytics.events',
      from: (run) => `s3://lake-raw/events/dt=${run.ds}/`,
      iamRole: role,
      format: { type: 'json' },
      compression: 'gzip',
      mode: { type: 'upsert', keys: ['event_id'] },
      reschedule: { timeout: '3h', pollEvery: '1m' },
    }),
  )
  .task(
    'unload_daily',
    { upstream: ['load_events'], pool: 'redshift' },
    redshiftUnload({
      target: warehouse,
      query: (run) =>
        `select event_type, count(*) as events, count(distinct user_id) as users from analytics.events where event_date = '${run.ds}' group by 1`,
      to: (run) => `s3://lake-curated/events_daily/ds=${run.ds}/`,
      iamRole: role,
      format: 'parquet',
      manifest: true,
      allowOverwrite: true,
    }),
  )
  .task(
    'crawl_curated',
    { upstream: ['unload_daily'] },
    glueCrawler({
      name: 'lake_curated_events_daily',
      config: {
        role: 'arn:aws:iam::123456789012:role/glue-crawler',
        databaseName: 'curated',
        s3Targets: [{ path: 's3://lake-curated/events_daily/' }],
        schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
      },
    }),
  );
