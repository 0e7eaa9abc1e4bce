/**
 * Nightly event lake: wait until the day's Firehose deliveries have stopped landing, compact them,
 * publish the aggregates and refresh the catalog. Function tasks stand in for the AWS operators
 * until those are wired in.
 */
import { dag, skip } from 'runway';

export default dag({
  id: 'data_lake__events_nightly',
  description: 'Compacts the day of clickstream events Firehose landed in S3 and publishes daily aggregates.',
  owner: 'data-platform',
  tags: ['data-lake', 'events'],
  schedule: '0 2 * * *',
  timezone: 'Europe/Paris',
  startDate: '2026-01-01',
  catchup: false,
  maxActiveRuns: 1,
  defaultArgs: { retries: 2, retryDelay: '5m', retryBackoff: 'exponential', maxRetryDelay: '30m' },
  notifications: [{ type: 'slack', webhookUrlEnv: 'SLACK_DATA_PLATFORM_WEBHOOK', on: ['failure'] }],
})
  .task('list_partition', { doc: 'Which partition this run reads' }, async (ctx) => ({
    prefix: `events/dt=${ctx.ds}/`,
    day: ctx.ds,
  }))
  .task('count_events', { upstream: ['list_partition'], executionTimeout: '10m' }, async (ctx) => {
    ctx.log.info('counting events', { prefix: ctx.upstream.list_partition.prefix });
    return { prefix: ctx.upstream.list_partition.prefix, events: 0 };
  })
  .task('aggregate', { upstream: ['count_events'], pool: 'redshift' }, async (ctx) => {
    if (ctx.upstream.count_events.events === 0) throw skip(`no events under ${ctx.upstream.count_events.prefix}`);
    return { rows: ctx.upstream.count_events.events };
  })
  .task('report', { upstream: ['aggregate'], triggerRule: 'none_failed' }, async (ctx) => {
    ctx.log.info('events day done', { day: ctx.ds, aggregate: ctx.upstream.aggregate });
  });
