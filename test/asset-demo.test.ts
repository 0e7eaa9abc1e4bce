/** `npm start` on dags/: the asset demo pair runs, the consumer on the producer's event. */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { until } from './helpers/services.ts';

describe('the asset demo in runway standalone', () => {
  it('runs demo__events_report on the event the quiescence sensor of demo__events_landing records', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runway-standalone-'));
    const child = spawn(
      process.execPath,
      ['--openssl-legacy-provider', 'bin/runway.js', 'standalone', '--data-dir', dataDir, '--dags', 'dags'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, REDIS_URL: '', AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '', HOME: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until(
        'the asset-triggered report run to end',
        async () => (/DAG run demo__events_report asset_triggered__\S+ ended: \w+/.test(out) ? true : undefined),
        80_000,
      );
    } finally {
      process.kill(-child.pid!, 'SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toMatch(/DAG run demo__events_report asset_triggered__\S+ ended: success/);
    const lines = out.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : []));
    const report = lines.find((l) => l.dag === 'demo__events_report' && /by_type|objects, from/.test(String(l.msg)));
    expect(String(report?.msg)).toMatch(
      /^landed-events\/dt=\d{4}-\d\d-\d\d\/slot=\d{4}\/ \(10 objects, from demo__events_landing\): \{"page_view":10,"add_to_cart":10,"purchase":10\}$/,
    );
    expect(out).toMatch(/demo__events_report\s+assets\s+active/);
  }, 120_000);
});
