import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.ts';

it('standalone starts redis-server, runs a DAG, and leaves no process behind on Ctrl-C', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runway-standalone-'));
  const child = spawn(
    process.execPath,
    ['bin/runway.js', 'standalone', '--dags', 'test/fixtures/standalone-dags', '--data-dir', dataDir],
    { cwd: REPO_ROOT, env: { ...process.env, REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 20_000;
  while (!/DAG run demo__every_minute scheduled__\S+ ended: success/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`standalone did not run the DAG:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(out).toMatch(/redis-server on redis:\/\/127\.0\.0\.1:(\d+) \(data in .*redis, hz 100\)/);
  const port = /redis-server on redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
  expect(out).toMatch(/demo__every_minute\s+\* \* \* \* \*\s+active/);
  expect(out).toMatch(/INFO hello from scheduled__/);

  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toContain('stopping: scheduler, worker, then redis-server');
  const left = spawnSync('pgrep', ['-f', `redis-server 127.0.0.1:${port}`], { encoding: 'utf8' });
  expect(left.stdout.trim()).toBe('');
}, 40_000);
