/**
 * An S3 client, in a module of its own: `runway s3 sync` and `runway deploy` load the S3 SDK alone,
 * not the Redshift and Glue clients beside it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from './clients.ts';

/** An S3 client; with an endpoint (a local S3), path-style, as S3-compatible servers expect. */
export function makeS3Client(
  options: {
    endpoint?: string;
    region?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  } & Pick<AwsClientOptions, 'maxAttempts' | 'retryMode'> = {},
): S3Client {
  return new S3Client({
    ...(options.region ? { region: options.region } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryMode ? { retryMode: options.retryMode } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(options.credentials ? { credentials: options.credentials, region: options.region ?? 'us-east-1' } : {}),
    // Without these, streamed uploads reach S3-compatible servers with aws-chunked framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
