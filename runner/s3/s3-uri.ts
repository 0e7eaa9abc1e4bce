/**
 * `s3://bucket/prefix` parsing, apart from the sync itself so that an operator can check its
 * options at DAG import time without loading the AWS SDK.
 */
import { SyncRefusedError } from './sync-plan.ts';

export interface S3Location {
  bucket: string;
  /** '' for the whole bucket, otherwise ending with '/'. */
  prefix: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!match) throw new SyncRefusedError(`${JSON.stringify(uri)} is not an s3://bucket/prefix URI`);
  const raw = match[2] ?? '';
  return { bucket: match[1]!, prefix: raw === '' || raw.endsWith('/') ? raw : `${raw}/` };
}
