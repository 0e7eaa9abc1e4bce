/**
 * A first DAG that needs nothing but Runway: `npx runway dags test example__hello` runs it here.
 * Copy it under a new name (the id must be unique) to start your own.
 */
import { dag } from 'runway';

export default dag({
  id: 'example__hello',
  description: 'Counts a made-up day of orders by region and reports the totals.',
  owner: 'data-platform',
  tags: ['example'],
  schedule: '0 2 * * *',
  timezone: 'UTC',
  startDate: '2026-01-01',
  catchup: false,
  defaultArgs: { retries: 1, retryDelay: '1m' },
})
  .task('list_orders', {}, async (ctx) => {
    ctx.log.info(`orders of ${ctx.ds}`);
    return [
      { region: 'eu', amount: 12 },
      { region: 'us', amount: 30 },
      { region: 'eu', amount: 8 },
    ];
  })
  .task('total_by_region', { upstream: ['list_orders'] }, async (ctx) => {
    const totals: Record<string, number> = {};
    for (const order of ctx.upstream.list_orders) totals[order.region] = (totals[order.region] ?? 0) + order.amount;
    return totals;
  })
  .task('report', { upstream: ['total_by_region'] }, async (ctx) => {
    ctx.log.info(`totals: ${JSON.stringify(ctx.upstream.total_by_region)}`);
  });
