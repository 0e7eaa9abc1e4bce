/**
 * A pipeline that needs nothing but Runway: the first thing `npm start` runs. It makes up a day of
 * orders, aggregates them and reports, to show runs, task states and logs.
 */
import { dag } from 'runway';

export default dag({
  id: 'demo__local_pipeline',
  description: 'Runs every five minutes on any machine: generates orders, aggregates them and reports.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: '*/5 * * * *',
  timezone: 'UTC',
  startDate: '2026-11-01',
  catchup: false,
  defaultArgs: { retries: 1, retryDelay: '10s' },
})
  .task('generate_orders', {}, async (ctx) => {
    const orders = Array.from({ length: 20 }, (_, i) => ({
      id: i + 1,
      region: ['eu', 'us', 'apac'][i % 3]!,
      amount: 10 + i,
    }));
    ctx.log.info(`generated ${orders.length} orders for ${ctx.ds}`);
    return orders;
  })
  .task('aggregate', { upstream: ['generate_orders'] }, async (ctx) => {
    const byRegion: Record<string, number> = {};
    for (const order of ctx.upstream.generate_orders)
      byRegion[order.region] = (byRegion[order.region] ?? 0) + order.amount;
    return byRegion;
  })
  .task('report', { upstream: ['aggregate'] }, async (ctx) => {
    ctx.log.info(`revenue by region: ${JSON.stringify(ctx.upstream.aggregate)}`);
  });
