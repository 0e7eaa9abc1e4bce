/** `redshiftUnload()`: writes a query's result to S3 with UNLOAD. */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws-sdk.ts';
import { z } from 'zod';
import { resolveTemplated, type RunInfo, type Templated } from '../../runner/index.ts';
import { parseOptions, statementTaskShape, templated } from './options.ts';
import { renderUnload, type UnloadSpec } from './render-unload.ts';
import { statementTask, type StatementOperator, type StatementTaskOptions } from './statement-task.ts';

export interface RedshiftUnloadOptions extends StatementTaskOptions, Omit<UnloadSpec, 'query' | 'to'> {
  /** The SELECT, usually a function of the run. Any text: it is escaped as one literal. */
  query: Templated<string>;
  /** S3 prefix to write under. */
  to: Templated<string>;
}

export interface RedshiftUnloadOutput {
  statementId: string;
  /** Where the files are. */
  prefix: string;
  /** With `manifest: true`, the manifest listing every file written. */
  manifest: string | null;
  /** With `manifest: true`, the files written, read from the manifest. */
  files: string[] | null;
  rowsUnloaded: number | null;
  durationMs: number | null;
}

/** The file URLs an UNLOAD manifest lists. */
async function manifestFiles(s3: Pick<S3Client, 'send'>, manifestUri: string): Promise<string[]> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(manifestUri)!;
  const response = await s3.send(new (await s3Sdk()).GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  const manifest = JSON.parse(await response.Body!.transformToString()) as { entries?: { url: string }[] };
  return (manifest.entries ?? []).map((entry) => entry.url);
}

const schema = z.looseObject({
  ...statementTaskShape,
  query: templated(z.string()),
  to: templated(z.string()),
  iamRole: z.string(),
  format: z.enum(['csv', 'parquet', 'json', 'text']),
});

/**
 * @example
 * redshiftUnload({
 *   target: { clusterIdentifier: 'analytics', database: 'dev', dbUser: 'etl' },
 *   query: (run) => `select region, count(*) from orders where day = '${run.ds}' group by 1`,
 *   to: (run) => `s3://lake-curated/orders_daily/ds=${run.ds}/`,
 *   iamRole: 'arn:aws:iam::123456789012:role/redshift-unloader', format: 'parquet', manifest: true,
 * })
 */
export function redshiftUnload(options: RedshiftUnloadOptions): StatementOperator<RedshiftUnloadOutput> {
  parseOptions(schema, options, 'redshiftUnload');
  const specFor = (run: RunInfo): UnloadSpec => ({
    ...options,
    query: resolveTemplated(options.query, run),
    to: resolveTemplated(options.to, run),
  });
  renderUnload({
    ...options,
    query: typeof options.query === 'function' ? 'select 1' : options.query,
    to: typeof options.to === 'function' ? 's3://placeholder/prefix/' : options.to,
  });
  const { target, reschedule, format } = options;
  return statementTask(
    'redshift-unload',
    { target, format, reschedule },
    options,
    (run) => [renderUnload(specFor(run))],
    async (result, ctx) => {
      const prefix = specFor(ctx).to;
      const manifest = options.manifest ? `${prefix}manifest` : null;
      return {
        statementId: result.statementId,
        prefix,
        manifest,
        files: manifest ? await manifestFiles(ctx.aws.s3, manifest) : null,
        rowsUnloaded: result.rows[0] ?? null,
        durationMs: result.durationMs ?? null,
      };
    },
  );
}
