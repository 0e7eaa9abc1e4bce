/**
 * bench/s3-sync: `runway s3 sync` and `aws s3 sync` (Debian's awscli, /usr/bin/aws) side by side,
 * each as a process, against one local s3rver: 2,000 files, first sync, no-op re-sync, and a
 * re-sync after touching every file's mtime (a fresh git checkout). Targets: first sync no slower
 * than aws; no-op re-sync >= 3x faster; 0 uploads after the touch.
 * Run: `npm run bench:s3-sync` (s3rver needs --openssl-legacy-provider for listings past 1,000 keys).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILES = 2_000;
const AWS = '/usr/bin/aws';

const data = await mkdtemp(join(tmpdir(), 'runway-bench-s3rver-'));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: data });
const { port } = (await server.run()) as { port: number };
const endpoint = `http://127.0.0.1:${port}`;
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
await client.send(new CreateBucketCommand({ Bucket: 'bench' }));

const folder = await mkdtemp(join(tmpdir(), 'runway-bench-files-'));
const paths: string[] = [];
for (let i = 0; i < FILES; i++) {
  const path = join(
    folder,
    `dt=2026-03-${String((i % 28) + 1).padStart(2, '0')}`,
    `part-${String(i).padStart(5, '0')}.json`,
  );
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, randomBytes(2_048).toString('base64'));
  paths.push(path);
}

const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
};

/** Runs a tool to completion without blocking this process, which serves s3rver. */
function time(command: string, args: string[]): Promise<{ seconds: number; output: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${errors}`));
      else resolve({ seconds: (performance.now() - started) / 1000, output });
    });
  });
}

const runway = async (label: string) => {
  const { seconds, output } = await time(process.execPath, [
    'bin/runway.js',
    's3',
    'sync',
    folder,
    's3://bench/runway/',
    '--endpoint',
    endpoint,
  ]);
  const uploaded = Number(/uploaded (\d+)/.exec(output)?.[1] ?? NaN);
  return { label, seconds, uploaded };
};
const aws = async (label: string) => {
  const { seconds, output } = await time(AWS, [
    's3',
    'sync',
    folder,
    's3://bench/aws/',
    '--endpoint-url',
    endpoint,
    '--no-progress',
  ]);
  const uploaded = output.split('\n').filter((l) => l.startsWith('upload:')).length;
  return { label, seconds, uploaded };
};

const haveAws = existsSync(AWS);
const rows: {
  step: string;
  runway: { seconds: number; uploaded: number };
  aws?: { seconds: number; uploaded: number };
}[] = [];
const step = async (name: string) => {
  const r = await runway(name);
  const a = haveAws ? await aws(name) : undefined;
  rows.push({ step: name, runway: r, ...(a ? { aws: a } : {}) });
};
await step('first sync');
await step('no-op re-sync');
const later = new Date(Date.now() + 3_600_000);
for (const path of paths) await utimes(path, later, later);
await step('after touching every mtime');

const version = haveAws
  ? spawnSync(AWS, ['--version'], { encoding: 'utf8' }).stdout.trim()
  : 'not installed (apt-get install awscli)';
console.log(`bench/s3-sync: ${FILES} files of 2.7 KB, one local s3rver, each tool as a process`);
console.log(`peer: ${version}\n`);
console.log('| step | runway s3 sync | uploads | aws s3 sync | uploads | runway vs aws |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  const ratio = row.aws ? `${(row.aws.seconds / row.runway.seconds).toFixed(2)}x faster` : '-';
  console.log(
    `| ${row.step} | ${row.runway.seconds.toFixed(2)} s | ${row.runway.uploaded} | ${row.aws ? `${row.aws.seconds.toFixed(2)} s` : '-'} | ${row.aws?.uploaded ?? '-'} | ${ratio} |`,
  );
}
console.log('\nTargets: first sync no slower than aws; no-op re-sync >= 3x faster; 0 uploads after the touch.');

client.destroy();
await server.close();
await rm(folder, { recursive: true, force: true });
await rm(data, { recursive: true, force: true });
