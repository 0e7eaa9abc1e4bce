/** `redshiftCopy()`: loads S3 data into a Redshift table with COPY, appending, replacing or upserting. */
import { z } from 'zod';
import { resolveTemplated, type CheckTask, type RunInfo, type Templated } from '../../runner/index.ts';
import { parseOptions, statementTaskShape, templated } from './options.ts';
import { renderCopyLoad, type CopySpec, type LoadMode } from './render-copy.ts';
import { statementTask, type StatementOperator, type StatementTaskOptions } from './statement-task.ts';

export interface RedshiftCopyOptions extends StatementTaskOptions, Omit<CopySpec, 'from'> {
  /** S3 prefix, object or manifest; usually a function of the run: `(run) => \`s3://lake/events/dt=${run.ds}/\``. */
  from: Templated<string>;
  /** @defaultValue { type: 'append' } */
  mode?: LoadMode;
}

export interface RedshiftCopyOutput {
  statementId: string;
  table: string;
  /** Rows COPY loaded, where Redshift reports it. */
  rowsLoaded: number | null;
  durationMs: number | null;
}

const schema = z.looseObject({
  ...statementTaskShape,
  table: z.string(),
  from: templated(z.string()),
  iamRole: z.string(),
  format: z.looseObject({ type: z.enum(['csv', 'json', 'avro', 'parquet']) }),
  mode: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('append') }),
      z.strictObject({ type: z.literal('replace') }),
      z.strictObject({ type: z.literal('upsert'), keys: z.array(z.string()).min(1) }),
    ])
    .optional(),
});

/**
 * @example
 * redshiftCopy({
 *   target: { workgroupName: 'analytics', database: 'dev' },
 *   table: 'staging.orders', iamRole: 'arn:aws:iam::123456789012:role/redshift-loader',
 *   from: (run) => `s3://lake-raw/orders/dt=${run.ds}/`, format: { type: 'parquet' },
 *   mode: { type: 'upsert', keys: ['order_id'] },
 * })
 */
export function redshiftCopy(options: RedshiftCopyOptions): StatementOperator<RedshiftCopyOutput> {
  parseOptions(schema, options, 'redshiftCopy');
  const mode = options.mode ?? { type: 'append' };
  const copyStatementIndex = mode.type === 'append' ? 0 : 1;
  const sqlFor = (run: RunInfo) =>
    renderCopyLoad({ ...options, from: resolveTemplated(options.from, run) }, mode, stagingTableName(run.taskId));
  sqlFor({
    dagId: 'check',
    runId: 'check',
    taskId: 'check',
    tryNumber: 1,
    logicalDate: new Date(0),
    dataIntervalStart: new Date(0),
    dataIntervalEnd: new Date(0),
    ds: '1970-01-01',
    dsNodash: '19700101',
    params: {},
  });
  const { target, reschedule, table } = options;
  const operator = statementTask(
    'redshift-copy',
    { target, table, mode, format: options.format, reschedule },
    options,
    sqlFor,
    (result) => ({
      statementId: result.statementId,
      table,
      rowsLoaded: result.rows[copyStatementIndex] ?? null,
      durationMs: result.durationMs ?? null,
    }),
  );
  // The staging table is named after the task: only `.task()` knows the id, and checks it here.
  const checkTask: CheckTask = ({ taskId }) => {
    if (mode.type === 'upsert') checkStagingTableName(taskId);
  };
  return Object.assign(operator, { checkTask });
}

/** The temporary table an upsert stages rows in; one per task, so parallel loads never share one. */
export function stagingTableName(taskId: string): string {
  return `${STAGING_PREFIX}${taskId.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const STAGING_PREFIX = 'runway_stage_';

/** Redshift's limit on a name, in bytes; task ids are ASCII, so one character is one byte. */
const MAX_IDENTIFIER_BYTES = 127;

function checkStagingTableName(taskId: string): void {
  const name = stagingTableName(taskId);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new Error(
      `redshiftCopy: field "mode": an upsert stages rows in a temporary table named after the task id, "${name.slice(0, 40)}…" (${bytes} bytes); Redshift allows ${MAX_IDENTIFIER_BYTES}: give the task an id of at most ${MAX_IDENTIFIER_BYTES - STAGING_PREFIX.length} characters`,
    );
  }
}
