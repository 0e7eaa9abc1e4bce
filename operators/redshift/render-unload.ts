/** UNLOAD statements. Pure. The query is any text: it is written as one escaped literal. */
import { iamRole, identifier, literal, s3Uri, singleCharacter, SqlRenderError, wholeNumber } from './sql.ts';

export interface UnloadSpec {
  query: string;
  /** S3 prefix the files are written under. */
  to: string;
  iamRole: string;
  format: 'csv' | 'parquet' | 'json' | 'text';
  /** csv and text only. */
  header?: boolean;
  /** text only. */
  delimiter?: string;
  /** One file per slice (default) or serial output. */
  parallel?: boolean;
  partitionBy?: readonly string[];
  /** 5 to 6200 MB. */
  maxFileSizeMb?: number;
  manifest?: boolean;
  allowOverwrite?: boolean;
  /** KMS key id for SSE-KMS; ENCRYPTED without it means SSE-S3. */
  kmsKeyId?: string;
  encrypted?: boolean;
  compression?: 'gzip' | 'bzip2' | 'zstd';
}

export function renderUnload(spec: UnloadSpec): string {
  if (typeof spec.query !== 'string' || spec.query.trim() === '')
    throw new SqlRenderError('query', 'must be a non-empty SELECT');
  const parts = [
    `UNLOAD (${literal(spec.query, 'query')})`,
    `TO ${s3Uri(spec.to, 'to')}`,
    `IAM_ROLE ${iamRole(spec.iamRole)}`,
  ];
  switch (spec.format) {
    case 'parquet':
      parts.push('FORMAT AS PARQUET');
      break;
    case 'json':
      parts.push('FORMAT AS JSON');
      break;
    case 'csv':
      parts.push('FORMAT AS CSV');
      break;
    case 'text':
      if (spec.delimiter !== undefined) parts.push(`DELIMITER AS ${singleCharacter(spec.delimiter, 'delimiter')}`);
      break;
    default:
      throw new SqlRenderError('format', `${JSON.stringify(spec.format)} is not csv, parquet, json or text`);
  }
  if (spec.header) {
    if (spec.format !== 'csv' && spec.format !== 'text') throw new SqlRenderError('header', 'is only for csv and text');
    parts.push('HEADER');
  }
  if (spec.partitionBy?.length) {
    parts.push(`PARTITION BY (${spec.partitionBy.map((c, i) => identifier(c, `partitionBy[${i}]`)).join(', ')})`);
  }
  if (spec.parallel === false) parts.push('PARALLEL OFF');
  if (spec.maxFileSizeMb !== undefined)
    parts.push(`MAXFILESIZE ${wholeNumber(spec.maxFileSizeMb, 'maxFileSizeMb', 5, 6_200)} MB`);
  if (spec.manifest) parts.push('MANIFEST');
  if (spec.allowOverwrite) parts.push('ALLOWOVERWRITE');
  if (spec.kmsKeyId !== undefined) {
    if (!/^[A-Za-z0-9:/_-]{1,2048}$/.test(spec.kmsKeyId))
      throw new SqlRenderError('kmsKeyId', 'is not a KMS key id or ARN');
    parts.push(`KMS_KEY_ID ${literal(spec.kmsKeyId, 'kmsKeyId')}`, 'ENCRYPTED');
  } else if (spec.encrypted) {
    parts.push('ENCRYPTED');
  }
  if (spec.compression) {
    if (spec.format === 'parquet') throw new SqlRenderError('compression', 'parquet files are compressed already');
    if (!['gzip', 'bzip2', 'zstd'].includes(spec.compression)) {
      throw new SqlRenderError('compression', `${JSON.stringify(spec.compression)} is not gzip, bzip2 or zstd`);
    }
    parts.push(spec.compression.toUpperCase());
  }
  return parts.join('\n');
}
