/**
 * The local S3 of `runway standalone`: s3rver on a free loopback port, its data in a folder, so the
 * demo pipeline runs with no AWS account. Not for production: it is a test server.
 */
import { mkdir } from 'node:fs/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { makeS3Client } from '../aws/s3-client.ts';

export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3Server {
  endpoint: string;
  close(): Promise<void>;
}

export async function startLocalS3Server(directory: string, buckets: readonly string[]): Promise<LocalS3Server> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = makeS3Client({ endpoint, credentials: LOCAL_S3_CREDENTIALS });
  for (const Bucket of buckets) {
    try {
      await client.send(new CreateBucketCommand({ Bucket }));
    } catch (error) {
      if (!/BucketAlready/.test((error as Error).name)) throw error;
    }
  }
  client.destroy();
  return { endpoint, close: () => server.close() };
}
