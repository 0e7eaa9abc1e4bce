/**
 * The AWS clients tasks get by default: built on first use from the standard credential chain and
 * region, so a worker that runs no AWS task never needs credentials. Throttling is retried by the
 * SDK's adaptive retry strategy.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from './operator.ts';

export interface AwsClientOptions {
  region?: string;
  /** An S3-compatible endpoint (standalone's local S3). */
  s3Endpoint?: string;
  /** @defaultValue 5 */
  maxAttempts?: number;
}

export function lazyAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: 'adaptive' as const,
  };
  let s3: S3Client | undefined;
  let redshiftData: RedshiftDataClient | undefined;
  let glue: GlueClient | undefined;
  return {
    get s3() {
      return (s3 ??= new S3Client({
        ...common,
        ...(options.s3Endpoint ? { endpoint: options.s3Endpoint, forcePathStyle: true } : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }));
    },
    get redshiftData() {
      return (redshiftData ??= new RedshiftDataClient(common));
    },
    get glue() {
      return (glue ??= new GlueClient(common));
    },
  };
}
