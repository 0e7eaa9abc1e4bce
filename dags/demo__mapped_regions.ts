/**
 * Dynamic task mapping with nothing but Runway: one instance of `summarize_region` per region the
 * first task finds, then one report over all their outputs, in index order.
 */
import { dag } from 'runway';

export default dag({
  id: 'demo__mapped_regions',
  description: 'Runs every ten minutes on any machine: one mapped task instance per region found, then a report.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: '*/10 * * * *',
  timezone: 'UTC',
  startDate: '2026-11-01',
  catchup: false,
  maxActiveTasks: 4,
  defaultArgs: { retries: 1, retryDelay: '10s' },
})
  .task('list_regions', {}, async (ctx) => {
    const regions = ['eu', 'us', 'apac', 'latam'];
    ctx.log.info(`found ${regions.length} regions for ${ctx.ds}`);
    return regions;
  })
  .expand('summarize_region', { over: 'list_regions', maxMapLength: 50 }, (region, mapIndex) => async (ctx) => {
    const orders = 10 + mapIndex * 7;
    ctx.log.info(`region ${region}: ${orders} orders`);
    return { region, orders };
  })
  .task('report', { upstream: ['summarize_region'] }, async (ctx) => {
    const total = ctx.upstream.summarize_region.reduce((sum, r) => sum + r.orders, 0);
    ctx.log.info(`${total} orders in ${ctx.upstream.summarize_region.map((r) => r.region).join(', ')}`);
    return total;
  });
