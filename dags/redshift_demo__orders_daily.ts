/**
 * Daily orders: COPY the day's export into staging, merge it into the core table in one
 * transaction, and unload a summary for finance.
 */
import { z } from 'zod';
import { dag } from 'runway';
import { redshiftCopy, redshiftSql, redshiftUnload } from 'runway/operators';

const warehouse = { clusterIdentifier: 'warehouse', database: 'dev', dbUser: 'etl' };
const role = 'arn:aws:iam::123456789012:role/redshift-orders';

export default dag({
  id: 'redshift_demo__orders_daily',
  description: 'Loads the daily orders export into Redshift staging, merges it and unloads a finance summary.',
  owner: 'analytics-engineering',
  tags: ['redshift', 'orders'],
  schedule: '@daily',
  timezone: 'America/New_York',
  startDate: '2026-11-01',
  catchup: true,
  maxActiveRuns: 2,
  defaultArgs: { retries: 3, retryDelay: '2m', executionTimeout: '1h', pool: 'redshift' },
  params: z.object({ fullRefresh: z.boolean().default(false) }),
})
  .task(
    'stage_orders',
    {},
    redshiftCopy({
      target: warehouse,
      table: 'staging.orders',
      from: (run) => `s3://example-orders/exports/${run.dsNodash}/`,
      iamRole: role,
      format: { type: 'csv', ignoreHeader: 1 },
      dateFormat: 'auto',
      mode: { type: 'replace' },
    }),
  )
  .task(
    'merge_orders',
    { upstream: ['stage_orders'] },
    redshiftSql({
      target: warehouse,
      sql: [
        'delete from core.orders using staging.orders s where core.orders.order_id = s.order_id',
        'insert into core.orders select * from staging.orders',
      ],
    }),
  )
  .task(
    'unload_summary',
    { upstream: ['merge_orders'] },
    redshiftUnload({
      target: warehouse,
      query: (run) =>
        `select region, sum(amount) as revenue from core.orders where order_date = '${run.ds}' group by 1`,
      to: (run) => `s3://example-finance/orders_summary/ds=${run.ds}/`,
      iamRole: role,
      format: 'csv',
      header: true,
      parallel: false,
    }),
  )
  .task('notify_finance', { upstream: ['unload_summary'], triggerRule: 'all_done', retries: 0 }, async (ctx) => {
    // all_done: this runs after a failed unload too, when there is no summary to announce.
    const summary = ctx.upstream.unload_summary;
    if (summary === null) ctx.log.warn('no summary today: unload_summary did not succeed');
    else ctx.log.info('summary published', { prefix: summary.prefix });
  });
