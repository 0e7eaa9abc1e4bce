/**
 * Progress on a terminal: `runway s3 sync` and `runway deploy` run under a real pseudo-terminal
 * (util-linux `script`) count their transfers on one line; piped into a file, they print only the
 * summary.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
let s3: LocalS3;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('progress');
});
afterAll(async () => s3?.close());

/**
 * Runs the CLI with a terminal as its output, as a person at a shell does. Asynchronously: the
 * local S3 it talks to runs in this process.
 */
function onTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, 'bin/runway.js', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('progress on a terminal', () => {
  it('counts the transfers of runway s3 sync on one line, and not when piped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runway-progress-'));
    for (const name of ['a.csv', 'b.csv', 'c.csv']) await writeFile(join(dir, name), name);
    const tty = await onTerminal(['s3', 'sync', dir, 's3://progress/tty/', '--endpoint', s3.endpoint]);
    expect(tty.code).toBe(0);
    expect(tty.output).toContain('\r1/3 transfers');
    expect(tty.output).toContain('\r3/3 transfers');
    expect(tty.output).toMatch(/uploaded 3 \(15 B\), deleted 0, unchanged 0/);

    const piped = await runCli(['s3', 'sync', dir, 's3://progress/piped/', '--endpoint', s3.endpoint], { env });
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain('transfers');
    expect(piped.stdout).toMatch(/uploaded 3 \(15 B\)/);
  }, 180_000);

  it('counts the bundles runway deploy uploads', async () => {
    const tty = await onTerminal([
      'deploy',
      '--dags',
      'test/fixtures/deploy-dags/v1',
      '--to',
      's3://progress/deploy',
      '--endpoint',
      s3.endpoint,
    ]);
    expect(tty.code).toBe(0);
    expect(tty.output).toContain('\r2/2 bundles');
    expect(tty.output).toMatch(/deployed 2 DAG\(s\) to s3:\/\/progress\/deploy/);
  }, 180_000);
});
