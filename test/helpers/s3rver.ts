/** A real S3-protocol server (s3rver) on a free loopback port, and an SDK client set up for it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOCAL_S3_CREDENTIALS, startLocalS3Server } from '../../runner/cli/local-s3.ts';
import { makeS3Client } from '../../runner/aws/s3-client.ts';

export interface LocalS3 {
  endpoint: string;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/** The same server and client set-up as standalone's local S3, in a temporary folder. */
export async function startLocalS3(): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'runway-s3rver-'));
  const server = await startLocalS3Server(directory, []);
  const client = makeS3Client({ endpoint: server.endpoint, credentials: LOCAL_S3_CREDENTIALS });
  return {
    endpoint: server.endpoint,
    client,
    createBucket: async (name) => void (await client.send(new CreateBucketCommand({ Bucket: name }))),
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
