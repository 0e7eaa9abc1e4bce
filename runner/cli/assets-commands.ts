/** `runway assets list` and `runway assets events <uri>`: lineage and recent events, from Redis and the DAG folder. */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';
import { withRuntime, withRuntimeFlags } from './run-commands.ts';
import type { RuntimeFlags } from './runtime.ts';
import { table } from './table.ts';

const catalog = () => import('../state/asset-catalog.ts');

const limitOf = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000)
    throw new InvalidArgumentError('--limit must be a whole number from 1 to 1000');
  return n;
};

export function addAssetCommands(program: Command, io: CliIo): void {
  const assets = program
    .command('assets')
    .description('assets: which DAGs update them, which run on them, their events');

  withRuntimeFlags(assets.command('list').description('every asset the DAGs name or that has had an event')).action(
    async (flags: RuntimeFlags) => {
      const { listAssets } = await catalog();
      const items = await withRuntime(io, flags, ({ engine }) => listAssets(engine));
      io.out(
        items.length === 0
          ? 'No assets: no task lists outlets and no DAG is scheduled on assets'
          : table(
              ['uri', 'updated by', 'runs', 'last event'],
              items.map((a) => [
                a.uri,
                a.producers.map((p) => `${p.dagId}.${p.taskId}`).join(', ') || '-',
                a.consumers.join(', ') || '-',
                a.lastEvent ? `${a.lastEvent.at} (${a.lastEvent.sourceDagId})` : '-',
              ]),
            ),
      );
    },
  );

  withRuntimeFlags(assets.command('events').description("an asset's newest events, newest first"))
    .argument('<uri>')
    .option('--limit <n>', 'how many', limitOf, 25)
    .action(async (uri: string, flags: RuntimeFlags & { limit: number }) => {
      const { assetDetail } = await catalog();
      const detail = await withRuntime(io, flags, ({ engine }) => assetDetail(engine, uri, flags.limit));
      if (!detail)
        throw new UsageError(
          `no asset "${uri.slice(0, 200)}": no DAG names it and it has had no event (see \`runway assets list\`)`,
        );
      io.out(
        `${detail.uri}\n  updated by: ${detail.producers.map((p) => `${p.dagId}.${p.taskId}`).join(', ') || '-'}\n  runs: ${detail.consumers.join(', ') || '-'}`,
      );
      io.out(
        detail.events.length === 0
          ? '(no events)'
          : table(
              ['id', 'at', 'dag', 'run', 'task', 'extra'],
              detail.events.map((e) => [
                String(e.id),
                e.at,
                e.sourceDagId,
                e.sourceRunId,
                e.sourceTaskId,
                e.extra === null ? '-' : JSON.stringify(e.extra),
              ]),
            ),
      );
    });
}
