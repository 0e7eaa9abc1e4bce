/** The s3Sync operator under a real worker, and `runway s3 sync` as a user runs it, both on s3rver. */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { s3Sync } from '../operators/index.ts';
import { runCli } from './helpers/run-cli.ts';
import { testAwsClients } from './helpers/aws-clients.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

let s3: LocalS3;
let runway: TestRunway;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('lake-curated');
});
afterAll(async () => s3?.close());
afterEach(async () => runway?.close());

describe('s3Sync operator', () => {
  it('publishes a folder to a prefix of the run, and hands the counts downstream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runway-publish-'));
    await mkdir(join(dir, 'by_region'));
    await writeFile(join(dir, 'by_region', 'eu.csv'), 'eu,1');
    await writeFile(join(dir, 'summary.json'), '{}');
    let seen: unknown;
    const d = dag({ ...manualDag, id: 'data_lake__publish' })
      .task('publish', {}, s3Sync({ from: dir, to: (run) => `s3://lake-curated/reports/ds=${run.ds}/` }))
      .task('announce', { upstream: ['publish'] }, async (ctx) => {
        seen = { count: ctx.upstream.publish.copied.count, keys: ctx.upstream.publish.copied.keys };
      });
    runway = testRunway([d]);
    runway.worker({ aws: testAwsClients({ s3: s3.client }) });
    const run = await runway.trigger('data_lake__publish', {}, new Date('2026-03-01T00:00:00Z'));
    expect((await runway.waitForRun('data_lake__publish', run.runId)).state).toBe('success');
    expect(seen).toEqual({
      count: 2,
      keys: ['reports/ds=2026-03-01/by_region/eu.csv', 'reports/ds=2026-03-01/summary.json'],
    });
  });
});

describe('runway s3 sync', () => {
  const env = () => ({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });

  it('prints the plan in a dry run, then syncs and summarizes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runway-cli-sync-'));
    await writeFile(join(dir, 'a.txt'), 'a');
    const args = ['s3', 'sync', dir, 's3://lake-curated/cli/', '--endpoint', s3.endpoint];
    const dry = await runCli([...args, '--dry-run'], { env: env() });
    expect(dry).toMatchObject({
      code: 0,
      stdout: '(dry run) upload cli/a.txt\nwould have uploaded 1 (1 B), deleted 0, unchanged 0\n',
    });
    const real = await runCli(args, { env: env() });
    expect(real).toMatchObject({ code: 0, stdout: 'uploaded 1 (1 B), deleted 0, unchanged 0\n' });
    const again = await runCli(args, { env: env() });
    expect(again.stdout).toBe('uploaded 0 (0 B), deleted 0, unchanged 1\n');
  });

  it('exits 1 when a safety rule refuses, and 2 on usage errors', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'runway-cli-empty-'));
    const refused = await runCli(
      ['s3', 'sync', empty, 's3://lake-curated/cli/', '--delete', '--endpoint', s3.endpoint],
      { env: env() },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('runway: refusing to delete 1 destination entries because the source is empty');
    const both = await runCli(['s3', 'sync', 's3://a-bucket/x/', 's3://b-bucket/y/']);
    expect(both).toMatchObject({
      code: 2,
      stderr: 'runway: one side must be a local folder and the other an s3://bucket/prefix\n',
    });
    const share = await runCli(['s3', 'sync', empty, 's3://lake-curated/cli/', '--max-delete-share', '2']);
    expect(share.code).toBe(2);
    expect(share.stderr).toContain('--max-delete-share must be a number from 0 to 1');
  });

  it('prints what a failed download changed (nothing) and why, and exits 1', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake-curated', Key: 'down/a.txt', Body: 'a' }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake-curated', Key: 'down/b.txt', Body: 'b' }));
    // s3rver behind a proxy that denies one GET, as S3 does for an object the role may not read.
    const proxy = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/lake-curated/down/b.txt') {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
        return;
      }
      const upstream = request(new URL(req.url!, s3.endpoint), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const dir = await mkdtemp(join(tmpdir(), 'runway-cli-down-'));
      const run = await runCli(['s3', 'sync', 's3://lake-curated/down/', dir, '--endpoint', endpoint], { env: env() });
      expect(run).toMatchObject({ code: 1, stdout: 'downloaded 0 (0 B), deleted 0, unchanged 0\n' });
      // One line, no stack (the AWS SDK's Node version warning may come before it).
      expect(run.stderr).not.toContain('    at ');
      expect(run.stderr.split('\n').filter((line) => line.startsWith('runway:'))).toEqual([
        `runway: download of s3://lake-curated/down/ into ${dir} failed, nothing in ${dir} was changed: Access Denied`,
      ]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
