/**
 * `redshiftSql()`: runs SQL the DAG author wrote (a merge, a vacuum) through the Data API, several
 * statements as one transaction. Unlike COPY and UNLOAD options, this text is the author's own SQL
 * and is sent as written; build values into it only from trusted run values.
 */
import { z } from 'zod';
import { resolveTemplated, type Templated } from '../../runner/index.ts';
import { parseOptions, statementTaskShape, templated } from './options.ts';
import { statementTask, type StatementOperator, type StatementTaskOptions } from './statement-task.ts';

export interface RedshiftSqlOptions extends StatementTaskOptions {
  /** One statement, or several run as one transaction. */
  sql: Templated<string | string[]>;
}

export interface RedshiftSqlOutput {
  statementId: string;
  rows: (number | null)[];
  durationMs: number | null;
}

const schema = z.strictObject({
  ...statementTaskShape,
  sql: templated(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])),
});

/**
 * @example
 * redshiftSql({
 *   target: { workgroupName: 'analytics', database: 'dev' },
 *   sql: ['delete from core.orders using staging.orders s where core.orders.id = s.id', 'insert into core.orders select * from staging.orders'],
 * })
 */
export function redshiftSql(options: RedshiftSqlOptions): StatementOperator<RedshiftSqlOutput> {
  parseOptions(schema, options, 'redshiftSql');
  return statementTask(
    'redshift-sql',
    { target: options.target, reschedule: options.reschedule },
    options,
    (run) => [resolveTemplated(options.sql, run)].flat(),
    (result) => ({
      statementId: result.statementId,
      rows: result.rows.map((r) => r ?? null),
      durationMs: result.durationMs ?? null,
    }),
  );
}
