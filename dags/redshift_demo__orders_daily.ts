/**
 * Daily orders load: stage the day's order export, merge it into the warehouse table and unload a
 * summary for finance. Function tasks stand in for the Redshift operators until those are wired in.
 */
import { z } from 'zod';
import { dag } from 'runway';

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
  .task('stage_orders', {}, async (ctx) => ({
    source: `s3://example-orders/exports/${ctx.dsNodash}/`,
    fullRefresh: ctx.params.fullRefresh,
  }))
  .task('merge_orders', { upstream: ['stage_orders'] }, async (ctx) => ({
    merged: ctx.upstream.stage_orders.fullRefresh ? 'full' : 'incremental',
  }))
  .task('unload_summary', { upstream: ['merge_orders'] }, async (ctx) => ({
    prefix: `s3://example-finance/orders_summary/ds=${ctx.ds}/`,
  }))
  .task('notify_finance', { upstream: ['unload_summary'], triggerRule: 'all_done', retries: 0 }, async (ctx) => {
    ctx.log.info('summary published', { prefix: ctx.upstream.unload_summary.prefix });
  });
