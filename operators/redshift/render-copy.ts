/**
 * COPY statements and the load modes built on them. Pure: `renderCopyLoad(spec)` returns the SQL
 * statements to run in one transaction, ready for the Redshift Data API.
 */
import {
  iamRole,
  identifier,
  literal,
  s3Uri,
  shortText,
  singleCharacter,
  SqlRenderError,
  tableName,
  wholeNumber,
} from './sql.ts';
import { copyExtraOption } from './copy-extra-options.ts';

export type CopyFormat =
  | { type: 'csv'; delimiter?: string; quote?: string; ignoreHeader?: number; nullAs?: string }
  | { type: 'json'; paths?: 'auto' | 'auto ignorecase' | string }
  | { type: 'avro'; paths?: 'auto' | 'auto ignorecase' | string }
  | { type: 'parquet' };

export type LoadMode =
  | { type: 'append' }
  /** Delete every row, then COPY, in one transaction. */
  | { type: 'replace' }
  /** COPY into a staging table, then delete the target rows matching on `keys` and insert, in one transaction. */
  | { type: 'upsert'; keys: readonly string[] };

export interface CopySpec {
  /** `schema.table` or `table`. */
  table: string;
  columns?: readonly string[];
  /** An S3 prefix or object, or a manifest file with `manifest: true`. */
  from: string;
  manifest?: boolean;
  /** IAM role ARN, or 'default'. */
  iamRole: string;
  format: CopyFormat;
  compression?: 'gzip' | 'bzip2' | 'zstd';
  dateFormat?: string;
  timeFormat?: string;
  region?: string;
  maxErrors?: number;
  truncateColumns?: boolean;
  blanksAsNull?: boolean;
  emptyAsNull?: boolean;
  /**
   * Other COPY data conversion or load options, each a keyword with the value it takes:
   * `['ACCEPTINVCHARS', 'FILLRECORD', 'COMPUPDATE OFF']`. Authorization and data-source keywords
   * (`IAM_ROLE`, `ACCESS_KEY_ID`, `CREDENTIALS`, `SSH`, …) are refused.
   */
  extraOptions?: readonly string[];
}

function formatClause(format: CopyFormat): string[] {
  switch (format.type) {
    case 'csv': {
      const parts = ['CSV'];
      if (format.delimiter !== undefined)
        parts.push(`DELIMITER ${singleCharacter(format.delimiter, 'format.delimiter')}`);
      if (format.quote !== undefined) parts.push(`QUOTE ${singleCharacter(format.quote, 'format.quote')}`);
      if (format.ignoreHeader !== undefined)
        parts.push(`IGNOREHEADER ${wholeNumber(format.ignoreHeader, 'format.ignoreHeader', 0, 1_000)}`);
      if (format.nullAs !== undefined)
        parts.push(`NULL AS ${shortText(format.nullAs, 'format.nullAs', /^[A-Za-z0-9 _\\-]{0,32}$/)}`);
      return parts;
    }
    case 'json':
    case 'avro': {
      const paths = format.paths ?? 'auto';
      const value =
        paths === 'auto' || paths === 'auto ignorecase' ? literal(paths, 'format.paths') : s3Uri(paths, 'format.paths');
      return [`FORMAT AS ${format.type.toUpperCase()} ${value}`];
    }
    case 'parquet':
      return ['FORMAT AS PARQUET'];
    default:
      throw new SqlRenderError(
        'format.type',
        `${JSON.stringify((format as { type: unknown }).type)} is not csv, json, avro or parquet`,
      );
  }
}

/** One COPY statement into `table` (the target, or a staging table). */
export function renderCopy(spec: CopySpec, into = tableName(spec.table, 'table')): string {
  const columns = spec.columns?.length
    ? ` (${spec.columns.map((c, i) => identifier(c, `columns[${i}]`)).join(', ')})`
    : '';
  const parts = [`COPY ${into}${columns}`, `FROM ${s3Uri(spec.from, 'from')}`, `IAM_ROLE ${iamRole(spec.iamRole)}`];
  if (spec.manifest) parts.push('MANIFEST');
  parts.push(...formatClause(spec.format));
  if (spec.compression) {
    if (!['gzip', 'bzip2', 'zstd'].includes(spec.compression)) {
      throw new SqlRenderError('compression', `${JSON.stringify(spec.compression)} is not gzip, bzip2 or zstd`);
    }
    parts.push(spec.compression.toUpperCase());
  }
  if (spec.dateFormat !== undefined) parts.push(`DATEFORMAT ${shortText(spec.dateFormat, 'dateFormat')}`);
  if (spec.timeFormat !== undefined) parts.push(`TIMEFORMAT ${shortText(spec.timeFormat, 'timeFormat')}`);
  if (spec.region !== undefined) parts.push(`REGION ${shortText(spec.region, 'region', /^[a-z]{2}(-[a-z]+)+-\d$/)}`);
  if (spec.maxErrors !== undefined) parts.push(`MAXERROR ${wholeNumber(spec.maxErrors, 'maxErrors', 0, 100_000)}`);
  if (spec.truncateColumns) parts.push('TRUNCATECOLUMNS');
  if (spec.blanksAsNull) parts.push('BLANKSASNULL');
  if (spec.emptyAsNull) parts.push('EMPTYASNULL');
  (spec.extraOptions ?? []).forEach((option, i) => parts.push(copyExtraOption(option, `extraOptions[${i}]`)));
  return parts.join('\n');
}

/** The statements of a load, run in one transaction (BatchExecuteStatement). */
export function renderCopyLoad(spec: CopySpec, mode: LoadMode, stagingName: string): string[] {
  const target = tableName(spec.table, 'table');
  switch (mode.type) {
    case 'append':
      return [renderCopy(spec, target)];
    case 'replace':
      // DELETE, not TRUNCATE: TRUNCATE commits at once and would break the transaction.
      return [`DELETE FROM ${target}`, renderCopy(spec, target)];
    case 'upsert': {
      if (!mode.keys.length) throw new SqlRenderError('mode.keys', 'an upsert needs at least one key column');
      const stage = identifier(stagingName, 'staging table');
      const keys = mode.keys.map((k, i) => identifier(k, `mode.keys[${i}]`));
      const match = keys.map((k) => `${target}.${k} = ${stage}.${k}`).join(' AND ');
      return [
        `CREATE TEMP TABLE ${stage} (LIKE ${target})`,
        renderCopy(spec, stage),
        `DELETE FROM ${target} USING ${stage} WHERE ${match}`,
        `INSERT INTO ${target} SELECT * FROM ${stage}`,
        `DROP TABLE ${stage}`,
      ];
    }
    default:
      throw new SqlRenderError(
        'mode.type',
        `${JSON.stringify((mode as { type: unknown }).type)} is not append, replace or upsert`,
      );
  }
}
