/**
 * The AWS clients tasks get by default: built on first use from the standard credential chain and
 * region, so a worker that runs no AWS task never needs credentials. Throttling is retried by the
 * SDK's adaptive retry strategy.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeS3Client } from './s3-client.ts';
import type { AwsClients } from '../core/operator.ts';

export interface AwsClientOptions {
  region?: string;
  /** An S3-compatible endpoint (standalone's local S3). */
  s3Endpoint?: string;
  /** Credentials for that endpoint; AWS's default chain otherwise. */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  /** @defaultValue $AWS_MAX_ATTEMPTS, else 5 */
  maxAttempts?: number;
  /** @defaultValue $AWS_RETRY_MODE, else 'adaptive' */
  retryMode?: 'standard' | 'adaptive' | 'legacy';
}

export function lazyAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: options.maxAttempts ?? (Number(process.env.AWS_MAX_ATTEMPTS) || 5),
    retryMode: options.retryMode ?? ((process.env.AWS_RETRY_MODE as AwsClientOptions['retryMode']) || 'adaptive'),
  };
  let s3: S3Client | undefined;
  let redshiftData: RedshiftDataClient | undefined;
  let glue: GlueClient | undefined;
  return {
    get s3() {
      return (s3 ??= makeS3Client({
        ...common,
        ...(options.s3Endpoint ? { endpoint: options.s3Endpoint } : {}),
        ...(options.s3Credentials ? { credentials: options.s3Credentials } : {}),
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
