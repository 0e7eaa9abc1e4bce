/** `s3Sync()`: a task that syncs a local folder and an S3 prefix, either way. */
import { z } from 'zod';
import { resolveTemplated, type Operator, type RunInfo, type Templated } from '../../runner/index.ts';
import { parseOptions, templated } from '../redshift/options.ts';
import type { S3SyncOptions, S3SyncResult } from '../../runner/s3/sync.ts';
import { s3SyncModule } from '../aws-sdk.ts';
import { SyncRefusedError } from '../../runner/s3/sync-plan.ts';

export interface S3SyncTaskOptions extends Omit<S3SyncOptions, 'log' | 'signal' | 'onProgress'> {
  /** A local folder or an `s3://bucket/prefix/`; one side of the two must be S3. */
  from: Templated<string>;
  to: Templated<string>;
}

const schema = z.looseObject({
  from: templated(z.string().min(1)),
  to: templated(z.string().min(1)),
  delete: z.boolean().optional(),
  force: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  maxDeleteShare: z.number().min(0).max(1).optional(),
  concurrency: z.int().min(1).max(256).optional(),
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
});

/**
 * @example
 * s3Sync({ from: 'build/reports', to: (run) => `s3://lake-curated/reports/ds=${run.ds}/`, delete: true })
 */
export function s3Sync(options: S3SyncTaskOptions): Operator<S3SyncResult> & { render(run: RunInfo): unknown } {
  parseOptions(schema, options, 's3Sync');
  const ends = (run: RunInfo) => ({ from: resolveTemplated(options.from, run), to: resolveTemplated(options.to, run) });
  return {
    kind: 's3-sync',
    config: {
      from: typeof options.from === 'string' ? options.from : '(function of the run)',
      delete: options.delete ?? false,
    },
    render: (run) => ({
      api: 'S3 sync',
      params: { ...ends(run), delete: options.delete ?? false, dryRun: options.dryRun ?? false },
    }),
    async run(ctx) {
      const { from, to } = ends(ctx);
      const { from: _from, to: _to, ...rest } = options;
      const sync = { ...rest, log: ctx.log, signal: ctx.signal };
      const { syncFolderToS3, syncS3ToFolder } = await s3SyncModule();
      if (to.startsWith('s3://') && !from.startsWith('s3://')) return syncFolderToS3(ctx.aws.s3, from, to, sync);
      if (from.startsWith('s3://') && !to.startsWith('s3://')) return syncS3ToFolder(ctx.aws.s3, from, to, sync);
      throw new SyncRefusedError(`s3Sync needs one local folder and one s3:// prefix, not ${from} -> ${to}`);
    },
  };
}
