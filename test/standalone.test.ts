import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.ts';

/** Starts `runway standalone`, waits until `until` shows in its output, then presses Ctrl-C. */
async function standalone(args: string[], until: RegExp, env: NodeJS.ProcessEnv = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'runway-standalone-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', 'bin/runway.js', 'standalone', '--data-dir', dataDir, ...args],
    // Its own process group, so that Ctrl-C can be sent as a terminal sends it: to the whole group.
    {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 40_000;
  while (!until.test(out)) {
    if (child.exitCode !== null) {
      const code = await exited;
      return { out, code };
    }
    if (Date.now() > deadline) throw new Error(`standalone never printed ${until}:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(-child.pid!, 'SIGINT');
  const code = await exited;
  return { out, code };
}

describe('runway standalone', () => {
  it('starts redis-server and a local S3, runs a DAG, and leaves no process behind on Ctrl-C', async () => {
    const { out, code } = await standalone(
      ['--dags', 'test/fixtures/standalone-dags', '--log-format', 'pretty'],
      /slow task started/,
    );
    expect(code).toBe(0);
    // Each task line says which DAG, run, task and try it is about.
    expect(out).toMatch(/^\S+Z INFO \[demo__slow_minute scheduled__\S+ slow try 1\] slow task started$/m);
    expect(out).toMatch(/redis-server on redis:\/\/127\.0\.0\.1:(\d+) \(data in .*redis, hz 100\)/);
    expect(out).toMatch(/local S3 on http:\/\/127\.0\.0\.1:\d+ \(data in .*s3, bucket runway-demo\)/);
    expect(out).toMatch(/demo__every_minute\s+\* \* \* \* \*\s+active/);
    expect(out).toMatch(/web UI on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('stopping: scheduler, worker, local S3, then redis-server');
    // Ctrl-C reaches the whole process group: Redis must still be there while the worker stops.
    expect(out).not.toContain('ECONNREFUSED');
    // The task running at Ctrl-C finished within the grace period, and its end was recorded.
    expect(out).toMatch(/DAG run demo__slow_minute scheduled__\S+ ended: success/);
    const port = /redis-server on redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
    expect(spawnSync('pgrep', ['-f', `redis-server 127.0.0.1:${port}`], { encoding: 'utf8' }).stdout.trim()).toBe('');
  }, 180_000);

  it('runs the local Firehose demo: deliveries in bursts, quiet, aggregated, published', async () => {
    const { out, code } = await standalone(
      ['--dags', 'dags'],
      /DAG run demo__firehose_local scheduled__\S+ ended: success/,
      {
        AWS_PROFILE: '',
        AWS_ACCESS_KEY_ID: '',
        HOME: await mkdtemp(join(tmpdir(), 'runway-home-')),
      },
    );
    expect(code).toBe(0);
    expect(out).toMatch(/data_lake__events_nightly\s+0 2 \* \* \*\s+paused: needs AWS credentials/);
    expect(out).toContain('delivered burst 3 of 3');
    // Not a terminal: one JSON object a line, with the DAG, run, task and try of each task line.
    const lines = out
      .split('\n')
      .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []));
    const quiet = lines.find((line) => /^quiet: 30 objects, unchanged for \d+ ms$/.test(String(line.msg)));
    expect(quiet).toMatchObject({
      level: 'info',
      dag: 'demo__firehose_local',
      run: expect.stringMatching(/^scheduled__/),
      task: 'wait_for_events',
      try: expect.any(Number),
    });
    expect(out).toMatch(/synced \.runway\/demo-output\/\S+ -> s3:\/\/runway-demo\/aggregates\/\S+: 1 uploaded/);
    // The aggregate ran only once the deliveries had stopped.
    expect(out.indexOf('delivered burst 3 of 3')).toBeLessThan(out.indexOf('"msg":"quiet: 30 objects'));
  }, 180_000);

  it('says how to install redis-server when it is missing and cannot be installed', async () => {
    // A PATH with node and nothing else: no redis-server, no sh, no apt-get.
    const bin = await mkdtemp(join(tmpdir(), 'runway-path-'));
    await symlink(process.execPath, join(bin, 'node'));
    const { out, code } = await standalone(['--dags', 'test/fixtures/standalone-dags'], /never/, { PATH: bin });
    expect(code).toBe(1);
    expect(out).toContain(
      'runway: redis-server is not installed. On Debian or Ubuntu: sudo apt-get install -y redis-server (or set REDIS_URL to a Redis you run)',
    );
  }, 180_000);

  it('says the Redis port is in use', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const { out, code } = await standalone(
        ['--dags', 'test/fixtures/standalone-dags', '--redis-port', String(port)],
        /never/,
      );
      expect(code).toBe(1);
      expect(out).toContain(`runway: port ${port} is already in use: pick another with --redis-port, or set REDIS_URL`);
    } finally {
      busy.close();
    }
  }, 180_000);
});
