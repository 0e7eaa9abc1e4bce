/**
 * A task group between a setup and its teardown, on any machine: the "scratch schema" is a
 * temporary directory the setup creates, the load group writes and merges in it, and the teardown
 * removes it whatever the load did. Trigger it with `{"failMerge": true}` to see the teardown run
 * after a failure, and `runway tasks clear demo__scratch_schema <run> --task load.merge_orders` to
 * see a clear make the directory again.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { dag, failNow } from 'runway';

export default dag({
  id: 'demo__scratch_schema',
  description: 'Creates a scratch area, loads orders through it in a task group, and always drops it after.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: '*/10 * * * *',
  timezone: 'UTC',
  startDate: '2026-11-01',
  catchup: false,
  defaultArgs: { retries: 1, retryDelay: '10s' },
  params: z.object({ failMerge: z.boolean().default(false) }),
})
  .setup('create_scratch_schema', {}, async (ctx) => {
    const path = await mkdtemp(join(tmpdir(), `runway-scratch-${ctx.dsNodash}-`));
    ctx.log.info(`created scratch schema ${path}`);
    return { path };
  })
  .group('load', { upstream: ['create_scratch_schema'], defaultArgs: { retries: 0, executionTimeout: '1m' } }, (g) =>
    g
      .task('stage_orders', { upstream: ['create_scratch_schema'] }, async (ctx) => {
        const orders = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, amount: 5 + i }));
        const file = join(ctx.upstream.create_scratch_schema.path, 'orders.json');
        await writeFile(file, JSON.stringify(orders));
        return { file, rows: orders.length };
      })
      .task('merge_orders', { upstream: ['load.stage_orders'] }, async (ctx) => {
        if (ctx.params.failMerge)
          throw failNow('merge failed on purpose (failMerge): the teardown still drops the schema');
        const orders = JSON.parse(await readFile(ctx.upstream['load.stage_orders'].file, 'utf8')) as {
          amount: number;
        }[];
        return { total: orders.reduce((sum, order) => sum + order.amount, 0) };
      }),
  )
  .teardown('drop_scratch_schema', { setups: ['create_scratch_schema'], upstream: ['load'] }, async (ctx) => {
    // Runs after a failed load too; `null` only if the setup produced nothing.
    const path = ctx.upstream.create_scratch_schema?.path;
    if (path) await rm(path, { recursive: true, force: true });
    ctx.log.info(`dropped scratch schema ${path ?? '(none)'}`);
  })
  .task('report', { upstream: ['load'] }, async (ctx) => {
    ctx.log.info(`the load group finished for ${ctx.ds}`);
  });
