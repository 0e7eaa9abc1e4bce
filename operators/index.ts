/** Runway's operators. Each is a small typed factory; AWS clients reach it through the task context. */
export { redshiftCopy, type RedshiftCopyOptions, type RedshiftCopyOutput } from './redshift/copy.ts';
export { redshiftUnload, type RedshiftUnloadOptions, type RedshiftUnloadOutput } from './redshift/unload.ts';
export type { RedshiftTarget } from './redshift/statement.ts';
export type { CopyFormat, LoadMode } from './redshift/render-copy.ts';
export {
  glueCrawler,
  type GlueCrawlerOptions,
  type GlueCrawlerOutput,
  type GlueCrawlerConfig,
} from './glue/crawler.ts';
export { redshiftSql, type RedshiftSqlOptions, type RedshiftSqlOutput } from './redshift/sql-statement.ts';
export { s3Sync, type S3SyncTaskOptions } from './s3/s3-sync.ts';
export type { S3SyncResult } from '../runner/s3/sync.ts';
export {
  streamQuiescence,
  type StreamQuiescenceOptions,
  type QuiescenceOutput,
  type QuiescenceSource,
  type QuiescenceEventExtra,
} from './stream/stream-quiescence.ts';
export { pollStrategies, type Observation } from './stream/quiescence.ts';
